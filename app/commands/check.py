"""``nicepick check``: every problem in a content folder, compiler style, and an exit status.

It loads the folder exactly as the server does (``Library.scan``: the same parser, the same
cross-file rules), so what the terminal reports is what the server would skip.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from app.commands.check_report import fingerprint, load_report, save_report
from app.content.cache import ParseCache
from app.content.library import Library, field_position
from app.content.model import Comparison, Problem, slugify
from app.content.parallel import prime
from app.content.sources import discover, unread_files

Format = Literal["text", "json"]


@dataclass(frozen=True, slots=True)
class Report:
    """What ``check`` found: problems in file and line order, and how many files it read."""

    problems: tuple[Problem, ...]
    files: int

    @property
    def errors(self) -> int:
        return sum(1 for problem in self.problems if problem.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for problem in self.problems if problem.severity == "warning")

    def exit_code(self, *, strict: bool = False) -> int:
        """1 on any error (or, with ``strict``, any warning): usable as a CI gate."""
        return 1 if self.errors or (strict and self.warnings) else 0

    def summary(self) -> str:
        """``2 errors, 1 warning in 14 files``."""
        return (
            f"{_plural(self.errors, 'error')}, {_plural(self.warnings, 'warning')} "
            f"in {_plural(self.files, 'file')}"
        )


def check(
    content_dir: Path,
    cache_dir: Path | None = None,
    *,
    strict: bool = False,
    today: date | None = None,
    jobs: int | None = None,
) -> Report:
    """Load the folder as the server would and collect every problem, sorted for reading.

    ``strict`` adds the warnings only a strict check gives (a page without authors, a tag
    only one page uses); ``today`` refuses ``checked`` and ``accessed`` dates after it.

    With a ``cache_dir``, each file's own parse result is kept there (one parse cache per
    content folder and day, apart from the server's), so a second run re-parses only changed
    files: 100,000 files take minutes to parse and seconds to re-check. The day is part of
    the cache's name because the future-date rules depend on it. When no ``*.md`` under the
    folder changed at all, the last report is reused (``app.commands.check_report``). The
    files to parse are parsed in ``jobs`` processes (default: one per core, for a thousand
    files or more).
    """
    if not content_dir.is_dir():
        message = (
            "is a file: check takes the content folder and checks every file in it"
            if content_dir.exists()
            else "content folder does not exist"
        )
        return Report((Problem(str(content_dir), 1, 1, "error", message),), 0)
    # Taken before anything is read: a file edited during the check changes the next key.
    key = fingerprint(content_dir, today=today, strict=strict) if cache_dir else ""
    stored_at = _check_file(content_dir, cache_dir, today, "report") if cache_dir else None
    if stored_at is not None and (stored := load_report(stored_at, key)) is not None:
        return Report(*stored)
    cache = _check_cache(content_dir, cache_dir, today)
    sources = discover(content_dir)
    if cache is not None:
        prime(cache, sources, today=today, jobs=jobs)
    library = Library.scan(content_dir, cache, sources=sources, today=today)
    problems = list(library.problems) + unread_files(content_dir)
    if strict:
        problems.extend(strict_warnings(list(library.comparisons.values())))
    ordered = sorted(problems, key=lambda p: (p.path, p.line, p.column, p.severity, p.message))
    report = Report(tuple(ordered), len(library.files) + len(library.profile_paths))
    if stored_at is not None:
        save_report(stored_at, key, report.problems, report.files)
    return report


def _check_cache(
    content_dir: Path, cache_dir: Path | None, today: date | None
) -> ParseCache | None:
    """The folder's parse cache for ``today``; the caches of other days are removed."""
    if cache_dir is None:
        return None
    return ParseCache(_check_file(content_dir, cache_dir, today, "cache"))


def _check_file(content_dir: Path, cache_dir: Path, today: date | None, kind: str) -> Path:
    """``check-<kind>-<folder>-<day>.marshal``; the same kind's files of other days removed."""
    folder = hashlib.sha256(str(content_dir.resolve()).encode()).hexdigest()[:16]
    day = today.isoformat() if today else "any-day"
    keep = cache_dir / f"check-{kind}-{folder}-{day}.marshal"
    if cache_dir.is_dir():
        for old in cache_dir.glob(f"check-{kind}-{folder}*.marshal"):
            if old != keep:
                old.unlink(missing_ok=True)
    return keep


def strict_warnings(comparisons: list[Comparison]) -> list[Problem]:
    """What ``--strict`` adds: pages without authors, tags that only one page uses."""
    found: list[Problem] = []
    uses = Counter(slugify(tag) for c in comparisons for tag in dict.fromkeys(c.tags))
    for comparison in comparisons:
        if not comparison.authors:
            found.append(
                Problem(
                    comparison.source,
                    2,
                    1,
                    "warning",
                    'no "authors": name who wrote the page, e.g. authors: [ana-ruiz]',
                )
            )
        for tag in comparison.tags:
            if uses[slugify(tag)] == 1:
                line, column = field_position(comparison, "tags", tag)
                found.append(
                    Problem(
                        comparison.source,
                        line,
                        column,
                        "warning",
                        f'tag "{tag}" is used by this page only: its tag page lists one '
                        "comparison; use a tag other pages share, or drop it",
                    )
                )
    return found


@dataclass(frozen=True, slots=True)
class Stale:
    """A page whose facts were last verified more than the allowed days ago."""

    path: str
    checked: date  # checked, else updated, else published
    age: int  # days


def stale(content_dir: Path, days: int, *, today: date) -> list[Stale]:
    """Every comparison whose ``checked`` (else ``updated``, else ``published``) is older
    than ``days`` days, oldest first."""
    library = Library.scan(content_dir)
    found = [
        Stale(c.source, c.checked_on, (today - c.checked_on).days)
        for c in library.comparisons.values()
        if (today - c.checked_on).days > days
    ]
    return sorted(found, key=lambda s: (-s.age, s.path))


def format_stale(found: list[Stale], days: int) -> str:
    """``path: facts checked 2026-01-15, 318 days ago`` lines and a count."""
    lines = [f"{s.path}: facts checked {s.checked}, {_plural(s.age, 'day')} ago" for s in found]
    lines.append(f"{_plural(len(found), 'page')} not checked in the last {_plural(days, 'day')}")
    return "\n".join(lines)


def format_report(report: Report, fmt: Format = "text") -> str:
    """One ``path:line:col: severity: message`` line per problem then the summary, or JSON."""
    if fmt == "json":
        document = {
            "problems": [asdict(problem) for problem in report.problems],
            "summary": {
                "errors": report.errors,
                "warnings": report.warnings,
                "files": report.files,
            },
        }
        return json.dumps(document, indent=2)
    lines = [str(problem) for problem in report.problems]
    lines.append(report.summary())
    return "\n".join(lines)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
