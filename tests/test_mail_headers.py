"""Every header of a note's mail, against hostile reader and editor text.

The rule: reader text reaches a header only as a strictly validated address, byte for byte;
editor text reaches the Subject with line breaks and controls folded and encoded words broken.
Whatever a note holds, building its mail gives a message whose headers read back exactly as set,
or raises ``UnbuildableMessage``. Mail is checked as the real SMTP server (aiosmtpd) received
it, and as raw bytes, since the email package's own view can hide what goes on the wire.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlencode

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.feedback.form import _EMAIL, is_safe_email
from app.feedback.mail import (
    SUBJECT_TITLE_MAX,
    SmtpTransport,
    UnbuildableMessage,
    build_message,
    header_text,
    raw_header,
    wire_bytes,
)
from app.feedback.outbox import OutboxSender
from app.feedback.service import Feedback
from app.feedback.store import FeedbackStore, NewNote, Note, OutboxEntry
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD, ROOT
from tests.smtp import SmtpServer

SLUG = "vim-vs-emacs"
SECRET = "mail-headers-secret-0123456789abcdef"
# The headers build_message sets, in order, plus those set_content adds.
HEADERS = ["From", "To", "Reply-To", "Subject", "Message-ID", "Date", "X-Nicepick-Note"]
MIME = ["Content-Type", "Content-Transfer-Encoding", "MIME-Version"]
ISSUE_ADDRESS = "=?utf-8?q?x=00y=0B=1C=2C_victim=40evil=2Ecom=2C_z?=@example.com"
CRLF_ADDRESS = "=?utf-8?q?a=0D=0ABcc=3A_victim=40evil=2Ecom?=@example.com"


def make_settings(root: Path, smtp: SmtpServer, **overrides: object) -> Settings:
    content = root / "content"
    content.mkdir(exist_ok=True)
    (content / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
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
        "redirect_host": False,
    }
    values.update(overrides)
    return Settings(**values, _env_file=None)  # type: ignore[arg-type]


def a_note(**overrides: object) -> Note:
    values: dict[str, object] = {
        "id": 7,
        "slug": SLUG,
        "title": "Vim vs Emacs",
        "our_pick": "Vim",
        "reader_pick": "Emacs",
        "message": "Org mode is the reason.",
        "name": "Ada",
        "email": "ada@example.org",
        "page_hash": "a" * 64,
        "page_updated": None,
        "created_at": datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return Note(**values)  # type: ignore[arg-type]


def deliver_stored(
    root: Path, settings: Settings, **note: object
) -> tuple[Note, list[OutboxEntry]]:
    """Store a note as the service would (``note`` overrides a plain one), let the outbox
    deliver it through SMTP, and answer the stored note and the outbox's entries after."""
    values: dict[str, object] = {
        "slug": SLUG,
        "title": "Vim vs Emacs",
        "our_pick": "Vim",
        "reader_pick": "Emacs",
        "message": "Emacs, for org mode.",
        "name": "Ada",
        "email": "ada@example.org",
        "page_hash": "b" * 64,
        "page_updated": None,
    }
    values.update(note)
    store = FeedbackStore.from_url(f"sqlite:///{root / 'notes.sqlite3'}")
    store.create_schema()
    try:
        stored = store.add_note(NewNote(**values))  # type: ignore[arg-type]
        sender = OutboxSender(store, SmtpTransport(settings), settings)
        assert asyncio.run(sender.deliver_due()) == 1
        return stored, store.outbox_entries(include_sent=True)
    finally:
        store.dispose()


def read_back(message: EmailMessage) -> tuple[bytes, EmailMessage]:
    """The message as SMTP sends it (line ends made LF), and as a mail server parses it."""
    data = wire_bytes(message).replace(b"\r\n", b"\n")
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return data, parsed


def reply_to_addresses(message: EmailMessage) -> list[str]:
    header = message["Reply-To"]
    if header is None:
        return []
    assert isinstance(header, AddressHeader)
    return [address.addr_spec for address in header.addresses]


# --- the reader's address, through the form, to the SMTP server -----------------------------


@dataclass(frozen=True)
class AddressCase:
    id: str
    email: str
    accepted: bool


