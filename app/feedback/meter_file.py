"""The meter counts of a few pages, read from the embedded SQLite file with the stdlib driver.

A quick build (``app/commands/quick.py``) renders one or two pages: importing SQLAlchemy
and the feedback service for their counts cost more than the rest of it. This reads the
same rows as ``FeedbackStore.meter_counts`` (the same SQL, run by the same SQLite library)
for the pages asked about, and answers None whenever it cannot be sure to see what the
store would: a URL that is not a plain SQLite file, or any error of the file (missing
table, locked, damaged). The caller then asks the store, which decides as it always has.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date, datetime
from urllib.parse import quote

# As ``FeedbackStore.meter_counts`` groups them (``store.notes``, kind ``store.NOTE``);
# ``tests/test_meter_file.py`` checks both read the same counts.
_QUERY = (
    "SELECT slug, reader_pick, date(created_at), count(*) FROM feedback_notes "
    "WHERE kind = 'note' AND slug IN ({marks}) GROUP BY slug, reader_pick, date(created_at)"
)
_PREFIX = "sqlite:///"
# Slugs per query: SQLite before 3.32 took at most 999 bound values in one statement.
_SLUGS_PER_READ = 900


def plain_sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///PATH`` URL, when SQLAlchemy's ``make_url`` would read the
    same path from it (no escapes, no query, not in memory); else None."""
    if not url.startswith(_PREFIX):
        return None
    path = url[len(_PREFIX) :]
    if not path or path == ":memory:" or any(c in path for c in "%?#"):
        return None
    return path


def read_meters(url: str, slugs: Iterable[str]) -> dict[str, dict[tuple[str, int], int]] | None:
    """Each slug's counts by (reader's pick, day ordinal), as ``meter_counts`` gives them
    (a slug without notes is absent), however many slugs; None when only the store can tell."""
    path = plain_sqlite_path(url)
    if path is None:
        return None
    wanted = sorted(set(slugs))
    try:
        # Read-only: a reader must never create the file or turn on WAL where the store would.
        connection = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    rows: list[tuple[str, str, str, int]] = []
    try:
        for start in range(0, max(len(wanted), 1), _SLUGS_PER_READ):
            part = wanted[start : start + _SLUGS_PER_READ]
            query = _QUERY.format(marks=",".join("?" * len(part)))
            rows += connection.execute(query, part).fetchall()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    counts: dict[str, dict[tuple[str, int], int]] = {}
    for slug, pick, written, count in rows:
        counts.setdefault(slug, {})[(pick, _day(written).toordinal())] = int(count)
    return counts


def _day(value: object) -> date:
    """As ``store._day``: SQLite's ``date()`` answers ISO text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
