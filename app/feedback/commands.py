"""The editors' commands: ``nicepick feedback list|export`` and ``nicepick outbox [--retry]``.

``app.cli`` parses the flags and imports this module only when one of these commands runs.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from datetime import datetime
from typing import TextIO

from app.feedback.mail import page_version, transport_for
from app.feedback.outbox import OutboxSender
from app.feedback.store import NOTE, REQUEST, FeedbackStore, Note
from app.settings import Settings

CSV_FIELDS = [
    "id",
    "created_at",
    "slug",
    "title",
    "our_pick",
    "reader_pick",
    "name",
    "email",
    "message",
    "page_hash",
    "page_updated",
]


# Cells a spreadsheet would read as a formula (OWASP "CSV Injection"): =, +, -, @, tab, CR.
# OWASP's advice is to prefix such a cell with a single quote, which Excel, LibreOffice and
# Google Sheets show as text; https://owasp.org/www-community/attacks/CSV_Injection
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """``value`` as a spreadsheet reads it: text that starts like a formula gets a ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def open_store(settings: Settings) -> FeedbackStore:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = FeedbackStore.from_url(settings.resolved_database_url)
    store.create_schema()
    return store


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def format_note(note: Note) -> str:
    who = " ".join(part for part in (note.name, f"<{note.email}>" if note.email else "") if part)
    if note.is_request:
        reason = "\n".join(f"    {line}" for line in note.message.splitlines())
        head = f"#{note.id}  {_when(note.created_at)}  asks for: {note.title}"
        return f"{head}\n    from {who or 'anonymous'}" + (f"\n{reason}" if reason else "")
    head = (
        f"#{note.id}  {_when(note.created_at)}  {note.slug}  "
        f"picks {note.reader_pick} (ours: {note.our_pick})  page {page_version(note)}"
    )
    body = "\n".join(f"    {line}" for line in note.message.splitlines())
    return f"{head}\n    from {who or 'anonymous'}\n{body}"


def list_notes(
    settings: Settings, *, slug: str | None, as_json: bool, out: TextIO, requests: bool = False
) -> int:
    """Print the readers' notes, or with ``requests`` the comparisons readers asked for."""
    store = open_store(settings)
    try:
        notes = store.notes(slug=slug, kind=REQUEST if requests else NOTE)
    finally:
        store.dispose()
    if as_json:
        json.dump([note.as_dict() for note in notes], out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write("\n\n".join(format_note(note) for note in notes) + ("\n" if notes else ""))
        print(f"{len(notes)} {'request' if requests else 'note'}(s)", file=sys.stderr)
    return 0


def export_csv(settings: Settings, *, path: str, out: TextIO) -> int:
    store = open_store(settings)
    try:
        notes = store.notes()
    finally:
        store.dispose()
    try:
        handle = out if path == "-" else open(path, "w", encoding="utf-8", newline="")
    except OSError as error:
        print(f"nicepick feedback export: cannot write {path}: {error.strerror}", file=sys.stderr)
        return 1
    try:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for note in notes:
            writer.writerow({name: csv_cell(value) for name, value in note.as_dict().items()})
    finally:
        if handle is not out:
            handle.close()
    if path != "-":
        print(f"{len(notes)} note(s) written to {path}", file=sys.stderr)
    return 0


def show_outbox(settings: Settings, *, retry: bool, out: TextIO) -> int:
    """List unsent mail with its last error, failed mail first counted; with ``retry``, send
    everything pending now, including mail the server refused for good."""
    store = open_store(settings)
    try:
        if retry:
            count = store.retry_now()
            out.write(f"retrying {count} message(s) now\n")
            asyncio.run(_send_all(store, settings))
        entries = store.outbox_entries()
        if not entries:
            out.write("outbox empty: every note has been mailed\n")
            return 0
        status = store.outbox_status()
        out.write(f"{status.pending} pending, {status.failed} failed\n")
        for entry in entries:
            if entry.failed_at:
                state = "failed, sent again only by `nicepick outbox --retry`"
            else:
                state = "failing" if entry.last_error else "pending"
            next_try = "" if entry.failed_at else f", next {_when(entry.next_attempt_at)}"
            out.write(
                f"note #{entry.note_id} ({entry.slug}): {state}, {entry.attempts} attempt(s)"
                f"{next_try}\n"
            )
            if entry.claimed_by:
                until = _when(entry.claimed_until)
                out.write(f"    being sent by {entry.claimed_by} until {until}\n")
            if entry.last_error:
                out.write(f"    last error ({_when(entry.last_attempt_at)}): {entry.last_error}\n")
        return 1 if retry else 0
    finally:
        store.dispose()


async def _send_all(store: FeedbackStore, settings: Settings) -> None:
    sender = OutboxSender(store, transport_for(settings), settings)
    await sender.drain()