ADDRESS_CASES = [
    AddressCase("issue-example-three-addresses", ISSUE_ADDRESS, False),
    AddressCase("encoded-crlf-bcc", CRLF_ADDRESS, False),
    AddressCase("encoded-word-after-a-dot", "a.=?utf-8?q?b=2C_c=40evil=2Ecom?=@example.com", False),
    AddressCase("b-encoded-word", "=?utf-8?b?YSwgdmljdGltQGV2aWwuY29t?=@example.com", False),
    AddressCase("encoded-word-mid-atom", "ab=?utf-8?q?c=2C_d?=@example.com", False),
    AddressCase("bare-opener", "=?@example.com", False),
    # Legitimate atext that merely contains = or ?: accepted and sent exactly as typed.
    AddressCase("equals-sign", "a=b@example.com", True),
    AddressCase("question-mark", "what?@example.com", True),
    AddressCase("closer-without-opener", "a?=b@example.com", True),
    AddressCase("every-other-atext", "o'brien+x{y}|z~#$%&*/^`@mail.example.co.uk", True),
]


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer
) -> Iterator[TestClient]:
    smtp_server.reset()
    settings = make_settings(tmp_path_factory.mktemp("mail-headers"), smtp_server)
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


def post_note(client: TestClient, **fields: str) -> tuple[int, str]:
    page = BeautifulSoup(client.get(f"/compare/{SLUG}").text, "html.parser")
    token = page.select_one('#feedback input[name="token"]')
    assert token is not None
    body = {
        "option": "Emacs",
        "message": f"Org mode beats everything. {uuid.uuid4().hex}",
        "name": "Ada",
        "email": "",
        "token": str(token["value"]),
        **fields,
    }
    response = client.post(
        f"/compare/{SLUG}/feedback",
        content=urlencode(body).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    return response.status_code, response.text


def mail_for(client: TestClient, smtp: SmtpServer, before: int) -> EmailMessage:
    """The mail of the newest note, once the SMTP server has it."""
    feedback: Feedback = client.app.state.feedback  # type: ignore[attr-defined]
    note_id = str(feedback.store.notes()[-1].id)
    count = before + 1
    while True:
        found = [m for m in smtp.wait_for(count) if m["X-Nicepick-Note"] == note_id]
        if found:
            return found[0]
        count += 1  # another note's mail came first; wait for the next one


@pytest.mark.parametrize("case", ADDRESS_CASES, ids=lambda case: case.id)
def test_the_address_sent_is_the_address_validated(
    client: TestClient, smtp_server: SmtpServer, case: AddressCase
) -> None:
    feedback: Feedback = client.app.state.feedback  # type: ignore[attr-defined]
    notes_before = len(feedback.store.notes())
    mails_before = len(smtp_server.messages)

    status, text = post_note(client, email=case.email)

    if not case.accepted:
        assert status == 422
        page = BeautifulSoup(text, "html.parser")
        assert page.find(id="fb-email-error") is not None
        assert len(feedback.store.notes()) == notes_before
        return
    assert status == 303
    mail = mail_for(client, smtp_server, mails_before)
    assert reply_to_addresses(mail) == [case.email]
    # Byte for byte on the wire, as the server received it.
    assert raw_header(mail.as_bytes(), "Reply-To") == case.email.encode()
    assert mail["Bcc"] is None and mail["Cc"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "=?utf-8?q?Ada=0D=0ABcc=3A_victim=40evil=2Ecom?="),
        ("message", "=?utf-8?q?long_enough=0D=0ABcc=3A_victim=40evil=2Ecom?= text"),
        ("option", "=?utf-8?q?Emacs?="),
    ],
)
def test_encoded_words_in_other_reader_fields_never_become_headers(
    client: TestClient, smtp_server: SmtpServer, field: str, value: str
) -> None:
    mails_before = len(smtp_server.messages)
    status, _ = post_note(client, **{field: value})
    if field == "option":  # not one of the page's options: refused outright
        assert status == 422
        return
    assert status == 303
    mail = mail_for(client, smtp_server, mails_before)
    assert [name for name in mail.keys() if name not in MIME] == [
        name for name in HEADERS if name != "Reply-To"
    ]
    assert mail["Bcc"] is None
    body = mail.get_body(("plain",))
    assert body is not None
    assert value in body.get_content().replace("\r\n", "\n")  # as text, in the body only


# --- editor text and stored notes: build_message itself --------------------------------------

