"""``nicepick check``: every problem in a content folder, compiler style, and an exit status.

It loads the folder exactly as the server does (``Library.scan``: the same parser, the same
cross-file rules), so what the terminal reports is what the server would skip.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from app.content.cache import ParseCache
from app.content.library import Library
from app.content.model import Problem

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


def check(content_dir: Path, cache_dir: Path | None = None) -> Report:
    """Load the folder as the server would and collect every problem, sorted for reading.

    With a ``cache_dir``, each file's own parse result is kept there (one parse cache per
    content folder, apart from the server's), so a second run re-parses only changed files:
    100,000 files take minutes to parse and seconds to re-check (issue 18).
    """
    if not content_dir.is_dir():
        missing = Problem(str(content_dir), 1, 1, "error", "content folder does not exist")
        return Report((missing,), 0)
    cache = None
    if cache_dir is not None:
        folder = hashlib.sha256(str(content_dir.resolve()).encode()).hexdigest()[:16]
        cache = ParseCache(cache_dir / f"check-cache-{folder}.marshal")
    library = Library.scan(content_dir, cache)
    ordered = sorted(
        library.problems, key=lambda p: (p.path, p.line, p.column, p.severity, p.message)
    )
    return Report(tuple(ordered), len(library.files))


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
