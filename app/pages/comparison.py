"""The comparison page: one comparison, its related pages, its feedback form and meter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from markupsafe import Markup
from pydantic import BaseModel, Field

from app.content.model import Author, Comparison, PickChange, UseCase
from app.content.profiles import Profile
from app.pages.base import (
    ComparisonFacts,
    ComparisonSummary,
    Text,
    facts_values,
    summary,
    text,
    twin_path,
)
from app.pages.facts import FactsColumnOut, FactsTable, facts_out, facts_table
from app.pages.glance import BestFor, SideBySide, best_for, reason, split_table
from app.pages.json_ld import comparison_json_ld, script_json

if TYPE_CHECKING:  # types only: the page takes the feedback view as a value
    from app.feedback.form import FeedbackForm
    from app.feedback.view import FeedbackView


@dataclass(frozen=True, slots=True)
class ComparisonPage:
    TEMPLATE: ClassVar[str] = "compare.html"

    comparison: Comparison
    pick: str
    use_cases: tuple[UseCase, ...]  # in option order, options without one left out
    reason: str  # inline Markdown: why the pick wins, shown at a glance
    best_for: tuple[BestFor, ...]
    side_by_side: SideBySide | None  # the verdict's table, shown above the option cards
    verdict_rest: str  # the verdict's Markdown without that table
    lone_tags: frozenset[str]  # option "Related" tags whose tag page lists only this page
    related: tuple[Comparison, ...]
    canonical: str
    json_url: str
    og_image: str
    json_ld: Markup
    site_url: str
    # The page's writers, as found in content/authors/ (an unknown slug is a check error).
    authors: tuple[Author, ...] = ()
    # The page's latest change of pick ("Our pick changed from A to B on <date>"), if any.
    pick_change: PickChange | None = None
    # The form's token and the disagreement meter; None where no feedback service runs.
    feedback: FeedbackView | None = None
    # What a reader typed, with its errors, on a re-rendered form (never cached).
    feedback_form: FeedbackForm | None = None
    # The reader's own idempotency nonce on a re-rendered form, so a resend is the same sending.
    feedback_nonce: str | None = None
    # The options' profiles side by side (templates/_facts.html); None when none has one.
    facts: FactsTable | None = None

    def as_json(self) -> ComparisonDetail:
        return comparison_json(self)


def build(
    comparison: Comparison,
    *,
    related: tuple[Comparison, ...],
    feedback: FeedbackView | None,
    site_url: str,
    site_name: str,
    profiles: Mapping[str, Profile] | None = None,
    authors: Mapping[str, Author] | None = None,
    lone_tags: frozenset[str] = frozenset(),
) -> ComparisonPage:
    """``lone_tags``: the option tags no other visible comparison carries (their pills are
    left out: a tag page listing only this page leads nowhere)."""
    profiles = profiles or {}
    by_option = {case.option: case for case in comparison.use_cases}
    path = f"/compare/{comparison.slug}"
    known = authors or {}
    writers = tuple(known[slug] for slug in comparison.authors if slug in known)
    json_ld = comparison_json_ld(
        comparison,
        site_url=site_url,
        site_name=site_name,
        profiles=profiles,
        authors=writers,
    )
    table, verdict_rest = split_table(comparison.verdict, comparison.pick)
    return ComparisonPage(
        comparison=comparison,
        pick=comparison.pick,
        use_cases=tuple(by_option[o.name] for o in comparison.options if o.name in by_option),
        reason=reason(comparison),
        best_for=best_for(comparison),
        side_by_side=table,
        verdict_rest=verdict_rest,
        lone_tags=lone_tags,
        related=related,
        canonical=f"{site_url}{path}",
        json_url=twin_path(path),
        og_image=f"{site_url}/og/{comparison.slug}.png",
        json_ld=script_json(json_ld),
        site_url=site_url,
        authors=writers,
        pick_change=comparison.last_pick_change,
        feedback=feedback,
        facts=facts_table(comparison, profiles),
    )


# --- as JSON ----------------------------------------------------------------------------------


class OptionOut(BaseModel):
    name: str
    slug: str
    is_pick: bool
    tested: str | None = Field(description="Version the facts were checked against, if given.")
    url: str = Field(description="Page of every comparison with this option.")
    description: Text
    pros: list[Text]
    cons: list[Text]
    related: list[str] = Field(description="Tag slugs the option links to.")


class BestForOut(BaseModel):
    option: str
    is_pick: bool
    text: Text = Field(description='First sentence of the "Use <option> if" verdict.')
    continues: bool = Field(
        description='True when the text reads on from "<option> if" ("you run ..."); false '
        "for a sentence of its own."
    )


class CellOut(BaseModel):
    text: Text
    mark: str | None = Field(description='"yes" or "no" when the cell says just that.')


class SideBySideOut(BaseModel):
    """The verdict's table: one column per option, one row per criterion."""

    columns: list[str] = Field(description="Column labels after the row-label column.")
    pick_column: int | None = Field(description="0-based index of the pick's column.")
    rows: list[list[CellOut]] = Field(description="Each row: its label, then one cell a column.")


class UseCaseOut(BaseModel):
    option: str
    body: Text


class VersionOut(BaseModel):
    """The page version a reader's note records."""

    hash: str = Field(description="Hash of the comparison's source file.")
    updated: date = Field(description="Last update, or the publication day.")


