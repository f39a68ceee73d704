"""An option profile's facts as pages show them: rows of label and cells for the comparison's
side-by-side table and the option page, and the profile as JSON for both twins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from app.content.model import Comparison
from app.content.profiles import Profile
from app.pages.base import Text, text

# The facts a profile gives, in table order: (key, row label).
FACT_ROWS = (
    ("kind", "Kind"),
    ("licence", "Licence"),
    ("first_release", "First release"),
    ("latest", "Latest release"),
    ("platforms", "Platforms"),
    ("homepage", "Homepage"),
)


@dataclass(frozen=True, slots=True)
class FactCell:
    """One fact of one option; ``href`` makes it a link (the homepage). Empty: unknown."""

    text: str
    href: str | None = None
    iso: str | None = None  # a date in the text, for <time datetime>


@dataclass(frozen=True, slots=True)
class FactRow:
    label: str
    cells: tuple[FactCell, ...]


@dataclass(frozen=True, slots=True)
class FactsColumn:
    name: str
    slug: str
    is_pick: bool
    profile: Profile | None


@dataclass(frozen=True, slots=True)
class FactsTable:
    """One column per option, one row per fact; only built when some option has a profile."""

    columns: tuple[FactsColumn, ...]
    rows: tuple[FactRow, ...]


def fact_cell(profile: Profile | None, key: str) -> FactCell:
    if profile is None:
        return FactCell("")
    if key == "kind":
        return FactCell(profile.kind.capitalize())
    if key == "licence":
        return FactCell(profile.licence)
    if key == "first_release":
        return FactCell(str(profile.first_release))
    if key == "latest":
        latest = profile.latest
        if latest is None:
            return FactCell("")
        return FactCell(
            f"{latest.version} ({latest.date.strftime('%b %-d, %Y')})", iso=latest.date.isoformat()
        )
    if key == "platforms":
        return FactCell(", ".join(profile.platforms))
    host = urlsplit(profile.homepage).netloc.removeprefix("www.")
    return FactCell(host or profile.homepage, href=profile.homepage)


def fact_rows(profiles: tuple[Profile | None, ...]) -> tuple[FactRow, ...]:
    """A row per fact with a cell per profile (a missing profile gives empty cells)."""
    return tuple(
        FactRow(label, tuple(fact_cell(profile, key) for profile in profiles))
        for key, label in FACT_ROWS
    )


def facts_table(comparison: Comparison, profiles: Mapping[str, Profile]) -> FactsTable | None:
    """The comparison's options side by side, or None when fewer than two have a profile:
    a table with one filled column is a column of dashes beside the profile's own facts."""
    found = tuple(profiles.get(option.slug) for option in comparison.options)
    if sum(profile is not None for profile in found) < 2:
        return None
    columns = tuple(
        FactsColumn(
            name=option.name,
            slug=option.slug,
            is_pick=option.name == comparison.pick,
            profile=profile,
        )
        for option, profile in zip(comparison.options, found, strict=True)
    )
    return FactsTable(columns, fact_rows(found))


# --- as JSON ----------------------------------------------------------------------------------


class ReleaseOut(BaseModel):
    version: str
    date: date


class ProfileOut(BaseModel):
    """An option's profile: the facts told once in ``content/options/<slug>.md``."""

    name: str
    slug: str
    url: str = Field(description="The option's page.")
    homepage: str
    licence: str
    first_release: int = Field(description="Year of the first release.")
    latest: ReleaseOut | None = Field(description="Latest verified release; null if unknown.")
    platforms: list[str]
    kind: str
    description: Text


def profile_out(profile: Profile, site_url: str) -> ProfileOut:
    latest = profile.latest
    return ProfileOut(
        name=profile.name,
        slug=profile.slug,
        url=f"{site_url}/option/{profile.slug}",
        homepage=profile.homepage,
        licence=profile.licence,
        first_release=profile.first_release,
        latest=ReleaseOut(version=latest.version, date=latest.date) if latest else None,
        platforms=list(profile.platforms),
        kind=profile.kind,
        description=text(profile.description),
    )


class FactsColumnOut(BaseModel):
    option: str
    slug: str
    is_pick: bool
    profile: ProfileOut | None = Field(description="Null when the option has no profile.")


def facts_out(table: FactsTable | None, site_url: str) -> list[FactsColumnOut] | None:
    if table is None:
        return None
    return [
        FactsColumnOut(
            option=column.name,
            slug=column.slug,
            is_pick=column.is_pick,
            profile=profile_out(column.profile, site_url) if column.profile else None,
        )
        for column in table.columns
    ]
