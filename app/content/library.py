"""The loaded library: read every file first, then index by slug, pair, category, tag and option.

A file that breaks the contract is skipped with a logged ``path:line:col: message`` and the
rest of the site keeps serving. Cross-file rules (duplicate slugs, the same pair twice, links
to missing pages) live here because one file alone cannot know them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from app.content.model import Comparison, Problem, pair_key, slugify
from app.content.parse import parse_text

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    display: str  # path as editors see it in messages
    slug: str


def discover(content_dir: Path) -> list[SourceFile]:
    """Every ``*.md`` comparison under the folder (subfolders too), README files excepted."""
    root = content_dir
    files = []
    for path in sorted(root.rglob("*.md")):
        if path.name.lower() == "readme.md" or any(p.startswith(".") for p in path.parts):
            continue
        display = str(path) if not path.is_absolute() else str(path)
        files.append(SourceFile(path, display, path.stem))
    return files


@dataclass
class Library:
    """Comparisons by slug plus the indexes the pages need; rebuilt whole or per file."""

    comparisons: dict[str, Comparison] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    by_pair: dict[tuple[str, ...], str] = field(default_factory=dict)
    by_alias: dict[str, str] = field(default_factory=dict)
    version: int = 0  # bumps on every change; caches key on it

    # --- loading ----------------------------------------------------------------------------

    @classmethod
    def load(cls, content_dir: Path) -> Library:
        """Parse every file, then apply the cross-file rules and build the indexes."""
        parsed: list[Comparison] = []
        problems: list[Problem] = []
        files = discover(content_dir)
        for source in files:
            comparison, found = _parse_file(source)
            problems.extend(found)
            if comparison is not None:
                parsed.append(comparison)
        library = cls()
        library._index(parsed, problems)
        for problem in library.problems:
            level = logging.ERROR if problem.severity == "error" else logging.DEBUG
            log.log(level, "%s", problem)
        skipped = sum(1 for p in library.problems if p.severity == "error")
        log.info(
            "loaded %d comparisons from %s (%d problems)",
            len(library.comparisons),
            content_dir,
            skipped,
        )
        return library

    def _index(self, parsed: Iterable[Comparison], problems: list[Problem]) -> None:
        comparisons: dict[str, Comparison] = {}
        by_pair: dict[tuple[str, ...], str] = {}
        for comparison in parsed:
            if comparison.slug in comparisons:
                first = comparisons[comparison.slug]
                problems.append(
                    Problem(
                        comparison.source,
                        1,
                        1,
                        "error",
                        f'duplicate slug "{comparison.slug}": {first.source} already uses it',
                    )
                )
                continue
            if comparison.pair_key in by_pair:
                first = comparisons[by_pair[comparison.pair_key]]
                problems.append(
                    Problem(
                        comparison.source,
                        1,
                        1,
                        "error",
                        f"{first.source} already compares the same options "
                        f"({', '.join(first.option_names)})",
                    )
                )
                continue
            comparisons[comparison.slug] = comparison
            by_pair[comparison.pair_key] = comparison.slug
        by_alias: dict[str, str] = {}
        for comparison in comparisons.values():
            for alias in comparison.aliases:
                if alias in comparisons or alias in by_alias:
                    problems.append(
                        Problem(
                            comparison.source,
                            1,
                            1,
                            "error",
                            f'alias "{alias}" is already a page or another alias',
                        )
                    )
                    continue
                by_alias[alias] = comparison.slug
        for comparison in comparisons.values():
            for line, target in comparison.links:
                if target not in comparisons and target not in by_alias:
                    problems.append(
                        Problem(
                            comparison.source,
                            line,
                            1,
                            "error",
                            f"link to /compare/{target}, which does not exist",
                        )
                    )
        self.comparisons = comparisons
        self.by_pair = by_pair
        self.by_alias = by_alias
        self.problems = problems
        self.version += 1

    # --- lookups ----------------------------------------------------------------------------

    def resolve(self, slug: str) -> tuple[Comparison | None, str | None]:
        """Find a page by slug; else the canonical slug to redirect to (alias or other order)."""
        comparison = self.comparisons.get(slug)
        if comparison is not None:
            return comparison, None
        if slug in self.by_alias:
            return None, self.by_alias[slug]
        canonical = self.by_pair.get(pair_key(slug.split("-vs-")))
        return None, canonical

    def visible(self, now: datetime | None = None, *, drafts: bool = False) -> list[Comparison]:
        """Comparisons readers may see, newest first."""
        moment = now or datetime.now(UTC)
        shown = [
            c
            for c in self.comparisons.values()
            if c.is_public(moment) or (drafts and (c.draft or c.published_at > moment))
        ]
        return sorted(shown, key=lambda c: (c.published, c.slug), reverse=True)

    @staticmethod
    def group(comparisons: Iterable[Comparison], key: str) -> dict[str, list[Comparison]]:
        """Group by ``category`` or by each ``tag``/``option`` slug, keeping the given order."""
        groups: dict[str, list[Comparison]] = defaultdict(list)
        for comparison in comparisons:
            if key == "category":
                groups[comparison.category_slug].append(comparison)
            elif key == "tag":
                for tag in comparison.tag_slugs:
                    groups[tag].append(comparison)
            elif key == "option":
                for option in comparison.options:
                    groups[option.slug].append(comparison)
        return dict(groups)


def _parse_file(source: SourceFile) -> tuple[Comparison | None, list[Problem]]:
    try:
        text = source.path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(source.display, 1, 1, "error", f"not UTF-8 text: {exc.reason}")]
    except OSError as exc:
        return None, [Problem(source.display, 1, 1, "error", f"cannot read: {exc.strerror}")]
    return parse_text(text, path=source.display, slug=slugify(source.slug) or source.slug)


def category_name(comparisons: Iterable[Comparison], category_slug: str) -> str | None:
    return next((c.category for c in comparisons if c.category_slug == category_slug), None)
