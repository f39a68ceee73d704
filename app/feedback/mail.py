"""The editors' mail for a note, and the transports that deliver it (SMTP or .eml files).

Headers take nothing a reader typed except a Reply-To address that passed strict validation
(``form.is_safe_email``) and goes out byte for byte as it was validated. Every header:

- From, To: the operator's settings, checked by the read-back below.
- Reply-To: the reader's address, checked with ``is_safe_email`` again (notes stored by older
  versions) and by the read-back, which must find the very bytes validated.
- Subject: for a disagreement, the editor's title through ``header_text`` (controls and line
  breaks folded to spaces, encoded words broken), cut to ``SUBJECT_TITLE_MAX`` characters; for
  a request, our own words and the note's id (the names asked for are the reader's text, so
  they stay in the body).
- Message-ID, Date, X-Nicepick-Note: our own values from the note's id, slug and time.

Python's email package re-parses every header value it is given, decodes RFC 2047 encoded words
in it (even inside an address) and treats ``\v``, ``\f`` and ``\x1c``-``\x1e`` as line breaks,
as ``str.splitlines`` does. So after building, the message is serialised and parsed back: if
the headers read back are not exactly the ones set, ``build_message`` raises
``UnbuildableMessage`` instead of handing a different message to the transport.

The Message-ID depends on the note alone, so a retried or repeated delivery is recognisably the
same mail.

A transport opens a session; a session sends messages one at a time and says, through
``handed_over``, whether a message may be with the server without our knowing (sent, reply
not yet in). Leaving a session by an error or a cancellation drops the connection, never QUIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from email import errors as email_errors
from email import message_from_bytes
from email import policy as email_policy
from email.generator import BytesGenerator
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender
from aiosmtplib.errors import SMTPException, SMTPResponseException

from app.atomic import write_atomic
from app.feedback.form import is_safe_email
from app.feedback.store import Note
from app.settings import Settings

log = logging.getLogger(__name__)

# Every character str.splitlines() breaks on (\n \r \v \f \x1c-\x1e \x85 \u2028 \u2029: the
# email package folds headers with it), every other C0 and C1 control, and DEL.
_BREAKS_AND_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


# Headers are folded at 78 columns, as RFC 5322 recommends. But when the email package folds
# some non-ASCII subjects it adds or drops a space beside an encoded word ("Dateisysteme für
# kleine Büros" went out as "Dateisysteme  für kleine Büros"), which the read-back check
# rightly refuses: such a message is written unfolded instead, its lines up to RFC 5322's
# limit of 998 characters and its encoded words past RFC 2047's 75, which mail readers decode.
_FOLDED = email_policy.default
_UNFOLDED = email_policy.default.clone(max_line_length=998)


class UnbuildableMessage(ValueError):
    """A note whose mail cannot be built safely: trying again will not help.

    ``note_id`` is the note's id, ``reason`` says what is wrong in words an operator can act
    on; ``str(error)`` is ``"note <id>: <reason>"``.
    """

    def __init__(self, note_id: int, reason: str) -> None:
        super().__init__(f"note {note_id}: {reason}")
        self.note_id = note_id
        self.reason = reason


def one_line(text: str) -> str:
    """``text`` with line breaks and control characters folded to single spaces."""
    return _BREAKS_AND_CONTROLS.sub(" ", text).strip()


def header_text(text: str) -> str:
    """Editor text fit for an unstructured header, read back by any parser as written.

    ``=?`` is broken to ``= ?``: the email package would otherwise decode an encoded word in
    the text (``=?utf-8?q?x=0D=0ABcc:_y?=`` becomes a line break and a Bcc header).
    """
    return one_line(text).replace("=?", "= ?")


# A title past this is cut (with "…") in the Subject: the whole title is in the body, and a
# long subject is what the folding above gets wrong (runs of spaces beside encoded words in
# titles of 500+ characters) or what an unfolded line of multibyte characters would carry
# past 998 bytes under SMTPUTF8 (150 four-byte characters are 600).
SUBJECT_TITLE_MAX = 150


def subject_line(note: Note) -> str:
    """The Subject of ``note``'s mail: no text a reader typed (a request's names are)."""
    if note.is_request:
        return f"Request {note.id}: a reader asks for a comparison"
    title = header_text(note.title)
    if len(title) > SUBJECT_TITLE_MAX:
        title = title[: SUBJECT_TITLE_MAX - 1].rstrip() + "…"
    return f"Disagreement: {title}"


def message_id(note: Note, host: str) -> str:
    """``<note-{id}.{hash}@{host}>``: the hash keeps ids from two databases apart."""
    seed = f"{note.id}|{note.slug}|{note.created_at.isoformat()}".encode()
    return f"<note-{note.id}.{hashlib.sha256(seed).hexdigest()[:16]}@{host}>"


def page_version(note: Note) -> str:
    updated = note.page_updated.isoformat() if note.page_updated else "never updated"
    return f"{note.page_hash[:12]} (updated {updated})"


def build_message(note: Note, settings: Settings) -> EmailMessage:
    """The editors' mail for ``note``; ``UnbuildableMessage`` when it cannot be built safely.

    Its headers are folded (``_FOLDED``) when that reads back as written, else unfolded
    (``_UNFOLDED``); its body is encoded in lines of at most 76 characters either way (RFC
    2045), as the policy it was made with encoded it."""
    return _build_message(note, settings)


def wire_bytes(message: EmailMessage, *, utf8: bool = False, cte_type: str = "8bit") -> bytes:
    """The message as SMTP sends it: CRLF line ends, headers folded by the message's own
    policy (aiosmtplib's ``flatten_message`` folds every message at 78 columns, which
    ``_UNFOLDED`` is there to avoid); ``utf8`` for SMTPUTF8, ``cte_type`` "7bit" when the
    server does not offer 8BITMIME."""
    policy = email_policy.SMTP.clone(
        max_line_length=message.policy.max_line_length, utf8=utf8, cte_type=cte_type
    )
    with io.BytesIO() as out:
        BytesGenerator(out, policy=policy).flatten(message)
        return out.getvalue()


def _build_message(note: Note, settings: Settings) -> EmailMessage:
    # The policy of the message object decides how its headers are folded when it is written
    # (``wire_bytes``, ``as_bytes``), and the body is already encoded by then.
    host = urlsplit(settings.site_url).hostname or "localhost"
    reply_to = note.email if note.email and is_safe_email(note.email) else None
    subject = subject_line(note)
    message = EmailMessage(policy=_FOLDED)
    try:
        message["From"] = settings.mail_from
        message["To"] = settings.feedback_to
        if reply_to:
            message["Reply-To"] = reply_to
        message["Subject"] = subject
        message["Message-ID"] = message_id(note, host)
        message["Date"] = format_datetime(note.created_at)
        message["X-Nicepick-Note"] = str(note.id)
    except (ValueError, TypeError, IndexError, email_errors.MessageError) as error:
        raise UnbuildableMessage(note.id, f"a header could not be set: {error}") from None
    lines = _request_lines(note) if note.is_request else _note_lines(note, settings)
    message.set_content("\n".join(lines))
    try:
        _check_read_back(message, note.id, reply_to=reply_to, subject=subject)
    except UnbuildableMessage:
        message.policy = _UNFOLDED  # the body stays encoded as _FOLDED made it
        _check_read_back(message, note.id, reply_to=reply_to, subject=subject)
    return message


def _request_lines(note: Note) -> list[str]:
    return [
        f"A reader asks for a comparison: “{one_line(note.title)}”.",
        "",
        f"Name:         {note.name or '(not given)'}",
        f"Email:        {note.email or '(not given)'}",
        f"Time (UTC):   {note.created_at.strftime('%Y-%m-%d %H:%M:%S')}",
        f"Request id:   {note.id}",
        "",
        "Why:",
        "",
        note.message or "(no reason given)",
        "",
    ]


def _note_lines(note: Note, settings: Settings) -> list[str]:
    url = f"{settings.site_url}/compare/{note.slug}"
    return [
        f"A reader disagrees with our pick on “{one_line(note.title)}”.",
        "",
        f"Page:         {url}",
        f"Our pick:     {note.our_pick}",
        f"Reader picks: {note.reader_pick}",
        f"Name:         {note.name or '(not given)'}",
        f"Email:        {note.email or '(not given)'}",
        f"Time (UTC):   {note.created_at.strftime('%Y-%m-%d %H:%M:%S')}",
        f"Note id:      {note.id}",
        f"Page version: {page_version(note)}",
        "",
        "Message:",
        "",
        note.message,
        "",
    ]


def raw_header(data: bytes, name: str) -> bytes | None:
    """The first ``name`` header of a serialised message as bytes, unfolded (the folding
    whitespace the generator may put before a long value is not part of it)."""
    head = data.split(b"\n\n", 1)[0].replace(b"\r\n", b"\n")
    match = re.search(rb"^" + name.encode() + rb":((?:.*)(?:\n[ \t].*)*)", head, re.M | re.I)
    if match is None:
        return None
    return re.sub(rb"\n(?=[ \t])", b"", match.group(1)).strip(b" \t")


def _check_read_back(
    message: EmailMessage, note_id: int, *, reply_to: str | None, subject: str
) -> None:
    """Serialise ``message`` as SMTP sends it and parse it back as a mail server would; the
    headers must be the very ones set, the Reply-To exactly the validated address, the
    Subject exactly ours."""
    try:
        data = wire_bytes(message).replace(b"\r\n", b"\n")
        back = message_from_bytes(data, policy=email_policy.default)
    except (ValueError, TypeError, IndexError, email_errors.MessageError) as error:
        raise UnbuildableMessage(note_id, f"the message could not be written: {error}") from None
    if [name.lower() for name in back.keys()] != [name.lower() for name in message.keys()]:
        raise UnbuildableMessage(
            note_id, f"headers read back as {back.keys()}, not as set ({message.keys()})"
        )
    if reply_to is not None:
        header = back["Reply-To"]
        addresses = (
            [a.addr_spec for a in header.addresses] if isinstance(header, AddressHeader) else []
        )
        if addresses != [reply_to] or raw_header(data, "Reply-To") != reply_to.encode():
            raise UnbuildableMessage(
                note_id, f"the reader's address {reply_to!r} would go out as {addresses!r}"
            )
    if str(back["Subject"]) != subject:
        raise UnbuildableMessage(
            note_id, f"the subject {subject!r} would go out as {str(back['Subject'])!r}"
        )


class SmtpRefused(aiosmtplib.SMTPException):
    """We refused to go on with this server (the reason is in the message); nothing was sent."""


class Session(Protocol):
    """An open connection to the mail server, sending one message at a time.

    ``handed_over`` is true from the moment a message's DATA is sent until the server's
    reply to it arrives: while it holds, the server may have stored the message although we
    do not know it, so the note must be neither handed back nor sent again at once.
    """

    handed_over: bool

    async def send(self, message: EmailMessage) -> None: ...


class Transport(Protocol):
    def session(self) -> AbstractAsyncContextManager[Session]:
        """Open a session; leaving it normally says goodbye, leaving it by an exception or a
        cancellation drops the connection at once."""
        ...


class SmtpSession:
    """One SMTP connection: MAIL, RCPT and DATA per message, RSET after a refused one."""

    def __init__(self, client: aiosmtplib.SMTP, *, data_timeout: float) -> None:
        self.client = client
        self.data_timeout = data_timeout
        self.handed_over = False

    async def send(self, message: EmailMessage) -> None:
        client = self.client
        sender = extract_sender(message)
        recipients = extract_recipients(message)
        if sender is None or not recipients:
            raise ValueError("the message names no sender or no recipient")
        # As aiosmtplib's send_message: SMTPUTF8 only for non-ASCII addresses, 8BITMIME when
        # offered. Done step by step here to know when the message is handed over.
        utf8 = not (sender + "".join(recipients)).isascii()
        options = ["SMTPUTF8"] if utf8 else []
        if client.supports_extension("8BITMIME"):
            options.append("BODY=8BITMIME")
        cte_type = "8bit" if client.supports_extension("8BITMIME") else "7bit"
        content = wire_bytes(message, utf8=utf8, cte_type=cte_type)
        # The addresses themselves go out in UTF-8 under SMTPUTF8 (aiosmtplib's default is
        # ASCII, which raised UnicodeEncodeError for every such address).
        encoding = "utf-8" if utf8 else "ascii"
        try:
            await client.mail(sender, options=options, encoding=encoding)
            for recipient in recipients:
                await client.rcpt(recipient, encoding=encoding)
        except SMTPResponseException:
            with contextlib.suppress(SMTPException, OSError):
                await client.rset()
            raise
        # From here until the reply the server may store the message without our knowing:
        # RFC 5321 section 4.5.3.2.6 gives the reply 10 minutes ("data_timeout"), so that a
        # slow server is not taken for a failed one and sent the message again.
        self.handed_over = True
        try:
            await client.data(content, timeout=self.data_timeout)
        except SMTPResponseException:
            self.handed_over = False  # a reply, a refusal: nothing was stored
            with contextlib.suppress(SMTPException, OSError):
                await client.rset()
            raise
        self.handed_over = False


def abort(client: aiosmtplib.SMTP) -> None:
    """Drop the connection without QUIT: after QUIT a server finishes (and stores) the
    message in progress, and a server that does not answer would hold the shutdown for
    the whole timeout."""
    transport = client.transport
    if isinstance(transport, asyncio.WriteTransport):
        transport.abort()
    client.close()


class SmtpTransport:
    """aiosmtplib to ``settings.smtp_host``; ``smtp_tls`` picks how the link is secured.

    Credentials never cross an unencrypted link unless the operator said so with
    ``smtp_tls=none``: under ``auto`` a server that offers AUTH but no STARTTLS is refused
    before the password is sent. This is what Python's own ``smtplib`` documentation, Django's
    ``EMAIL_USE_TLS`` and Postfix's ``smtp_tls_security_level = encrypt`` with
    ``smtp_sasl_tls_security_options`` do: opportunistic TLS is fine for the message, never for
    the password (RFC 4954 section 4: a client should not send a plain password in clear).
    """

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.settings = settings

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        # auto: STARTTLS when the server offers it (aiosmtplib's start_tls=None).
        start_tls = {"auto": None, "starttls": True, "tls": False, "none": False}[s.smtp_tls]
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_tls == "tls",
            start_tls=start_tls,
            timeout=s.smtp_timeout,
        )

    async def _login(self, client: aiosmtplib.SMTP) -> None:
        """Log in only over TLS, unless the operator allowed clear text (``smtp_tls=none``):
        with ``auto``, a server that offers no STARTTLS would otherwise get the password as is."""
        s = self.settings
        if not s.smtp_username:
            return
        encrypted = client.get_transport_info("sslcontext") is not None
        if not encrypted and s.smtp_tls != "none":
            reason = (
                f"refused to send the SMTP password to {s.smtp_host}:{s.smtp_port} "
                "in clear text: the server offers no STARTTLS. Set NICEPICK_SMTP_TLS=tls "
                "if it expects TLS from the start, or NICEPICK_SMTP_TLS=none to allow "
                "clear text (a trusted network only)"
            )
            log.error("%s", reason)
            raise SmtpRefused(reason)
        await client.login(s.smtp_username, s.smtp_password or "")

    async def send(self, message: EmailMessage) -> None:
        """Send one message in a session of its own (tests and one-off sends)."""
        async with self.session() as session:
            await session.send(message)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[SmtpSession]:
        client = self._client()
        try:
            await client.connect()
            await self._login(client)
            yield SmtpSession(client, data_timeout=self.settings.smtp_data_timeout)
        except BaseException:
            abort(client)
            raise
        try:
            await client.quit()
        except (SMTPException, OSError):
            pass  # every message is through; a goodbye left unanswered changes nothing
        finally:
            client.close()


class FileSession:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.handed_over = False

    def _write(self, message: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = str(message["X-Nicepick-Note"] or make_msgid().strip("<>"))
        path = self.folder / f"note-{name}.eml"
        # A delivered file is always complete, a retry overwrites, a failure leaves no .tmp.
        write_atomic(path, message.as_bytes())
        return path

    async def send(self, message: EmailMessage) -> None:
        self.handed_over = True  # the thread finishes the write even if we are cancelled
        path = await asyncio.to_thread(self._write, message)
        self.handed_over = False
        log.info("mail for %s written to %s", message["To"], path)


class FileTransport:
    """Writes each message to ``data_dir/mail/`` as an .eml file, so no mail server is needed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[FileSession]:
        yield FileSession(self.folder)


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_enabled:
        return SmtpTransport(settings)
    return FileTransport(settings.data_dir / "mail")