TITLE_CASES = [
    ("vertical-tab", "Vim\vBcc: victim@evil.com", "Disagreement: Vim Bcc: victim@evil.com"),
    ("form-feed", "Vim\fvs Emacs", "Disagreement: Vim vs Emacs"),
    ("file-separator", "Vim\x1cvs\x1dEmacs\x1e", "Disagreement: Vim vs Emacs"),
    ("next-line", "Vim\x85vs Emacs", "Disagreement: Vim vs Emacs"),
    ("line-separator", "Vim\u2028\u2029vs Emacs", "Disagreement: Vim vs Emacs"),
    ("crlf", "Vim\r\nBcc: victim@evil.com", "Disagreement: Vim Bcc: victim@evil.com"),
    ("nul-and-del", "Vim\x00vs\x7fEmacs", "Disagreement: Vim vs Emacs"),
    ("c1-control", "Vim\x9bvs Emacs", "Disagreement: Vim vs Emacs"),
    (
        "encoded-crlf-bcc",
        "=?utf-8?q?x=0D=0ABcc:_victim@evil.com?= t",
        "Disagreement: = ?utf-8?q?x=0D=0ABcc:_victim@evil.com?= t",
    ),
    ("b-encoded", "a =?utf-8?b?QmNjOiB4?= b", "Disagreement: a = ?utf-8?b?QmNjOiB4?= b"),
    ("unicode-kept", "Zoë vs Ünï: 日本語 👍🏽", "Disagreement: Zoë vs Ünï: 日本語 👍🏽"),
    ("long-folded", "Word " * 28, "Disagreement: " + ("Word " * 28).strip()),
    # The email package's folding changed the spaces beside these encoded words: each note
    # on such a page failed for good, though the reader was thanked.
    (
        "folding-moved-a-space",
        "Ceph vs GlusterFS vs MooseFS: verteilte Dateisysteme für kleine Büros",
        "Disagreement: Ceph vs GlusterFS vs MooseFS: verteilte Dateisysteme für kleine Büros",
    ),
    (
        "folding-dropped-spaces",
        "Café" + " " * 45 + "Crème",
        "Disagreement: Café" + " " * 45 + "Crème",
    ),
]


@pytest.mark.parametrize(
    ("title", "subject"), [case[1:] for case in TITLE_CASES], ids=[c[0] for c in TITLE_CASES]
)
def test_editor_titles_are_folded_into_one_safe_subject(title: str, subject: str) -> None:
    message = build_message(a_note(title=title), Settings(_env_file=None))
    data, parsed = read_back(message)
    assert list(parsed.keys()) == HEADERS + MIME
    assert parsed["Subject"] == subject
    assert reply_to_addresses(parsed) == ["ada@example.org"]
    head = data.split(b"\n\n", 1)[0]
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", head)


@pytest.mark.parametrize(
    "email", [ISSUE_ADDRESS, CRLF_ADDRESS, "a@b", "Eve <eve@evil.com>", "a@example.org, b@x.org"]
)
def test_a_stored_unsafe_address_gets_no_reply_to_and_stays_in_the_body(email: str) -> None:
    """Notes stored before the address rules tightened: mailed, never with that header."""
    message = build_message(a_note(email=email), Settings(_env_file=None))
    _, parsed = read_back(message)
    assert list(parsed.keys()) == [name for name in HEADERS if name != "Reply-To"] + MIME
    body = parsed.get_body(("plain",))
    assert body is not None
    assert f"Email:        {email}" in body.get_content()


