"""The editors' mail for a note, and the transports that deliver it (SMTP or .eml files).

Headers take nothing a reader typed except a Reply-To address that passed strict validation;
the title comes from our own content and is still stripped of line breaks. The Message-ID
depends on the note alone, so a retried or repeated delivery is recognisably the same mail.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import aiosmtplib

from app.atomic import write_atomic
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


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    """aiosmtplib to ``settings.smtp_host``; ``smtp_tls`` picks how the link is secured."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        # auto: STARTTLS when the server offers it (aiosmtplib's start_tls=None).
        start_tls = {"auto": None, "starttls": True, "tls": False, "none": False}[s.smtp_tls]
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            use_tls=s.smtp_tls == "tls",
            start_tls=start_tls,
            timeout=s.smtp_timeout,
        )


class FileTransport:
    """Writes each message to ``data_dir/mail/`` as an .eml file, so no mail server is needed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _write(self, message: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = str(message["X-Nicepick-Note"] or make_msgid().strip("<>"))
        path = self.folder / f"note-{name}.eml"
        # A delivered file is always complete, a retry overwrites, a failure leaves no .tmp.
        write_atomic(path, message.as_bytes())
        return path

    async def send(self, message: EmailMessage) -> None:
        path = await asyncio.to_thread(self._write, message)
        log.info("mail for %s written to %s", message["To"], path)


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_enabled:
        return SmtpTransport(settings)
    return FileTransport(settings.data_dir / "mail")
