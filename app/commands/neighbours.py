"""What the last build's JSON twin of a comparison page says of its neighbours and names.

A comparison page shows its related comparisons and, under each option, the tags another page
carries (the others, "lone", are left out). Both come from the rest of the library; the twin
holds them as the page showed them, so a build can tell whether they moved without the last
build's library. The twin also holds the page's category, tags and option names as spelled,
which its listings' headings and /tags may show. The twin counts only when its bytes are the
ones the build wrote (``digests``: path in OUT -> ``manifest.digest``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.commands.manifest import digest
from app.content.model import Comparison

Names = tuple[str, tuple[str, ...], tuple[str, ...]]  # category, tags, option names


def _twin(out: Path, digests: Mapping[str, str], comparison: Comparison) -> dict[str, Any] | None:
    """The last build's JSON twin of the page; None when missing, altered since or not JSON."""
    name = f"compare/{comparison.slug}.json"
    known = digests.get(name)
    if known is None:
        return None
    try:
        data = (out / name).read_bytes()
    except OSError:
        return None
    if digest(data) != known:
        return None
    try:
        twin = json.loads(data)
    except ValueError:
        return None
    return twin if isinstance(twin, dict) else None


def twin_neighbours(
    out: Path, digests: Mapping[str, str], comparison: Comparison
) -> tuple[list[str], frozenset[str]] | None:
    """(related slugs, lone tags) of a page as the last build's JSON twin shows them; None when
    the twin is missing, altered since, or unreadable."""
    twin = _twin(out, digests, comparison)
    if twin is None:
        return None
    try:
        related = [summary["slug"] for summary in twin["related"]]
        shown = {tag for option in twin["options"] for tag in option["related"]}
    except (KeyError, TypeError):
        return None
    every = {tag for option in comparison.options for tag in option.related}
    return related, frozenset(every - shown)


def names(comparison: Comparison) -> Names:
    """The page's category, tags and option names as spelled (slugs may stay when these
    change, and listings and /tags show the newest page's spelling)."""
    return (
        comparison.category,
        tuple(comparison.tags),
        tuple(option.name for option in comparison.options),
    )


def twin_names(out: Path, digests: Mapping[str, str], comparison: Comparison) -> Names | None:
    """``names`` as the last build's JSON twin shows them; None when it cannot tell."""
    twin = _twin(out, digests, comparison)
    if twin is None:
        return None
    try:
        category = twin["category"]
        tags = tuple(twin["tags"])
        options = tuple(option["name"] for option in twin["options"])
    except (KeyError, TypeError):
        return None
    return category, tags, options