class MeterRowOut(BaseModel):
    option: str
    count: int
    percent: int
    is_pick: bool


class MeterOut(BaseModel):
    """The public disagreement meter: which option readers would pick, counts only."""

    total: int
    rows: list[MeterRowOut]
    since: date | None = Field(
        description="Counted from this day, the last change of pick; null: from the start."
    )
    earlier: int = Field(description="Notes written before `since`, about the previous pick.")


class AuthorOut(BaseModel):
    slug: str
    name: str
    role: str
    url: str = Field(description="The author's page on this site.")
    homepage: str | None = Field(description="The author's own site, if given.")


class SourceOut(BaseModel):
    number: int = Field(description="What `[^n]` in the text refers to; anchor `#source-n`.")
    title: str
    url: str
    accessed: date


class ChangeOut(BaseModel):
    date: date
    note: Text
    pick: str | None = Field(description="The pick changed to this option on this day.")


class PickChangeOut(BaseModel):
    date: date
    pick: str
    previous: str | None = Field(description="The pick before; null when the log does not say.")


class ComparisonDetail(ComparisonFacts):
    """Everything the comparison page shows, as data."""

    reason: Text = Field(
        description="Why the pick wins in one line: `why`, else the Bottom line's first sentence."
    )
    best_for: list[BestForOut]
    side_by_side: SideBySideOut | None = Field(description="Null when the verdict has no table.")
    intro: Text
    options: list[OptionOut]
    verdict: Text
    use_cases: list[UseCaseOut]
    bottom_line: Text
    version: VersionOut
    meter: MeterOut | None = Field(description="Null where the site takes no notes.")
    related: list[ComparisonSummary]
    facts: list[FactsColumnOut] | None = Field(
        description="The options' profiles side by side, in option order; null when fewer "
        "than two options have a profile."
    )
    authors: list[AuthorOut]
    tested: dict[str, str] = Field(description="Option name -> version the facts were checked on.")
    sources: list[SourceOut]
    changes: list[ChangeOut] = Field(description="The change log, newest first.")
    pick_change: PickChangeOut | None = Field(description="The last change of pick, if any.")


def comparison_json(page: ComparisonPage) -> ComparisonDetail:
    comparison, site_url = page.comparison, page.site_url
    meter = None
    if page.feedback is not None:
        rows = [
            MeterRowOut(option=r.option, count=r.count, percent=r.percent, is_pick=r.is_pick)
            for r in page.feedback.meter
        ]
        meter = MeterOut(
            total=page.feedback.total,
            rows=rows,
            since=page.feedback.since,
            earlier=page.feedback.earlier,
        )
    options = [
        OptionOut(
            name=option.name,
            slug=option.slug,
            is_pick=option.name == comparison.pick,
            tested=comparison.tested_version(option.name),
            url=f"{site_url}/option/{option.slug}",
            description=text(option.description),
            pros=[text(item, inline=True) for item in option.pros],
            cons=[text(item, inline=True) for item in option.cons],
            related=[tag for tag in option.related if tag not in page.lone_tags],
        )
        for option in comparison.options
    ]
    side_by_side = None
    if page.side_by_side is not None:
        table = page.side_by_side
        picks = [i for i, column in enumerate(table.columns) if column.is_pick]
        side_by_side = SideBySideOut(
            columns=[column.label for column in table.columns],
            pick_column=picks[0] if picks else None,
            rows=[
                [CellOut(text=text(c.text, inline=True), mark=c.mark) for c in (label, *cells)]
                for label, cells in table.rows
            ],
        )
    return ComparisonDetail(
        **facts_values(comparison, site_url),
        reason=text(page.reason, inline=True),
        best_for=[
            BestForOut(
                option=b.option,
                is_pick=b.is_pick,
                text=text(b.text, inline=True),
                continues=b.continues,
            )
            for b in page.best_for
        ],
        side_by_side=side_by_side,
        intro=text(comparison.intro),
        options=options,
        verdict=text(comparison.verdict),
        use_cases=[UseCaseOut(option=c.option, body=text(c.body)) for c in page.use_cases],
        bottom_line=text(comparison.bottom_line),
        version=VersionOut(hash=comparison.content_hash, updated=comparison.last_modified),
        meter=meter,
        related=[summary(other, site_url) for other in page.related],
        facts=facts_out(page.facts, site_url),
        authors=[author_out(author, site_url) for author in page.authors],
        tested=dict(comparison.tested),
        sources=[
            SourceOut(number=n, title=s.title, url=s.url, accessed=s.accessed)
            for n, s in enumerate(comparison.sources, start=1)
        ],
        changes=[
            ChangeOut(date=c.day, note=text(c.note, inline=True), pick=c.pick)
            for c in comparison.changes
        ],
        pick_change=(
            None
            if page.pick_change is None
            else PickChangeOut(
                date=page.pick_change.day,
                pick=page.pick_change.pick,
                previous=page.pick_change.previous,
            )
        ),
    )


def author_out(author: Author, site_url: str) -> AuthorOut:
    return AuthorOut(
        slug=author.slug,
        name=author.name,
        role=author.role,
        url=f"{site_url}/author/{author.slug}",
        homepage=author.url,
    )
