"""The editors' mail for a note, and the transports that deliver it (SMTP or .eml files).

Headers take nothing a reader typed except a Reply-To address that passed strict validation;
the title comes from our own content and is still stripped of line breaks. The Message-ID
depends on the note alone, so a retried or repeated delivery is recognisably the same mail.

A transport opens a session; a session sends messages one at a time and says, through
``handed_over``, whether a message may be with the server without our knowing (sent, reply
not yet in). Leaving a session by an error or a cancellation drops the connection, never QUIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message
from aiosmtplib.errors import SMTPException, SMTPResponseException

from app.feedback.form import is_safe_email
from app.feedback.store import Note
from app.settings import Settings

log = logging.getLogger(__name__)

_LINE_BREAKS = re.compile(r"[\r\n\u0085\u2028\u2029]+")


def one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text).strip()


def message_id(note: Note, host: str) -> str:
    """``<note-{id}.{hash}@{host}>``: the hash keeps ids from two databases apart."""
    seed = f"{note.id}|{note.slug}|{note.created_at.isoformat()}".encode()
    return f"<note-{note.id}.{hashlib.sha256(seed).hexdigest()[:16]}@{host}>"


def page_version(note: Note) -> str:
    updated = note.page_updated.isoformat() if note.page_updated else "never updated"
    return f"{note.page_hash[:12]} (updated {updated})"


def build_message(note: Note, settings: Settings) -> EmailMessage:
    host = urlsplit(settings.site_url).hostname or "localhost"
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = settings.feedback_to
    if note.email and is_safe_email(note.email):
        message["Reply-To"] = note.email
    message["Subject"] = one_line(f"Disagreement: {note.title}")
    message["Message-ID"] = message_id(note, host)
    message["Date"] = format_datetime(note.created_at)
    message["X-Nicepick-Note"] = str(note.id)
    url = f"{settings.site_url}/compare/{note.slug}"
    lines = [
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
    message.set_content("\n".join(lines))
    return message


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
        content = flatten_message(message, utf8=utf8, cte_type=cte_type)
        try:
            await client.mail(sender, options=options)
            for recipient in recipients:
                await client.rcpt(recipient)
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
    """aiosmtplib to ``settings.smtp_host``; ``smtp_tls`` picks how the link is secured."""

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
            username=s.smtp_username,
            password=s.smtp_password,
            use_tls=s.smtp_tls == "tls",
            start_tls=start_tls,
            timeout=s.smtp_timeout,
        )

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[SmtpSession]:
        client = self._client()
        try:
            await client.connect()
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
        temporary = path.with_suffix(".eml.tmp")
        temporary.write_bytes(message.as_bytes())
        os.replace(temporary, path)  # a delivered file is always complete; a retry overwrites
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
