"""What a comparison page shows of its feedback: the meter's rows and the form's token.

No database and no SQLAlchemy here: the feedback service (``app/feedback/service.py``) and
the quick build (``app/commands/quick.py``, which reads the counts itself) build the same
view from the same counts with ``feedback_view``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from app.content.model import Comparison
from app.feedback.tokens import EXPORT_VALID_SECONDS, FormTokens


@dataclass(frozen=True, slots=True)
class Meter:
    """The public disagreement meter: counts only, never a reader's words or address."""

    total: int
    counts: dict[str, int]
    # Notes written before the ``since`` day asked for (the last change of pick): about
    # the previous pick, so left out of ``counts`` and ``total``.
    earlier: int = 0


@dataclass(frozen=True, slots=True)
class MeterRow:
    option: str
    count: int
    percent: int
    is_pick: bool


@dataclass(frozen=True, slots=True)
class FeedbackView:
    """Template values for the feedback section of a comparison page."""

    token: str
    thanks: bool
    total: int
    meter: list[MeterRow] = field(default_factory=list)
    nonce: str = ""  # the page's own; our script replaces it with one per reader
    # The meter counts from the page's last change of pick (None: from the start); the
    # notes written before it were about the previous pick.
    since: date | None = None
    earlier: int = 0
    # False on a page exported without NICEPICK_FEEDBACK_ENDPOINT: nothing could take the
    # post, so the page says so and gives the editors' address instead of the form.
    can_send: bool = True


def meter_since(by_day: dict[tuple[str, int], int], since: date | None) -> Meter:
    """A page's meter from its counts by (reader's pick, day ordinal): with ``since`` (a
    day, UTC), only notes written that day or later are counted; the others are ``earlier``."""
    first = since.toordinal() if since is not None else None
    counts: dict[str, int] = {}
    earlier = 0
    for (pick, day), count in by_day.items():
        if first is not None and day < first:
            earlier += count
        else:
            counts[pick] = counts.get(pick, 0) + count
    return Meter(total=sum(counts.values()), counts=counts, earlier=earlier)


def page_nonce(token: str) -> str:
    """The nonce a page is rendered with: new each render window (with the token), and the
    same on every worker, so the page's bytes and ETag stay shared (see tokens.py)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()[:32]


def meter_rows(comparison: Comparison, meter: Meter) -> list[MeterRow]:
    """One row per current option; notes naming a since-removed option are not shown."""
    total = sum(meter.counts.get(name, 0) for name in comparison.option_names)
    return [
        MeterRow(
            option=name,
            count=meter.counts.get(name, 0),
            percent=round(100 * meter.counts.get(name, 0) / total) if total else 0,
            is_pick=name == comparison.pick,
        )
        for name in comparison.option_names
    ]


def feedback_view(
    comparison: Comparison,
    meter: Meter,
    tokens: FormTokens,
    *,
    thanks: bool,
    now: float,
    exported: bool,
    can_send: bool,
) -> FeedbackView:
    """The page's feedback section: its meter and a form token stamped ``now`` (an exported
    page's is valid ``EXPORT_VALID_SECONDS``)."""
    rows = meter_rows(comparison, meter)
    change = comparison.last_pick_change
    token = tokens.issue(
        comparison.slug,
        page_hash=comparison.content_hash,
        page_updated=comparison.last_modified,
        now=now,
        valid_for=EXPORT_VALID_SECONDS if exported else None,
    )
    return FeedbackView(
        token=token,
        thanks=thanks,
        total=sum(row.count for row in rows),
        meter=rows,
        nonce=page_nonce(token),
        since=change.day if change is not None else None,
        earlier=meter.earlier,
        can_send=can_send,
    )
