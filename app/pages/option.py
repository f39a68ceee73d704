"""Option pages: an option's profile (when it has one), every visible comparison that includes
it marked won or lost, its pros and cons pooled across those comparisons, and the options it
was compared with.

Everything here is computed from the comparisons naming the option (the site keeps them
grouped per content change) and the profiles, never from the whole library.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, Field

from app.content.model import Comparison
from app.content.profiles import Profile
from app.pages.base import (
    ComparisonSummary,
    PageOut,
    Text,
    page_out,
    page_url,
    summary_values,
    text,
    twin_path,
)
from app.pages.facts import FactRow, ProfileOut, fact_rows, profile_out
from app.pages.navigation import OptionPage, Page, option_page, paginate


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the option fared in one comparison: won, or lost to ``winner``."""

    comparison: Comparison
    won: bool
    winner: str

    @property
    def label(self) -> str:
        return "Won" if self.won else f"Lost to {self.winner}"


@dataclass(frozen=True, slots=True)
class PooledNote:
    """A pro or con of the option, with every comparison that says it (newest first)."""

    markdown: str
    sources: tuple[Comparison, ...]


@dataclass(frozen=True, slots=True)
class Alternative:
    """An option this one was compared with, and in how many comparisons."""

    slug: str
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class OptionPageContext:
    TEMPLATE: ClassVar[str] = "option.html"

    option: OptionPage
    page: Page[Comparison]
    outcomes: tuple[Outcome, ...]  # one per comparison on this page, in page order
    profile: Profile | None
    facts: tuple[FactRow, ...]  # one cell each; empty without a profile
    pros: tuple[PooledNote, ...]
    cons: tuple[PooledNote, ...]
    alternatives: tuple[Alternative, ...]  # most often compared first
    base: str
    canonical: str
    json_url: str
    site_url: str

    def as_json(self) -> OptionJson:
        option, site_url = self.option, self.site_url

        def notes(pooled: tuple[PooledNote, ...]) -> list[PooledNoteOut]:
            return [
                PooledNoteOut(
                    text=text(note.markdown, inline=True),
                    sources=[
                        f"{site_url}/compare/{source.slug}#opt-{option.slug}"
                        for source in note.sources
                    ],
                )
                for note in pooled
            ]

        return OptionJson(
            slug=option.slug,
            name=option.name,
            url=self.canonical,
            profile=profile_out(self.profile, site_url) if self.profile else None,
            appearances=len(option.comparisons),
            wins=option.wins,
            win_rate=option.win_rate,
            page=page_out(self.page, site_url, self.base),
            items=[
                OutcomeOut(
                    **summary_values(o.comparison, site_url),
                    won=o.won,
                    outcome=o.label,
                )
                for o in self.outcomes
            ],
            pros=notes(self.pros),
            cons=notes(self.cons),
            alternatives=[
                AlternativeOut(
                    slug=a.slug, name=a.name, url=f"{site_url}/option/{a.slug}", compared=a.count
                )
                for a in self.alternatives
            ],
        )


class OutcomeOut(ComparisonSummary):
    won: bool = Field(description="Whether this comparison picks the option.")
    outcome: str = Field(description='"Won" or "Lost to <the pick>".')


class PooledNoteOut(BaseModel):
    text: Text
    sources: list[str] = Field(description="The option's section in each comparison saying it.")


class AlternativeOut(BaseModel):
    slug: str
    name: str
    url: str
    compared: int = Field(description="Visible comparisons with both options.")


class OptionJson(BaseModel):
    slug: str
    name: str
    url: str
    profile: ProfileOut | None = Field(description="Null when the option has no profile.")
    appearances: int = Field(description="Visible comparisons that include the option.")
    wins: int = Field(description="Of those, how many pick it.")
    win_rate: float
    page: PageOut
    items: list[OutcomeOut]
    pros: list[PooledNoteOut] = Field(description="Pros across every comparison, pooled.")
    cons: list[PooledNoteOut] = Field(description="Cons across every comparison, pooled.")
    alternatives: list[AlternativeOut] = Field(description="Most often compared with first.")


def build(
    slug: str,
    number: int,
    *,
    including: Sequence[Comparison],
    profiles: Mapping[str, Profile],
    site_url: str,
) -> OptionPageContext | None:
    """Page ``number`` of an option among the comparisons naming it; None when it has neither
    a comparison nor a profile, or past the end."""
    profile = profiles.get(slug)
    found = option_page(slug, including)
    if found is None and profile is not None:
        found = OptionPage(slug, profile.name, [], 0)
    page = paginate(found.comparisons, number) if found is not None else None
    if found is None or page is None:
        return None
    if profile is not None and found.name != profile.name:
        found = OptionPage(found.slug, profile.name, found.comparisons, found.wins)
    base = f"/option/{slug}"
    return OptionPageContext(
        option=found,
        page=page,
        outcomes=tuple(outcome(slug, c) for c in page.items),
        profile=profile,
        facts=fact_rows((profile,)) if profile is not None else (),
        pros=pooled(slug, found.comparisons, "pros"),
        cons=pooled(slug, found.comparisons, "cons"),
        alternatives=alternatives(slug, found.comparisons, profiles),
        base=base,
        canonical=page_url(site_url, base, number),
        json_url=page_url("", twin_path(base), number),
        site_url=site_url,
    )


def outcome(slug: str, comparison: Comparison) -> Outcome:
    pick = comparison.pick_option
    return Outcome(comparison, pick.slug == slug, pick.name)


def pooled(slug: str, comparisons: Sequence[Comparison], kind: str) -> tuple[PooledNote, ...]:
    """The option's pros (or cons) from each comparison, the same words said once."""
    notes: dict[str, tuple[str, list[Comparison]]] = {}
    for comparison in comparisons:
        for option in comparison.options:
            if option.slug != slug:
                continue
            for item in option.pros if kind == "pros" else option.cons:
                key = " ".join(item.casefold().split()).strip(" .")
                kept = notes.setdefault(key, (item, []))
                if not kept[1] or kept[1][-1] is not comparison:
                    kept[1].append(comparison)
    return tuple(PooledNote(item, tuple(sources)) for item, sources in notes.values())


def alternatives(
    slug: str, comparisons: Sequence[Comparison], profiles: Mapping[str, Profile]
) -> tuple[Alternative, ...]:
    """The options compared with this one, most often first, then by name."""
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for comparison in comparisons:
        for option in comparison.options:
            if option.slug == slug:
                continue
            counts[option.slug] += 1
            spellings.setdefault(option.slug, Counter())[option.name] += 1

    def name(other: str) -> str:
        profile = profiles.get(other)
        return profile.name if profile else spellings[other].most_common(1)[0][0]

    ranked = sorted(counts, key=lambda other: (-counts[other], name(other).casefold(), other))
    return tuple(Alternative(other, name(other), counts[other]) for other in ranked)
