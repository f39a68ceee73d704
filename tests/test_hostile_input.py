"""A hostile client against the feedback form: one table of attacks and odd inputs.

Each case says what the server must answer, and whether a note may be stored (and mailed) or
nothing at all. Stored notes are checked field by field in the database row and in the mail
the real SMTP server received, so legitimate Unicode provably goes through intact.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.feedback.service import Feedback
from app.feedback.tokens import FormTokens
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD, ROOT
from tests.discovery_content import comparison_md
from tests.live import live_server, raw_request, raw_status, server_env
from tests.smtp import SmtpServer

SLUG = "vim-vs-emacs"
OTHER_SLUG = "nano-vs-micro"
SECRET = "hostile-input-secret-0123456789abcdef"
FORM = "application/x-www-form-urlencoded"
BCC = "Bcc: victim@example.org"
SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
# Legitimate text from many scripts: Hebrew and Arabic (right to left), a right-to-left mark,
# emoji with a skin tone and a ZWJ family, combining accents, CJK.
UNICODE = "שלום, مرحبا \u200f! 👍🏽 👨\u200d👩\u200d👧 Zoë e\u0301 日本語"

Token = Literal["page", "missing", "forged", "other-slug", "other-key", "tampered", "expired"]
Outcome = Literal["stored", "nothing"]


@dataclass(frozen=True)
class Case:
    id: str
    status: int
    outcome: Outcome = "nothing"
    fields: dict[str, str | None] = field(default_factory=dict)  # None drops the field
    token: Token = "page"
    raw: bytes | None = None  # sent as is instead of the url-encoded fields
    content_type: str | None = FORM
    path: str = f"/compare/{SLUG}/feedback"
    error: str | None = None  # id of the element that must show the error on a 422
    stored: dict[str, str] = field(default_factory=dict)  # expected row values, when stored


CASES = [
    Case("valid-baseline", 303, "stored"),
    # Line breaks in every field: refused where a header could be forged, kept in the message.
    Case("crlf-in-option", 422, fields={"option": f"Emacs\r\n{BCC}"}, error="fb-option-error"),
    Case("crlf-in-name", 422, fields={"name": f"Ada\r\n{BCC}"}, error="fb-name-error"),
    Case("lf-in-name", 422, fields={"name": "Ada\nX-Evil: 1"}, error="fb-name-error"),
    Case("u2028-in-name", 422, fields={"name": "Ada\u2028Bcc: x@y.org"}, error="fb-name-error"),
    Case(
        "crlf-in-email",
        422,
        fields={"email": f"ada@example.org\r\n{BCC}"},
        error="fb-email-error",
    ),
    Case("crlf-in-token", 422, fields={"token": f"abc\r\n{BCC}"}, error="feedback-errors"),
    Case(
        "crlf-in-message-is-text",
        303,
        "stored",
        fields={"message": f"First line\r\nsecond line\r\n{BCC}\r\n\r\nlast"},
        stored={"message": f"First line\nsecond line\n{BCC}\n\nlast"},
    ),
    # Size.
    Case("70kB-message", 413, fields={"message": "x" * 70_000}),
    Case("5001-char-message", 422, fields={"message": "y" * 5001}, error="fb-message-error"),
    Case("101-char-name", 422, fields={"name": "n" * 101}, error="fb-name-error"),
    Case("whitespace-message", 422, fields={"message": " \n\t " * 20}, error="fb-message-error"),
    # Encodings and content types.
    Case("non-utf8-body", 400, raw=b"option=Emacs&message=caf\xe9 au lait is better&token=x"),
    Case("percent-encoded-non-utf8", 400, raw=b"option=Emacs&message=%ff%fe%fd+long+enough"),
    Case("multipart-body", 415, content_type="multipart/form-data; boundary=x"),
    Case("json-body", 415, content_type="application/json"),
    Case("text-plain-body", 415, content_type="text/plain"),
    Case("no-content-type", 415, content_type=None),
    # Tokens.
    Case("missing-token", 422, token="missing", error="feedback-errors"),
    Case("forged-token", 422, token="forged", error="feedback-errors"),
    Case("token-signed-with-another-key", 422, token="other-key", error="feedback-errors"),
    Case("token-for-another-slug", 422, token="other-slug", error="feedback-errors"),
    Case("tampered-token", 422, token="tampered", error="feedback-errors"),
    Case("expired-token", 422, token="expired", error="feedback-errors"),
    # Bots and options.
    Case("honeypot-filled", 303, fields={"website": "http://spam.example"}),
    Case("unknown-option", 422, fields={"option": "Nano"}, error="fb-option-error"),
    Case("option-of-another-page", 422, fields={"option": "Micro"}, error="fb-option-error"),
    Case("option-wrong-case", 422, fields={"option": "emacs"}, error="fb-option-error"),
    Case("missing-option", 422, fields={"option": None}, error="fb-option-error"),
    Case(
        "repeated-fields-first-wins",
        303,
        "stored",
        raw=b"option=Emacs&option=Vim&message=First+one+counts+here&name=&email=&token={token}",
        stored={
            "reader_pick": "Emacs",
            "message": "First one counts here",
            "name": "",
            "email": "",
        },
    ),
    Case(
        "unknown-extra-fields-ignored",
        303,
        "stored",
        fields={"admin": "1", "slug": OTHER_SLUG, "reader_pick": "Vim"},
        stored={"reader_pick": "Emacs"},
    ),
    # Markup and script in every field: stored as text, never run, never reflected raw.
    Case(
        "html-and-script-as-text",
        303,
        "stored",
        fields={"message": f"{SCRIPT} and {IMG} are just words", "name": f"<b>{IMG}</b>"},
        stored={"message": f"{SCRIPT} and {IMG} are just words", "name": f"<b>{IMG}</b>"},
    ),
    Case(
        "script-in-message-rerendered-escaped",
        422,
        fields={"message": f"{SCRIPT} is my reason", "email": "not an address"},
        error="fb-email-error",
    ),
    Case("script-in-option", 422, fields={"option": SCRIPT}, error="fb-option-error"),
    Case("script-in-email", 422, fields={"email": f"{SCRIPT}@x.org"}, error="fb-email-error"),
    Case("script-in-token", 422, fields={"token": SCRIPT}, error="feedback-errors"),
    Case(
        "display-name-address",
        422,
        fields={"email": "Evil <evil@example.org>"},
        error="fb-email-error",
    ),
    Case(
        "nul-in-message", 422, fields={"message": "long enough\x00text"}, error="fb-message-error"
    ),
    Case("control-char-in-name", 422, fields={"name": "Ada\x1b[31m"}, error="fb-name-error"),
    # Legitimate Unicode everywhere it may go.
    Case(
        "emoji-and-rtl-intact",
        303,
        "stored",
        fields={"message": f"{UNICODE} is why", "name": UNICODE},
        stored={"message": f"{UNICODE} is why", "name": UNICODE},
    ),
    # Paths.
    Case("unknown-slug", 404, path="/compare/no-such-page/feedback"),
    Case("traversal-slug", 404, path="/compare/..%2f..%2fetc%2fpasswd/feedback"),
    Case("nul-slug", 404, path="/compare/%00/feedback"),
    Case("long-slug", 404, path="/compare/" + "a" * 5000 + "/feedback"),
]


@dataclass
class Target:
    client: TestClient
    settings: Settings
    smtp: SmtpServer

    @property
    def feedback(self) -> Feedback:
        feedback: Feedback = self.client.app.state.feedback  # type: ignore[attr-defined]
        return feedback

    def token(self, slug: str = SLUG) -> str:
        page = BeautifulSoup(self.client.get(f"/compare/{slug}").text, "html.parser")
        field = page.select_one('#feedback input[name="token"]')
        assert field is not None
        return str(field["value"])


def make_settings(root: Path, smtp: SmtpServer, **overrides: object) -> Settings:
    content = root / "content"
    content.mkdir(exist_ok=True)
    (content / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    (content / f"{OTHER_SLUG}.md").write_text(comparison_md(["Nano", "Micro"]), encoding="utf-8")
    values: dict[str, object] = {
        "content_dir": content,
        "data_dir": root / "var",
        "templates_dir": ROOT / "templates",
        "static_dir": ROOT / "static",
        "site_url": "https://nicepick.test",
        "secret_key": SECRET,
        "feedback_min_seconds": 0,
        "feedback_rate": "100000/minute",
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_tls": "none",
        "smtp_timeout": 5.0,
        "outbox_poll_seconds": 0.2,
        "redirect_host": False,  # the test client's host is not the site's
    }
    values.update(overrides)
    return Settings(**values, _env_file=None)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer) -> Iterator[Target]:
    smtp_server.reset()
    settings = make_settings(tmp_path_factory.mktemp("hostile"), smtp_server)
    app = create_app(settings)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        yield Target(client, settings, smtp_server)


def token_for(target: Target, kind: Token) -> str | None:
    if kind == "missing":
        return None
    if kind == "forged":
        return "eyJzIjoidmltLXZzLWVtYWNzIn0.forged-signature"
    if kind == "other-slug":
        return target.token(OTHER_SLUG)
    if kind == "other-key":
        return FormTokens("another-secret", min_seconds=0).issue(
            SLUG, page_hash="x", page_updated=None
        )
    if kind == "expired":
        return FormTokens(SECRET, min_seconds=0).issue(
            SLUG, page_hash="x", page_updated=None, now=time.time() - 2 * 86400
        )
    token = target.token()
    if kind == "tampered":
        middle = len(token) // 3
        return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    return token


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_hostile_input(target: Target, case: Case) -> None:
    marker = uuid.uuid4().hex
    fields: dict[str, str | None] = {
        "option": "Emacs",
        "message": f"Org mode beats everything Vim has. {marker}",
        "name": "Ada",
        "email": "ada@example.org",
        "token": token_for(target, case.token),
        **case.fields,
    }
    sent = {name: value for name, value in fields.items() if value is not None}
    if case.raw is not None:
        body = case.raw.replace(b"{token}", target.token().encode())
    else:
        body = urlencode(sent).encode("utf-8")
    headers = {"content-type": case.content_type} if case.content_type else {}
    store = target.feedback.store
    notes_before = len(store.notes())
    outbox_before = len(store.outbox_entries(include_sent=True))
    mails_before = len(target.smtp.messages)

    response = target.client.post(case.path, content=body, headers=headers)

    assert response.status_code == case.status, response.text[:500]
    assert "Traceback" not in response.text
    notes = store.notes()
    if case.outcome == "nothing":
        assert len(notes) == notes_before, "a refused note was stored"
        assert len(store.outbox_entries(include_sent=True)) == outbox_before
        assert len(target.smtp.messages) == mails_before, "a refused note was mailed"
    else:
        assert len(notes) == notes_before + 1
        note = notes[-1]
        expected = {
            "slug": SLUG,
            "reader_pick": sent.get("option", ""),
            "message": sent.get("message", ""),
            "name": sent.get("name", ""),
            "email": sent.get("email", ""),
            **case.stored,
        }
        assert {name: getattr(note, name) for name in expected} == expected
        mail = next(
            m
            for m in target.smtp.wait_for(mails_before + 1)
            if m["X-Nicepick-Note"] == str(note.id)
        )
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        text = text.replace("\r\n", "\n")  # SMTP lines end in CRLF
        assert expected["message"] in text
        assert f"Name:         {expected['name'] or '(not given)'}" in text
        assert mail["Bcc"] is None and mail["X-Evil"] is None
        assert mail["Subject"] == "Disagreement: Vim vs Emacs"
    if case.status == 422:
        page = BeautifulSoup(response.text, "html.parser")
        assert case.error and page.find(id=case.error) is not None, case.error
        # What the reader typed comes back, as text: escaped, never live markup.
        textarea = page.select_one("#fb-message")
        assert textarea is not None
        assert textarea.get_text() == sent.get("message", "").replace("\r\n", "\n")
        assert SCRIPT not in response.text and IMG not in response.text
        scripts = page.find_all("script")
        assert all(s.get("src") or s.get("type") == "application/ld+json" for s in scripts)


def test_replayed_token_is_bounded_by_the_rate_limit(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """Tokens are per page render, not per note (see app/feedback/tokens.py), so a replay is
    accepted like any repeat note; the per-client rate limit is what bounds it, and a spoofed
    X-Forwarded-For from an untrusted peer does not reset that limit."""
    smtp_server.reset()
    settings = make_settings(tmp_path, smtp_server, feedback_rate="3/minute")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        target = Target(client, settings, smtp_server)
        token = target.token()
        body = {"option": "Emacs", "name": "", "email": "", "token": token}
        statuses = []
        for index in range(3):
            note = {**body, "message": f"Replayed note number {index}"}
            statuses.append(client.post(f"/compare/{SLUG}/feedback", data=note).status_code)
        assert statuses == [303, 303, 303]
        over = {**body, "message": "One more than allowed"}
        assert client.post(f"/compare/{SLUG}/feedback", data=over).status_code == 429
        spoofed = client.post(
            f"/compare/{SLUG}/feedback", data=over, headers={"X-Forwarded-For": "203.0.113.9"}
        )
        assert spoofed.status_code == 429
        assert [n.message for n in target.feedback.store.notes()] == [
            f"Replayed note number {index}" for index in range(3)
        ]
        assert len(smtp_server.wait_for(3)) == 3


# --- against the real server: what only a socket can send ----------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("hostile-live")
    content = root / "content"
    content.mkdir()
    (content / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    with live_server(server_env(root / "var", content_dir=content), root / "server.log") as run:
        yield run.url


def post_raw(url: str, head: str, body: bytes = b"") -> int:
    request = f"POST /compare/{SLUG}/feedback HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    return raw_status(raw_request(url, (request + head + "\r\n").encode("latin-1") + body))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("head", "body", "allowed"),
    [
        pytest.param(
            f"Content-Type: {FORM}\r\nX-Big: {'a' * 100_000}\r\n",
            b"",
            (400, 431),
            id="100kB-header",
        ),
        pytest.param(
            f"Content-Type: {FORM}\r\n" + "".join(f"X-H{i}: v\r\n" for i in range(2000)),
            b"",
            (400, 431, 413, 422),
            id="2000-headers",
        ),
        pytest.param(
            f"Content-Type: {FORM}\r\nContent-Length: 1000000000\r\n",
            b"option=Emacs",
            (413,),
            id="declared-1GB-body",
        ),
        pytest.param(
            f"Content-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n",
            b"".join(b"8000\r\n" + b"m" * 0x8000 + b"\r\n" for _ in range(3)) + b"0\r\n\r\n",
            (413,),
            id="chunked-96kB-body",
        ),
        pytest.param(
            f"Content-Type: {FORM}\r\nContent-Length: 5\r\nContent-Length: 9\r\n",
            b"a=1&b=2&c",
            (400,),
            id="conflicting-lengths",
        ),
        pytest.param(
            f"Content-Type: {FORM}\r\nX-Forwarded-For: " + "1.1.1.1, " * 2000 + "\r\n",
            b"",
            (400, 422, 431),
            id="huge-forwarded-for",
        ),
    ],
)
def test_raw_hostile_requests_get_a_4xx_never_a_5xx(
    server: str, head: str, body: bytes, allowed: tuple[int, ...]
) -> None:
    if body and "Content-Length" not in head and "chunked" not in head:
        head += f"Content-Length: {len(body)}\r\n"
    status = post_raw(server, head, body)
    assert status in allowed or status == 0 and 431 in allowed, status
