"""The JSON API: shapes checked against its own response models, filters, pagination, 404s,
and schemathesis generating requests from the OpenAPI document (no 5xx, responses conform)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from app.main import create_app
from app.web.api import ComparisonDetail, ComparisonList
from tests.discovery_content import HIDDEN, PUBLISHED, site_settings, standard_library, write

SITE = "https://nicepick.test"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    content = tmp_path_factory.mktemp("content")
    standard_library(content)
    for n in range(55):
        write(content, [f"Widget{n}", f"Gadget{n}"], category="Gizmos", tags=["widgets"],
              published=f"2024-03-{n % 28 + 1:02d}")  # fmt: skip
    return content


@pytest.fixture(scope="module")
def client(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = site_settings(folder, tmp_path_factory.mktemp("var"))
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


def test_list_is_paginated_with_next_links(client: TestClient) -> None:
    first = ComparisonList.model_validate(client.get("/api/comparisons").json())
    assert len(first.items) == 50
    assert first.next == f"{SITE}/api/comparisons?page=2"
    second = ComparisonList.model_validate(client.get("/api/comparisons?page=2").json())
    assert second.next is None
    slugs = [c.slug for c in first.items + second.items]
    assert len(slugs) == len(set(slugs)) == 55 + len(PUBLISHED)
    assert not HIDDEN & set(slugs)
    assert client.get("/api/comparisons?page=9").json() == {"items": [], "next": None}


def test_list_filters_by_category_and_tag(client: TestClient) -> None:
    body = client.get("/api/comparisons", params={"category": "web-servers"}).json()
    assert {c.slug for c in ComparisonList.model_validate(body).items} == {
        "nginx-vs-caddy",
        "nginx-vs-apache",
        "lighttpd-vs-caddy",
    }
    body = client.get("/api/comparisons", params={"tag": "reverse-proxy"}).json()
    assert {c["slug"] for c in body["items"]} == {
        "nginx-vs-caddy",
        "nginx-vs-apache",
        "traefik-vs-envoy",
    }
    filtered = client.get("/api/comparisons", params={"tag": "widgets", "category": "gizmos"})
    assert filtered.json()["next"] == f"{SITE}/api/comparisons?tag=widgets&category=gizmos&page=2"


def test_detail_has_options_verdict_and_pick(client: TestClient) -> None:
    response = client.get("/api/comparisons/nginx-vs-caddy")
    assert response.status_code == 200
    detail = ComparisonDetail.model_validate(response.json())
    assert detail.pick == "Caddy"
    assert detail.url == f"{SITE}/compare/nginx-vs-caddy"
    assert detail.category == "Web Servers" and detail.tags == ["reverse-proxy", "https"]
    assert str(detail.published) == "2025-01-10" and str(detail.updated) == "2025-06-01"
    assert [(o.name, o.is_pick) for o in detail.options] == [("Nginx", False), ("Caddy", True)]
    caddy = detail.options[1]
    assert caddy.pros[0].text == "Caddy handles large inputs with steady memory use"
    assert caddy.description.html.startswith("<p>")
    assert detail.verdict.text == "Pick by the shape of your workload."
    assert detail.bottom_line.html == "<p>Caddy is the safer default.</p>"
    assert [case.option for case in detail.use_cases] == ["Nginx", "Caddy"]


def test_unknown_and_hidden_slugs_are_json_404s(client: TestClient) -> None:
    for slug in ("nope", *HIDDEN):
        response = client.get(f"/api/comparisons/{slug}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert set(response.json()) == {"detail"}
    assert client.get("/api/nothing-here").json() == {"detail": "Not Found"}


def test_bad_parameters_are_json_422s(client: TestClient) -> None:
    response = client.get("/api/comparisons?page=0")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "page"]


def test_openapi_documents_the_models(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    detail = paths["/api/comparisons/{slug}"]["get"]["responses"]
    assert detail["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ComparisonDetail"
    )
    assert detail["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    listing = paths["/api/comparisons"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"category", "tag", "page"}
    assert "/search" not in paths and "/compare/{slug}" not in paths  # pages stay out


def _fuzz_app() -> FastAPI:
    # Built at import for schemathesis' decorator; content and data live in a fixed tmp folder.
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="nicepick-api-fuzz-"))
    (root / "content").mkdir()
    standard_library(root / "content")
    app = create_app(site_settings(root / "content", root / "var"))
    app.state.site.load()  # no lifespan here: load the library the way startup does
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _fuzz_app())


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_openapi(case: schemathesis.Case[Any]) -> None:
    response = case.call()
    assert response.status_code < 500, response.text
    case.validate_response(response)
