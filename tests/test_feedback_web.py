"""The feedback form end to end through HTTP, with the outbox mailing a real SMTP server."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.cli import main
from app.feedback.service import Feedback
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD
from tests.live import eventually
from tests.smtp import SmtpServer

PAGE = "/compare/vim-vs-emacs"
POST = "/compare/vim-vs-emacs/feedback"
MESSAGE = "Emacs has Org mode, and nothing in Vim comes close."


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


@pytest.fixture
def make_client(
    mail_settings: Settings, write_content: Callable[[str, str], Path]
) -> Iterator[Callable[..., TestClient]]:
    write_content("vim-vs-emacs.md", GOOD)
    clients: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        client = TestClient(create_app(mail_settings.model_copy(update=overrides)))
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
    field = soup(client.get(PAGE).text).select_one('#feedback input[name="token"]')
    assert field is not None
    return str(field["value"])


def send(client: TestClient, **fields: str) -> httpx2.Response:
    data = {"option": "Emacs", "message": MESSAGE, "token": token_of(client), "website": ""}
    data.update(fields)
    return client.post(POST, data=data)


def test_form_is_accessible_and_offers_every_option(web: TestClient) -> None:
    page = soup(web.get(PAGE).text)
    form = page.select_one("#feedback form")
    # "#feedback": a page re-rendered for this post opens at the form and its errors.
    assert form is not None and form["method"] == "post" and form["action"] == f"{POST}#feedback"
    assert form.has_attr("novalidate")
    radios = form.select('input[type="radio"][name="option"]')
    assert [r["value"] for r in radios] == ["Vim", "Emacs"]
    for field in form.select("input:not([type=hidden]), textarea"):
        assert page.select_one(f'label[for="{field["id"]}"]') is not None, field
    honeypot = form.select_one('input[name="website"]')
    assert honeypot is not None and honeypot.find_parent(attrs={"hidden": True}) is not None
    scripts = [str(s["src"]) for s in page.select("script[src]")]
    assert any(src.startswith("/static/feedback.") for src in scripts)
    assert page.select("script:not([src]):not([type='application/ld+json'])") == []


def test_note_is_stored_then_mailed_once_with_headers_and_body(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    response = send(web, name="Ada Lovelace", email="ada@example.org")
    assert response.status_code == 303
    assert response.headers["location"] == f"https://nicepick.test{PAGE}?thanks=1#feedback"
    (note,) = feedback_of(web).store.notes()
    assert (note.reader_pick, note.our_pick, note.message) == ("Emacs", "Vim", MESSAGE)
    assert note.page_updated is not None and len(note.page_hash) >= 12

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "editors@nicepick.dev"
    assert mail["From"] == "Nice Pick <noreply@nicepick.dev>"
    assert mail["Reply-To"] == "ada@example.org"
    assert mail["Subject"] == "Disagreement: Vim vs Emacs"
    assert mail["Message-ID"].startswith(f"<note-{note.id}.")
    assert mail["Message-ID"].endswith("@nicepick.test>")
    body = mail.get_content()
    for expected in (
        "https://nicepick.test/compare/vim-vs-emacs",
        "Our pick:     Vim",
        "Reader picks: Emacs",
        "Ada Lovelace",
        MESSAGE,
        f"Note id:      {note.id}",
        note.page_hash[:12],
        note.created_at.strftime("%Y-%m-%d %H:%M"),
    ):
        assert expected in body
    # Mailed once, as the delivery record says once it is written: sent, after one attempt.
    store = feedback_of(web).store

    def recorded() -> bool:
        return all(e.sent_at is not None for e in store.outbox_entries(include_sent=True))

    assert eventually(recorded)
    (entry,) = store.outbox_entries(include_sent=True)
    assert entry.attempts == 1 and len(smtp_server.messages) == 1


def test_thank_you_notice_and_meter_show_counts_never_words(web: TestClient) -> None:
    send(web, email="ada@example.org", name="Ada")
    send(web, option="Vim")
    page = soup(web.get(f"{PAGE}?thanks=1").text)
    notice = page.select_one("#feedback [role=status]")
    assert notice is not None and "Thank you" in notice.get_text()
    counts = [li.get_text(" ", strip=True) for li in page.select(".disagreement-meter li")]
    assert counts == ["Vim our pick 1 (50%)", "Emacs 1 (50%)"]
    text = page.get_text()
    assert MESSAGE not in text and "ada@example.org" not in text and "Ada" not in text
    # A cookie keeps the hot path (which may hold a page a second) out: the route answers.
    plain = soup(web.get(PAGE, headers={"cookie": "seen=1"}).text)
    assert plain.select_one("#feedback [role=status]") is None
    assert plain.select_one(".disagreement-meter") is not None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Ada\r\nBcc: victim@example.org"),
        ("email", "ada@example.org\r\nBcc: victim@example.org"),
        ("email", "ada@example.org\nSubject: hi"),
    ],
)
def test_header_injection_is_refused_and_nothing_is_stored_or_sent(
    web: TestClient, smtp_server: SmtpServer, field: str, value: str
) -> None:
    response = send(web, **{field: value})
    assert response.status_code == 422
    page = soup(response.text)
    error = page.select_one(f"#fb-{field}-error")
    assert error is not None and "one line" in error.get_text()
    textarea = page.select_one("#fb-message")
    assert textarea is not None and textarea.get_text() == MESSAGE
    # Nothing stored means nothing for the outbox to send, ever: no delivery record exists.
    assert feedback_of(web).store.notes() == []
    assert feedback_of(web).store.outbox_entries(include_sent=True) == []
    assert smtp_server.messages == []


def test_invalid_note_is_rerendered_with_errors_by_each_field(web: TestClient) -> None:
    response = web.post(POST, data={"message": "short", "name": "Al", "token": token_of(web)})
    assert response.status_code == 422
    page = soup(response.text)
    message = page.select_one("#fb-message")
    assert message is not None and message.get_text() == "short"
    assert message["aria-invalid"] == "true"
    assert "fb-message-error" in str(message["aria-describedby"])
    assert page.select_one("#fb-option-error") is not None
    name = page.select_one("#fb-name")
    assert name is not None and name["value"] == "Al"
    summary = page.select_one("#feedback-errors[role=alert]")
    assert summary is not None and len(summary.select("li a")) == 2


def test_a_note_that_would_read_reversed_in_the_editors_mail_is_refused_and_kept(
    web: TestClient,
) -> None:
    # U+202E shows the rest of its line reversed: the editors would read another note.
    message = "Keep Vim, \u202eton si siht dna"
    response = send(web, message=message, name="Ada \u2067Lovelace")
    assert response.status_code == 422
    page = soup(response.text)
    for field in ("message", "name"):
        error = page.select_one(f"#fb-{field}-error")
        assert error is not None and "direction of text" in error.get_text()
    kept = page.select_one("#fb-message")
    assert kept is not None and kept.get_text() == message  # retyped, not lost
    assert feedback_of(web).store.notes() == []


def test_honeypot_note_looks_accepted_but_is_dropped(
    web: TestClient, smtp_server: SmtpServer
) -> None:
    response = send(web, website="http://spam.example")
    assert response.status_code == 303
    # Nothing stored means nothing for the outbox to send, ever: no delivery record exists.
    assert feedback_of(web).store.notes() == []
    assert feedback_of(web).store.outbox_entries(include_sent=True) == []
    assert smtp_server.messages == []


def test_tokens_for_another_page_or_too_old_are_refused_readably(web: TestClient) -> None:
    tokens = feedback_of(web).tokens
    other = tokens.issue("nano-vs-ed", page_hash="x", page_updated=None)
    stale = tokens.issue("vim-vs-emacs", page_hash="x", page_updated=None, now=time.time() - 2e5)
    for token, fragment in ((other, "another page"), (stale, "more than a day"), ("", "verified")):
        response = send(web, token=token)
        assert response.status_code == 422
        box = soup(response.text).select_one("#feedback-errors")
        assert box is not None and fragment in box.get_text()
    assert feedback_of(web).store.notes() == []


def test_note_sent_faster_than_a_person_types_is_refused(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(feedback_min_seconds=30)
    # A token stamped this very moment, as on the first render of a new window.
    fresh = feedback_of(client).tokens.issue("vim-vs-emacs", page_hash="x", page_updated=None)
    response = send(client, token=fresh)
    assert response.status_code == 422
    assert "faster than a person" in response.text
    textarea = soup(response.text).select_one("#fb-message")
    assert textarea is not None and textarea.get_text() == MESSAGE


def test_rate_limit_answers_429_with_a_readable_page(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(feedback_rate="2/minute")
    assert send(client).status_code == 303
    assert send(client).status_code == 303
    response = send(client, message="My third note, kept while I wait.", name="Ada")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "60"
    page = soup(response.text)
    notice = page.select_one("#feedback #feedback-errors")
    assert notice is not None
    assert "please send it again in a minute" in notice.get_text()
    textarea = page.select_one("#fb-message")
    assert textarea is not None and textarea.get_text() == "My third note, kept while I wait."
    name = page.select_one("#fb-name")
    assert name is not None and name["value"] == "Ada"
    assert len(feedback_of(client).store.notes()) == 2


def test_the_forms_address_answers_a_get_with_the_form_on_its_page(web: TestClient) -> None:
    response = web.get(POST)
    assert response.status_code == 303
    assert response.headers["location"] == "https://nicepick.test/compare/vim-vs-emacs#feedback"
    assert web.get("/compare/no-such-page/feedback").status_code == 404


def test_errors_are_summarised_in_the_forms_order(web: TestClient) -> None:
    response = send(web, option="", message="short", name="x" * 101, email="not-an-address")
    assert response.status_code == 422
    page = soup(response.text)
    targets = [a["href"] for a in page.select("#feedback-errors li a")]
    assert targets == ["#fb-option", "#fb-message", "#fb-name", "#fb-email"]
    for field in ("fb-message", "fb-name", "fb-email"):
        element = page.select_one(f"#{field}")
        assert element is not None and element.get("aria-invalid") == "true", field
    # The summary comes right under the section's heading, before the meter and the form.
    section = page.select_one("#feedback")
    assert section is not None
    order = [str(tag.get("id")) for tag in section.select("h2, #feedback-errors, form")]
    assert order == ["feedback-title", "feedback-errors", "None"]


def test_after_thanks_the_form_waits_behind_send_another_note(web: TestClient) -> None:
    assert send(web).status_code == 303
    page = soup(web.get(f"{PAGE}?thanks=1").text)
    details = page.select_one("#feedback details.another-note")
    assert details is not None and not details.has_attr("open")
    summary = details.select_one("summary")
    assert summary is not None and summary.get_text() == "Send another note"
    assert details.select_one("form[data-feedback-form]") is not None
    assert "Only the counts above are public" in page.get_text()


def test_with_no_counts_the_form_does_not_point_at_counts_above(web: TestClient) -> None:
    page = soup(web.get(PAGE).text)
    assert page.select(".disagreement-meter") == []
    assert "counts above" not in page.get_text()
    assert "Your words go to the editors alone." in page.get_text()


def test_oversized_binary_and_misdirected_posts(web: TestClient) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    huge = web.post(POST, content=b"message=" + b"x" * 70_000, headers=form)
    assert huge.status_code == 413
    binary = web.post(POST, content=b"message=%FF%FEabc&option=Vim", headers=form)
    assert binary.status_code == 400
    raw = web.post(POST, content=b"message=\xff\xfe", headers=form)
    assert raw.status_code == 400
    assert web.post("/compare/no-such-page/feedback", data={"message": "x"}).status_code == 404
    assert feedback_of(web).store.notes() == []


def test_editor_commands_list_export_and_outbox(
    web: TestClient,
    mail_settings: Settings,
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    send(web, name="Ada")
    smtp_server.wait_for(1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(mail_settings.data_dir))
    capsys.readouterr()

    assert main(["feedback", "list", "--json", "--slug", "vim-vs-emacs"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["reader_pick"] == "Emacs" and listed["name"] == "Ada"
    assert listed["page_hash"] and listed["page_updated"] == "2026-01-15"

    assert main(["feedback", "list"]) == 0
    text = capsys.readouterr().out
    assert "picks Emacs (ours: Vim)" in text and "updated 2026-01-15" in text

    target = tmp_path / "notes.csv"
    assert main(["feedback", "export", "--csv", str(target)]) == 0
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["message"] for row in rows] == [MESSAGE]

    # The mail reaches the SMTP server a moment before the sender commits "sent": wait for it.
    deadline = time.monotonic() + 10
    while True:
        assert main(["outbox"]) == 0
        if "outbox empty" in capsys.readouterr().out or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert main(["outbox"]) == 0
    assert "outbox empty" in capsys.readouterr().out


def test_two_workers_serve_the_same_bytes_so_the_etag_is_shared(
    make_client: Callable[..., TestClient],
) -> None:
    first, second = make_client(), make_client()
    one, two = first.get("/compare/vim-vs-emacs"), second.get("/compare/vim-vs-emacs")
    assert one.content == two.content
    assert one.headers["etag"] == two.headers["etag"]
    revalidated = second.get(
        "/compare/vim-vs-emacs", headers={"If-None-Match": one.headers["etag"]}
    )
    assert revalidated.status_code == 304
