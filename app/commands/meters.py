"""Which exported pages show stale counts of readers' notes: the next build's question.

A comparison page shows its disagreement meter (``app/feedback/view.py``), drawn from its
notes' counts by reader's pick and day as the build read them. A note changes no content
file, so nothing the manifest keeps of the content says the page is stale. So the manifest
(``Manifest.meters``) and the quick build's record keep a digest of each visible page's counts
as the build rendered the page with them (``digests``), and the next build, which reads the
counts anyway to render its pages, re-renders the pages whose digest differs (``recounted``)
with their JSON twins, which carry the meter too. No other page shows a count.

A digest of the counts, not of the meter drawn from them: the meter's rows also depend on the
page (its options, its last change of pick), which a content edit re-renders anyway. A note
that changes nothing shown (one naming an option since removed) re-renders the page, whose
bytes are then the same, so no file is written; a digest of the rows would have to follow
``meter_rows`` rule for rule to be right.

Only pages with notes have a digest: an absent slug means no notes, so a site without notes
keeps none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

Counts = dict[str, dict[tuple[str, int], int]]  # slug -> (reader's pick, day) -> notes


def digests(counts: Counts, slugs: Iterable[str]) -> dict[str, str]:
    """The digest of each of ``slugs``' counts (the visible pages), for those with notes."""
    found: dict[str, str] = {}
    for slug in slugs:
        by_day = counts.get(slug)
        if by_day:
            shown = repr(sorted(by_day.items())).encode()
            found[slug] = hashlib.blake2b(shown, digest_size=12).hexdigest()
    return found


def recounted(last: Mapping[str, str], now: Mapping[str, str], visible: Iterable[str]) -> set[str]:
    """The ``visible`` pages whose counts differ from the last build's ``last`` digests (notes
    stored or removed since); ``now``: ``digests`` of the counts read for this build."""
    return {slug for slug in visible if last.get(slug) != now.get(slug)}