def test_a_stored_note_with_an_encoded_crlf_address_is_delivered_not_failed_forever(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    smtp_server.reset()
    settings = make_settings(tmp_path, smtp_server)
    note, [entry] = deliver_stored(
        tmp_path, settings, message="Stored by an older version.", email=CRLF_ADDRESS
    )
    [mail] = smtp_server.wait_for(1)
    assert mail["X-Nicepick-Note"] == str(note.id)
    assert mail["Reply-To"] is None and mail["Bcc"] is None
    assert entry.sent_at is not None and entry.last_error is None


def test_a_note_on_a_page_whose_title_folding_would_change_reaches_the_editors(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    # Sent as aiosmtplib folded every message (78 columns), this subject went out with a space
    # more; the read-back check refused it, and the note failed for good.
    smtp_server.reset()
    settings = make_settings(tmp_path, smtp_server)
    title = "Ceph vs GlusterFS vs MooseFS: verteilte Dateisysteme für kleine Büros"
    note, [entry] = deliver_stored(tmp_path, settings, title=title, reader_pick="MooseFS")
    [mail] = smtp_server.wait_for(1)
    assert mail["X-Nicepick-Note"] == str(note.id)
    assert mail["Subject"] == f"Disagreement: {title}"
    assert entry.sent_at is not None and entry.last_error is None


def test_editors_at_an_internationalised_address_get_the_note_over_smtputf8(
    tmp_path: Path,
) -> None:
    # aiosmtplib sends MAIL FROM and RCPT TO in ASCII unless told: every such note failed
    # with UnicodeEncodeError before a byte was sent.
    server = SmtpServer().start(enable_SMTPUTF8=True)
    try:
        settings = make_settings(
            tmp_path,
            server,
            mail_from="Nice Pick <rédaction@exämple.org>",
            feedback_to="éditeurs@exämple.org",
        )
        _, [entry] = deliver_stored(tmp_path, settings)
        [mail] = server.wait_for(1)
        assert mail["To"] == "éditeurs@exämple.org"
        assert mail["Subject"] == "Disagreement: Vim vs Emacs"
        assert entry.sent_at is not None
    finally:
        server.stop()


def test_a_long_title_is_cut_in_the_subject_and_whole_in_the_body() -> None:
    # Titles of 500+ characters with runs of spaces beside encoded words read back otherwise
    # even unfolded, and failed for good; the whole title stays in the body.
    title = "Café" + " " * 45 + "Crème " + "Lötkolben vs Heißluft " * 40
    message = build_message(a_note(title=title), Settings(_env_file=None))
    _, parsed = read_back(message)
    shown = str(parsed["Subject"]).removeprefix("Disagreement: ")
    assert len(shown) == SUBJECT_TITLE_MAX and shown.endswith("…")
    assert title.startswith(shown[:-1])
    body = parsed.get_body(("plain",))
    assert body is not None and header_text(title) in body.get_content()


def test_a_long_title_of_four_byte_characters_keeps_smtputf8_lines_under_998_bytes() -> None:
    # Under SMTPUTF8 the subject goes out as UTF-8; the policy's 998 counts characters.
    message = build_message(a_note(title="👍🏽 " * 400), Settings(_env_file=None))
    data = wire_bytes(message, utf8=True)
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    back = message_from_bytes(data, policy=policy.default)
    assert str(back["Subject"]) == str(message["Subject"])


def test_an_unbuildable_message_raises_one_specific_exception() -> None:
    settings = Settings(_env_file=None, mail_from="Nice Pick <a@b.org>\nBcc: victim@evil.com")
    with pytest.raises(UnbuildableMessage) as raised:
        build_message(a_note(id=41), settings)
    error = raised.value
    assert isinstance(error, ValueError)
    assert error.note_id == 41
    assert "header" in error.reason
    assert str(error) == f"note 41: {error.reason}"


# --- properties: whatever the text, the headers read back as set -----------------------------

ADDRESSES = st.from_regex(_EMAIL, fullmatch=True).filter(is_safe_email)


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ADDRESSES)
def test_every_valid_address_goes_out_byte_for_byte(email: str) -> None:
    message = build_message(a_note(email=email), Settings(_env_file=None))
    data, parsed = read_back(message)
    assert reply_to_addresses(parsed) == [email]
    assert raw_header(data, "Reply-To") == email.encode()


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(max_size=600), st.text(max_size=120), st.text(max_size=60))
def test_any_title_name_or_message_gives_a_safe_message(
    title: str, message: str, name: str
) -> None:
    # Every text: the folded form when it reads back as written, else the unfolded one.
    built = build_message(a_note(title=title, message=message, name=name), Settings(_env_file=None))
    _, parsed = read_back(built)
    assert list(parsed.keys()) == HEADERS + MIME
    shown = header_text(title)
    if len(shown) > SUBJECT_TITLE_MAX:
        shown = shown[: SUBJECT_TITLE_MAX - 1].rstrip() + "…"
    assert parsed["Subject"] == f"Disagreement: {shown}"
    assert reply_to_addresses(parsed) == ["ada@example.org"]


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from([" ", " ", " ", "é", "a", "Ü", "日", "👍"]), max_size=2000))
def test_titles_with_runs_of_spaces_beside_non_ascii_always_give_a_message(title: str) -> None:
    # Such titles of 500+ characters failed the read-back folded and unfolded (~10 %).
    built = build_message(a_note(title=title), Settings(_env_file=None))
    _, parsed = read_back(built)
    assert parsed["Subject"] == built["Subject"]
    assert len(str(parsed["Subject"])) <= len("Disagreement: ") + SUBJECT_TITLE_MAX


def test_an_unfolded_subject_leaves_the_body_in_short_lines() -> None:
    # RFC 2045: quoted-printable and base64 lines of at most 76 characters; the unfolded
    # policy had encoded the body too, in lines of up to 998.
    title = "Ceph vs GlusterFS vs MooseFS: verteilte Dateisysteme für kleine Büros"
    message = build_message(
        a_note(title=title, message="Org mode is the reason, café " * 40), Settings(_env_file=None)
    )
    data, parsed = read_back(message)
    assert parsed["Subject"] == f"Disagreement: {title}"
    head, body = data.split(b"\n\n", 1)
    assert max(len(line) for line in body.split(b"\n")) <= 78
    assert any(len(line) > 78 for line in head.split(b"\n"))  # the subject, unfolded
