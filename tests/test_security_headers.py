"""Every response carries the security headers; the policy follows the settings."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from jinja2 import TemplateSyntaxError

from app.main import create_app
from app.settings import Settings
from app.web.security import content_security_policy
from tests.conftest import GOOD

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/compare/vim-vs-emacs",
        "/compare/emacs-vs-vim",  # redirect
        "/category/dev-tools",
        "/tag/editors",
        "/compare/no-such-thing",  # styled 404
        "/static/site.css",
        "/static/%2e%2e%2fpyproject.toml",
        "/healthz",
    ],
)
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["content-security-policy"] == STRICT_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in response.headers["permissions-policy"]
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    # The conftest site is https, so browsers must keep to https for two years.
    assert response.headers["strict-transport-security"].startswith("max-age=63072000")


def test_each_header_appears_once(client: TestClient) -> None:
    response = client.get("/")
    names = [name.lower() for name, _ in response.headers.multi_items()]
    for name in ("content-security-policy", "x-content-type-options", "referrer-policy"):
        assert names.count(name) == 1


def test_policy_allows_no_inline_script_or_style(client: TestClient) -> None:
    policy = directives(client.get("/").headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert all("unsafe" not in value for values in policy.values() for value in values)


def test_plain_http_site_sends_no_hsts(
    settings: Settings, write_content: Callable[[str, str], Path]
) -> None:
    write_content("vim-vs-emacs.md", GOOD)
    local = settings.model_copy(update={"site_url": "http://127.0.0.1:8000"})
    with TestClient(create_app(local)) as client:
        response = client.get("/")
    assert response.status_code == 200
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_feedback_endpoint_origin_is_a_form_target(settings: Settings) -> None:
    exported = settings.model_copy(
        update={"feedback_endpoint": "https://notes.example.org/feedback/submit?x=1"}
    )
    policy = directives(content_security_policy(exported))
    assert policy["form-action"] == ["'self'", "https://notes.example.org"]
    assert policy["default-src"] == ["'self'"]


def test_pages_load_no_inline_scripts_or_styles(client: TestClient) -> None:
    """The CSP forbids inline code, so the markup must not depend on any."""
    from bs4 import BeautifulSoup

    for path in ("/", "/compare/vim-vs-emacs", "/category/dev-tools", "/compare/nope"):
        page = BeautifulSoup(client.get(path).text, "html.parser")
        # JSON-LD is data, not code: CSP does not apply to it.
        inline = [s for s in page.find_all("script") if not s.get("src")]
        assert [s for s in inline if s.get("type") != "application/ld+json"] == []
        assert page.find_all("style") == []
        assert page.select("[style]") == []
        assert [t for t in page.find_all(True) if any(a.startswith("on") for a in t.attrs)] == []


def test_oversized_request_headers_get_431_with_the_security_headers(client: TestClient) -> None:
    response = client.get("/", headers={"X-Big": "a" * 20_000})
    assert response.status_code == 431
    assert response.headers["content-security-policy"] == STRICT_CSP
    assert client.get("/", headers={"X-Ok": "a" * 8_000}).status_code == 200


def test_api_docs_load_only_our_own_files_and_the_schema_stays(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-security-policy"] == STRICT_CSP
    page = BeautifulSoup(docs.text, "html.parser")
    sources = [str(s.get("src")) for s in page.select("script")]
    sources += [str(link.get("href")) for link in page.select("link[href]")]
    assert all(src.startswith("/") for src in sources), sources
    assert all(not s.string for s in page.select("script"))  # no inline code
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/assets/LICENSE").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").json()["info"]["title"] == "Nice Pick"


# --- errors, wherever they are raised ------------------------------------------------------


@pytest.fixture
def broken_listing(settings: Settings, write_content: Callable[[str, str], Path]) -> Settings:
    """Settings whose listing template no longer compiles: listings raise, other pages work."""
    templates = settings.data_dir.parent / "templates"
    shutil.copytree(settings.templates_dir, templates)
    (templates / "listing.html").write_text("{% if %}", encoding="utf-8")
    write_content("vim-vs-emacs.md", GOOD)
    return settings.model_copy(update={"templates_dir": templates})


# (method, path, Host header or None, status): answers made outside the routes' own pages.
ERRORS = [
    pytest.param("GET", "/tag/editors", None, 500, id="unhandled-exception"),
    pytest.param("POST", "/", None, 405, id="method-not-allowed"),
    pytest.param("GET", "/no/such/route", None, 404, id="router-404"),
    pytest.param("GET", "/api/comparisons?page=0", None, 422, id="api-validation"),
    pytest.param("GET", "/api/comparisons/nope", None, 404, id="api-404"),
    pytest.param("GET", "/compare/vim-vs-emacs/", None, 301, id="trailing-slash"),
    pytest.param("GET", "/compare/vim-vs-emacs", "www.nicepick.test", 301, id="host-redirect"),
    pytest.param("GET", "/", "big", 431, id="oversized-head"),
]


@pytest.mark.parametrize(("method", "path", "host", "status"), ERRORS)
def test_errors_raised_outside_the_routes_carry_the_security_headers(
    broken_listing: Settings, method: str, path: str, host: str | None, status: int
) -> None:
    settings = broken_listing.model_copy(update={"redirect_host": True})
    headers = {"host": "nicepick.test" if host in (None, "big") else host}
    if host == "big":
        headers["x-big"] = "a" * 20_000
    with TestClient(
        create_app(settings), raise_server_exceptions=False, follow_redirects=False
    ) as client:
        response = client.request(method, path, headers=headers)
    assert response.status_code == status
    assert response.headers["content-security-policy"] == STRICT_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["strict-transport-security"].startswith("max-age=63072000")
    names = [name.lower() for name, _ in response.headers.multi_items()]
    assert names.count("content-security-policy") == 1


def test_an_unhandled_exception_is_still_raised_to_the_server_log(broken_listing: Settings) -> None:
    with TestClient(create_app(broken_listing)) as client, pytest.raises(TemplateSyntaxError):
        client.get("/tag/editors")
