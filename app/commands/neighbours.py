"""What the last build's JSON twin of a comparison page says of its neighbours.

A comparison page shows its related comparisons and, under each option, the tags another page
carries (the others, "lone", are left out). Both come from the rest of the library; the twin
holds them as the page showed them, so a build can tell whether they moved without the last
build's library. The twin counts only when its bytes are the ones the build wrote (``digests``:
path in OUT -> ``manifest.digest``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.commands.manifest import digest
from app.content.model import Comparison


def twin_neighbours(
    out: Path, digests: Mapping[str, str], comparison: Comparison
) -> tuple[list[str], frozenset[str]] | None:
    """(related slugs, lone tags) of a page as the last build's JSON twin shows them; None when
    the twin is missing, altered since, or unreadable."""
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
        twin: dict[str, Any] = json.loads(data)
        related = [summary["slug"] for summary in twin["related"]]
        shown = {tag for option in twin["options"] for tag in option["related"]}
    except (ValueError, KeyError, TypeError):
        return None
    every = {tag for option in comparison.options for tag in option.related}
    return related, frozenset(every - shown)
