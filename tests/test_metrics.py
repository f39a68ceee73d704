"""/metrics: who may read it, what it says (read back with prometheus_client's own parser),
and that strangers' URLs cannot grow it; X-Request-ID on every answer."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtplib.errors import (
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPReadTimeoutError,
    SMTPRecipientRefused,
    SMTPResponseException,
)
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from app.db import Database
from app.feedback.mail import SmtpRefused, UnbuildableMessage
from app.feedback.outbox import failure_kind
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ("127.0.0.1", 50000)
STRANGER = ("203.0.113.9", 50000)
PROXY = ("10.0.0.7", 50000)
PAGE = "/compare/vim-vs-emacs"

Series = set[tuple[str, tuple[tuple[str, str], ...]]]


@pytest.fixture
def app_settings(settings: Settings, write_content: Callable[[str, str], Path]) -> Settings:
    write_content("vim-vs-emacs.md", GOOD)
    return settings


def client_for(settings: Settings, address: tuple[str, int] = LOCAL) -> TestClient:
    return TestClient(create_app(settings), follow_redirects=False, client=address)


@pytest.fixture
def local(app_settings: Settings) -> Iterator[TestClient]:
    with client_for(app_settings) as client:
        yield client


def scrape(client: TestClient) -> dict[str, list[Sample]]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        family.name: list(family.samples)
        for family in text_string_to_metric_families(response.text)
    }


def value(families: dict[str, list[Sample]], sample: str, **labels: str) -> float:
    """The value of one sample (0 when it does not exist yet)."""
    family = re.sub(r"_(total|count|sum|bucket)$", "", sample)
    for found in families.get(family, []):
        if found.name == sample and all(found.labels.get(k) == v for k, v in labels.items()):
            return found.value
    return 0.0


def series(families: dict[str, list[Sample]]) -> Series:
    return {
        (sample.name, tuple(sorted(sample.labels.items())))
        for samples in families.values()
        for sample in samples
    }


def test_requests_are_counted_by_route_template_and_status_class(local: TestClient) -> None:
    before = scrape(local)
    assert local.get(PAGE).status_code == 200
    assert local.get(PAGE).status_code == 200  # from the page cache (or the hot path)
    assert local.get("/compare/no-such-page").status_code == 404
    after = scrape(local)

    def delta(sample: str, **labels: str) -> float:
        return value(after, sample, **labels) - value(before, sample, **labels)

    route = "/compare/{slug}"
    assert delta("nicepick_http_requests_total", route=route, status="2xx") == 2
    assert delta("nicepick_http_requests_total", route=route, status="4xx") == 1
    assert delta("nicepick_http_request_duration_seconds_count", route=route) == 3
    # The raw path never becomes a label value.
    assert not any("vim-vs-emacs" in label for name, labels in series(after) for _, label in labels)
    assert delta("nicepick_page_cache_misses_total") >= 1
    assert value(after, "nicepick_page_cache_bytes") > 0
    assert value(after, "nicepick_library_comparisons") == 1
    assert value(after, "nicepick_library_load_seconds") > 0
    # Read from the store at scrape time: nothing waits for mail.
    assert value(after, "nicepick_outbox_pending") == 0
    assert value(after, "nicepick_outbox_oldest_pending_age_seconds") == 0


def test_search_notes_and_outbox_are_measured(local: TestClient) -> None:
    before = scrape(local)
    assert local.get("/search", params={"q": "emacs"}).status_code == 200
    # A note without a form token is refused, counted as "token".
    refused = local.post(f"{PAGE}/feedback", data={"option": "Emacs", "message": "x" * 40})
    assert refused.status_code == 422
    after = scrape(local)
    assert (
        value(after, "nicepick_search_duration_seconds_count")
        - value(before, "nicepick_search_duration_seconds_count")
        == 1
    )
    assert (
        value(after, "nicepick_notes_total", outcome="token")
        - value(before, "nicepick_notes_total", outcome="token")
        == 1
    )


@pytest.mark.slow
def test_ten_thousand_unknown_urls_add_no_series(local: TestClient) -> None:
    for path in ("/x/warm/y", "/compare/nothing-warm", "/tag/warm.json", "/static/warm.css"):
        assert local.get(path).status_code == 404
    scrape(local)  # the scrape's own route has its series from here on
    before = series(scrape(local))
    for i in range(10_000):
        # Unknown paths, and unknown slugs and files under real routes.
        path = (f"/x/{i}/y", f"/compare/nothing-{i}", f"/tag/t{i}.json", f"/static/{i}.css")[i % 4]
        assert local.get(path).status_code == 404
    after = scrape(local)
    assert series(after) == before
    # The made-up paths matched no route; the unknown slugs and names count under theirs.
    assert value(after, "nicepick_http_requests_total", route="unmatched", status="4xx") > 2500


def test_metrics_are_a_404_for_an_address_not_allowed(app_settings: Settings) -> None:
    with client_for(app_settings, STRANGER) as stranger:
        response = stranger.get("/metrics")
        assert response.status_code == 404
        assert "nicepick_" not in response.text
        # A header does not make a stranger local while no proxy is trusted.
        spoofed = stranger.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        assert spoofed.status_code == 404


def test_metrics_allow_names_networks_and_honours_trusted_proxies(
    app_settings: Settings,
) -> None:
    settings = app_settings.model_copy(
        update={"metrics_allow": ["192.0.2.0/24"], "trusted_proxies": ["10.0.0.0/8"]}
    )
    with client_for(settings, LOCAL) as local:
        assert local.get("/metrics").status_code == 404  # loopback is no longer listed
    with client_for(settings, PROXY) as proxy:
        scraper = proxy.get("/metrics", headers={"X-Forwarded-For": "192.0.2.10"})
        assert scraper.status_code == 200
        other = proxy.get("/metrics", headers={"X-Forwarded-For": "198.51.100.4"})
        assert other.status_code == 404


def test_metrics_answer_on_any_host_while_pages_redirect(app_settings: Settings) -> None:
    settings = app_settings.model_copy(update={"redirect_host": True})
    with client_for(settings) as client:
        other_host = {"Host": "10.1.2.3:8000"}
        assert client.get(PAGE, headers=other_host).status_code == 301
        assert client.get("/metrics", headers=other_host).status_code == 200


def test_every_answer_carries_a_new_request_id(local: TestClient) -> None:
    ids = [local.get(path).headers["x-request-id"] for path in (PAGE, PAGE, "/nope", "/metrics")]
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)
    assert len(set(ids)) == 4
    # From a client that is not a trusted proxy, its own id is replaced.
    sent = local.get(PAGE, headers={"X-Request-ID": "abc-123"})
    assert sent.headers["x-request-id"] != "abc-123"


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("req-7f3a:edge.1", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("two words", False),
        ('quote"d', False),
        ("", False),
    ],
)
def test_a_trusted_proxys_request_id_is_kept_when_valid(
    app_settings: Settings, incoming: str, kept: bool
) -> None:
    settings = app_settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]})
    with client_for(settings, PROXY) as proxy:
        answered = proxy.get(PAGE, headers={"X-Request-ID": incoming}).headers["x-request-id"]
    assert (answered == incoming) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", answered)


def test_the_dashboard_queries_only_metrics_that_exist(local: TestClient) -> None:
    local.get(PAGE)
    known = set(scrape(local))
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text("utf-8"))
    exprs = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    assert len(exprs) >= 8
    for expr in exprs:
        names = set(re.findall(r"\bnicepick_[a-z_]+", expr))
        assert names, expr
        for name in names:
            family = re.sub(r"_(total|count|sum|bucket)$", "", name)
            assert family in known, f"{name} in {expr!r} is not exposed"


@pytest.mark.parametrize(
    ("error", "permanent", "kind"),
    [
        (SMTPRecipientRefused(550, "no such user", "x@y"), True, "refused"),
        (SMTPResponseException(451, "try later"), False, "deferred"),
        (SMTPAuthenticationError(535, "bad password"), False, "auth"),
        (SmtpRefused("no STARTTLS offered"), False, "auth"),
        (SMTPConnectError("connection refused"), False, "connection"),
        (ConnectionResetError(), False, "connection"),
        (SMTPReadTimeoutError("timed out"), False, "timeout"),
        (UnbuildableMessage(3, "a header could not be set"), True, "unbuildable"),
        (ValueError("the message names no recipient"), True, "unbuildable"),
        (RuntimeError("something else"), False, "other"),
    ],
)
def test_smtp_failures_are_counted_by_a_fixed_kind(
    error: BaseException, permanent: bool, kind: str
) -> None:
    assert failure_kind(error, permanent=permanent) == kind


def test_database_calls_waiting_for_a_thread_are_counted(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'pool.sqlite3'}", pool_size=1, max_overflow=0)

    def gauges() -> tuple[float, float]:
        waiting = REGISTRY.get_sample_value("nicepick_db_queries_waiting")
        in_use = REGISTRY.get_sample_value("nicepick_db_connections_in_use")
        assert waiting is not None and in_use is not None
        return waiting, in_use

    before_waiting, before_in_use = gauges()
    release = threading.Event()
    holding = threading.Event()

    def hold() -> int:
        with database.engine.connect() as connection:
            holding.set()
            release.wait(10)
            return int(connection.exec_driver_sql("SELECT 1").scalar_one())

    async def scenario() -> tuple[float, float, float, float]:
        first = asyncio.create_task(database.run(hold))
        await asyncio.to_thread(holding.wait, 10)
        second = asyncio.create_task(database.run(lambda: 2))  # the only thread is taken
        await asyncio.sleep(0.2)
        during = (gauges()[0] - before_waiting, gauges()[1] - before_in_use)
        release.set()
        assert await first == 1 and await second == 2
        after = (gauges()[0] - before_waiting, gauges()[1] - before_in_use)
        return (*during, *after)

    try:
        assert asyncio.run(scenario()) == (1, 1, 0, 0)
    finally:
        database.dispose()
