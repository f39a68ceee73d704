"""Readers ask for a comparison we have not written: stored, mailed once, never lost.

The same path as a disagreement note (token, honeypot, rate limit, cross-site rule, one
transaction with its outbox row), against a real SQLite file and a real SMTP server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.cli import main
from app.feedback.service import Feedback
from app.feedback.store import REQUEST
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD
from tests.smtp import SmtpServer

REASON = "We run both in production and the trade-offs are not obvious."


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


@pytest.fixture
def make_client(
    mail_settings: Settings, write_content: Callable[[str, str], Path]
) -> Iterator[Callable[..., TestClient]]:
    write_content("vim-vs-emacs.md", GOOD)
    base = mail_settings
    clients: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        client = TestClient(create_app(base.model_copy(update=overrides)))
        client.follow_redirects = False
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def web(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def feedback_of(client: TestClient) -> Feedback:
    feedback: Feedback = client.app.state.feedback  # type: ignore[attr-defined]
    return feedback


def token_of(client: TestClient) -> str:
    field = soup(client.get("/request").text).select_one('#request-form input[name="token"]')
    assert field is not None
    return str(field["value"])


def ask(client: TestClient, **fields: str) -> httpx2.Response:
    data = {
        "first": "Redis",
        "second": "Valkey",
        "reason": REASON,
        "token": token_of(client),
        "website": "",
    }
    data.update(fields)
    return client.post("/request", data=data)


def test_category_pages_and_empty_searches_offer_the_small_form(web: TestClient) -> None:
    for path in ("/category/dev-tools", "/search?q=zzzznothing"):
        form = soup(web.get(path).text).select_one("form.ask-form")
        assert form is not None, path
        assert (form["action"], form["method"]) == ("/request", "get")
        assert [i["name"] for i in form.select("input")] == ["first", "second"]
    # A search that finds something does not ask.
    assert soup(web.get("/search?q=vim").text).select_one("form.ask-form") is None


def test_request_page_fills_in_the_names_and_carries_a_token(web: TestClient) -> None:
    response = web.get("/request", params={"first": "Redis", "second": "Valkey"})
    assert response.status_code == 200
    page = soup(response.text)
    form = page.select_one("#request-form form")
    assert form is not None and form["method"] == "post"
    values = {str(i["name"]): i.get("value") for i in form.select("input")}
    assert values["first"] == "Redis" and values["second"] == "Valkey" and values["token"]
    for field in form.select("input:not([type=hidden]), textarea"):
        assert page.select_one(f'label[for="{field["id"]}"]') is not None, field
    honeypot = form.select_one('input[name="website"]')
    assert honeypot is not None and honeypot.find_parent(attrs={"hidden": True}) is not None
    robots = page.select_one('meta[name="robots"]')
    assert robots is not None and robots["content"] == "noindex"


def test_request_is_stored_then_mailed_and_kept_apart_from_notes(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    response = ask(web, name="Ada", email="ada@example.org")
    assert response.status_code == 303
    assert response.headers["location"] == "https://nicepick.test/request?thanks=1#request-form"
    store = feedback_of(web).store
    (request,) = store.notes(kind=REQUEST)
    assert (request.title, request.message, request.email) == (
        "Redis vs Valkey",
        REASON,
        "ada@example.org",
    )
    assert store.notes() == []  # not a disagreement with any page
    assert store.meter_counts() == {}

    (mail,) = smtp_server.wait_for(1)
    # The names are the reader's text: in the body, never in a header.
    assert mail["Subject"] == f"Request {request.id}: a reader asks for a comparison"
    assert mail["Reply-To"] == "ada@example.org"
    body = mail.get_content()
    assert "asks for a comparison" in body and REASON in body and f"{request.id}" in body

    thanks = soup(web.get("/request?thanks=1").text).select_one("#request-thanks")
    assert thanks is not None and "Thank you" in thanks.get_text()


def test_names_a_reader_typed_never_reach_the_mails_headers(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    # A Subject is what the editors' mail reader shows and trusts: a stranger's names there
    # could read as anything ("Your account is locked: sign in at …").
    first = "URGENT: your account is locked, sign in at https://evil.example"
    second = "=?utf-8?q?Bcc:_victim@evil.example?="
    smtp_server.reset()
    assert ask(web, first=first, second=second).status_code == 303
    (mail,) = smtp_server.wait_for(1)
    head = mail.as_string().split("\n\n", 1)[0]
    assert "evil.example" not in head and "URGENT" not in head
    assert mail["Bcc"] is None
    body = mail.get_content()
    assert first in body and second in body


def test_invalid_request_is_rerendered_with_errors_in_the_forms_order(web: TestClient) -> None:
    response = ask(web, first="", second="Valkey", email="not an address", reason="keep me")
    assert response.status_code == 422
    page = soup(response.text)
    summary = page.select_one("#request-errors[role=alert]")
    assert summary is not None
    assert [a["href"] for a in summary.select("li a")] == ["#rq-first", "#rq-email"]
    reason = page.select_one("#rq-reason")
    assert reason is not None and reason.get_text() == "keep me"
    second = page.select_one("#rq-second")
    assert second is not None and second["value"] == "Valkey"
    first = page.select_one("#rq-first")
    assert first is not None and first["aria-invalid"] == "true"

    same = soup(ask(web, first="Redis", second=" redis ").text).select_one("#rq-second-error")
    assert same is not None and "two different" in same.get_text()
    assert feedback_of(web).store.notes(kind=REQUEST) == []


def test_a_comparison_pages_token_does_not_pass_for_a_request(web: TestClient) -> None:
    page_token = soup(web.get("/compare/vim-vs-emacs").text).select_one(
        '#feedback input[name="token"]'
    )
    assert page_token is not None
    response = ask(web, token=str(page_token["value"]))
    assert response.status_code == 422
    assert "another page" in soup(response.text).get_text()
    assert feedback_of(web).store.notes(kind=REQUEST) == []


def test_honeypot_and_other_origins_store_nothing(web: TestClient) -> None:
    assert ask(web, website="https://spam.example").status_code == 303
    data = {"first": "Redis", "second": "Valkey", "token": token_of(web)}
    refused = web.post("/request", data=data, headers={"origin": "https://evil.example"})
    assert refused.status_code == 403
    kept = soup(refused.text).select_one("#rq-first")
    assert kept is not None and kept["value"] == "Redis"
    assert feedback_of(web).store.notes(kind=REQUEST) == []


def test_over_the_rate_limit_the_text_is_kept_with_when_to_try_again(
    make_client: Callable[..., TestClient],
) -> None:
    web = make_client(feedback_rate="1/10minutes")
    assert ask(web).status_code == 303
    response = ask(web, first="Kafka", second="NATS")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "600"
    page = soup(response.text)
    first = page.select_one("#rq-first")
    reason = page.select_one("#rq-reason")
    assert first is not None and first["value"] == "Kafka"
    assert reason is not None and reason.get_text() == REASON
    errors = page.select_one("#request-errors")
    assert errors is not None and "10 minutes" in errors.get_text()
    assert len(feedback_of(web).store.notes(kind=REQUEST)) == 1


def test_editors_list_requests_apart_from_notes(
    web: TestClient,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ask(web, name="Ada")
    smtp_server.wait_for(1)
    settings: Settings = web.app.state.site.settings  # type: ignore[attr-defined]
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(settings.data_dir))
    capsys.readouterr()
    assert main(["feedback", "list", "--requests"]) == 0
    assert "asks for: Redis vs Valkey" in capsys.readouterr().out
    assert main(["feedback", "list", "--requests", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["kind"], listed["title"], listed["name"]) == (
        "request",
        "Redis vs Valkey",
        "Ada",
    )
    assert main(["feedback", "list"]) == 0
    assert "Redis" not in capsys.readouterr().out
