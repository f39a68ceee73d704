"""Option profiles: ``content/options/<slug>.md``, the facts about one option told once.

A profile's front matter holds the facts a comparison's facts table and the option's own page
show (homepage, licence, first release, latest release, platforms, kind); its body describes
the option. Every problem is reported like a comparison's, ``path:line:col: message``, with
the same YAML reading (``app.content.parse``). Cross-file rules live here too: a comparison
that tested a newer version than the profile's latest release, and an option spelt otherwise
than its profile, are reported against the file that has to change.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from app.content.front_matter import Loader, read_front_matter
from app.content.model import Comparison, Problem, slugify
from app.content.parse import _check_markdown_bounds, _control_character
from app.content.problems import Collector, shorten
from app.content.reading import NotContent, read_content, read_content_text
from app.content.sources import in_top_folder

PROFILE_FOLDER = "options"
KINDS = ("tool", "library", "service", "technique", "concept", "protocol", "format")
REQUIRED_FIELDS = ("name", "homepage", "licence", "first_release", "platforms", "kind")
KNOWN_FIELDS = (*REQUIRED_FIELDS, "latest")
LATEST_FIELDS = ("version", "date")
# Years a first release may name: before 1950 no software was released; the upper bound keeps
# a typo (20024) out without making the parse depend on today's date (results are cached).
FIRST_YEAR, LAST_YEAR = 1950, 2100
# The host (group 1) must hold a dot that neither starts nor ends it: checked in Python, as
# "[^\s/?#]+\.[^\s/?#]+" backtracked cubically (26 s for "https://" + 16,000 "a." + " x").
_HTTP_URL = re.compile(r"^https?://([^\s/?#]++)(?:[/?#]\S*+)?$", re.IGNORECASE)
_RELEASE = re.compile(r"\d+(?:\.\d+)*")


def _is_http_url(text: str) -> bool:
    """An http(s) address whose host has a dot inside it (``https://www.vim.org/``)."""
    found = _HTTP_URL.match(text)
    return found is not None and "." in found.group(1)[1:-1]


@dataclass(frozen=True, slots=True)
class Release:
    """A verified release: its version text as the project writes it, and its date."""

    version: str
    date: date


@dataclass(frozen=True, slots=True)
class Profile:
    slug: str
    source: str  # path as given to the parser, for messages
    name: str
    homepage: str
    licence: str
    first_release: int
    platforms: tuple[str, ...]
    kind: str
    description: str  # Markdown
    latest: Release | None = None
    # (line, column) of a few values, so cross-file problems point at the line to change
    positions: tuple[tuple[str, int, int], ...] = ()

    def position(self, key: str) -> tuple[int, int]:
        return next(((line, col) for k, line, col in self.positions if k == key), (1, 1))


def is_profile_file(path: Path, content_dir: Path) -> bool:
    """``content/options/<name>.md``: a profile (a README there is the folder's own note)."""
    return in_top_folder(path, content_dir, (PROFILE_FOLDER,))


def profile_files(content_dir: Path) -> list[Path]:
    """Every profile file, in name order; none when the folder has no ``options/``."""
    folder = content_dir / PROFILE_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and is_profile_file(p, content_dir))


def load_profiles(
    paths: Iterable[Path], display: Callable[[Path], str] = str
) -> tuple[dict[str, Profile], list[Problem]]:
    """Parse each profile file; profiles by slug, and every problem found."""
    profiles: dict[str, Profile] = {}
    problems: list[Problem] = []
    for path in paths:
        profile, found = parse_profile_file(path, display(path))
        problems.extend(found)
        if profile is not None:
            profiles[profile.slug] = profile
    return profiles, problems


def parse_profile_file(path: Path, shown: str) -> tuple[Profile | None, list[Problem]]:
    try:
        text = read_content(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(shown, 1, 1, "error", f"not UTF-8 text: {exc.reason}")]
    except NotContent as exc:
        return None, [Problem(shown, 1, 1, "error", str(exc.strerror))]
    except OSError as exc:
        return None, [Problem(shown, 1, 1, "error", f"cannot read: {exc.strerror}")]
    return parse_profile(text, path=shown, slug=path.stem)


def parse_profile(text: str, *, path: str, slug: str) -> tuple[Profile | None, list[Problem]]:
    """Parse a profile's text; the profile (None on any error) and every problem found."""
    problems = Collector(path)
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        problems.add(1, 1, "file must start with a '---' line opening the YAML front matter")
        return None, problems.problems
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        problems.add(1, 1, "front matter is not closed: add a '---' line after it")
        return None, problems.problems
    source = "\n".join(lines[1:end])
    meta, marks = read_front_matter(source, problems)
    if meta is None:
        return None, problems.problems
    body = lines[end + 1 :]
    _check_markdown_bounds(body, end + 2, [], problems)
    description = "\n".join(body).strip()
    if not description:
        problems.add(end + 1, 1, "profile has no description: say what the option is", "warning")
    fields = _check_fields(meta, marks, _nested_marks(source), problems, slug=slug)
    if fields is None or problems.has_errors:
        return None, problems.problems
    kept = ("name", "latest", "latest.version", "latest.date")
    positions = tuple((key, *marks[key]) for key in kept if key in marks)
    return Profile(
        slug=fields["slug"],
        source=path,
        name=fields["name"],
        homepage=fields["homepage"],
        licence=fields["licence"],
        first_release=fields["first_release"],
        platforms=tuple(fields["platforms"]),
        kind=fields["kind"],
        description=description,
        latest=fields.get("latest"),
        positions=positions,
    ), problems.problems


def _nested_marks(source: str) -> dict[str, tuple[int, int]]:
    """(line, column) of each key and value under ``latest:``, as ``latest.<key>`` and
    ``key:latest.<key>``; the front matter already loaded once, so it composes cleanly."""
    marks: dict[str, tuple[int, int]] = {}
    node = yaml.compose(source, Loader=Loader)
    if not isinstance(node, yaml.MappingNode):
        return marks
    for key_node, value_node in node.value:
        if key_node.value != "latest" or not isinstance(value_node, yaml.MappingNode):
            continue
        for inner_key, inner_value in value_node.value:
            name = f"latest.{inner_key.value}"
            marks[name] = (inner_value.start_mark.line + 2, inner_value.start_mark.column + 1)
            marks["key:" + name] = (inner_key.start_mark.line + 2, inner_key.start_mark.column + 1)
    return marks


def _did_you_mean(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _check_fields(
    meta: dict[str, Any],
    marks: dict[str, tuple[int, int]],
    nested: dict[str, tuple[int, int]],
    problems: Collector,
    *,
    slug: str,
) -> dict[str, Any] | None:
    """Validate names, types and values; clean values, or None when any is unusable."""
    marks.update(nested)
    start = len(problems.problems)

    def where(key: str) -> tuple[int, int]:
        return marks.get(key, (2, 1))

    suggested: set[str] = set()
    for key in meta:
        if key not in KNOWN_FIELDS:
            hint = _did_you_mean(key, KNOWN_FIELDS)
            problems.add(*where("key:" + key), f'unknown field "{shorten(key)}"{hint}')
            suggested.update(difflib.get_close_matches(key, KNOWN_FIELDS, n=1, cutoff=0.6))
    for key in REQUIRED_FIELDS:
        value = meta.get(key)
        if key in meta and (value is None or value == "" or value == []):
            problems.add(*where("key:" + key), f'required field "{key}" is empty')
        elif key not in meta and key not in suggested:
            problems.add(2, 1, f'missing required field "{key}"')

    clean: dict[str, Any] = {}
    for key in ("name", "homepage", "licence"):
        value = meta.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            problems.add(*where(key), f'"{key}" must be text')
        elif (bad := _control_character(value, key)) is not None:
            problems.add(*where(key), f'"{key}" contains {bad}: write it on one line')
        else:
            clean[key] = value.strip()
    name = clean.get("name")
    if name is not None:
        if not slugify(name):
            problems.add(
                *where("name"),
                f'"name" "{shorten(name)}" gives no URL: add Latin letters or digits',
            )
        elif slugify(name) != slug:
            problems.add(
                *where("name"),
                f'file name "{slug}.md" does not match the name "{shorten(name)}": '
                f"rename the file to {slugify(name)}.md",
            )
        clean["slug"] = slugify(name)
    homepage = clean.get("homepage")
    if homepage is not None and not _is_http_url(homepage):
        problems.add(
            *where("homepage"),
            f'"homepage" must be an http(s) address like https://example.org/, '
            f'not "{shorten(homepage)}"',
        )

    first = meta.get("first_release")
    if first is not None and first != "":
        if isinstance(first, bool) or not isinstance(first, int):
            problems.add(
                *where("first_release"),
                f'"first_release" must be a year like 1996, not "{shorten(first)}"',
            )
        elif not FIRST_YEAR <= first <= LAST_YEAR:
            problems.add(
                *where("first_release"),
                f'"first_release" {first} is not a year between {FIRST_YEAR} and {LAST_YEAR}',
            )
        else:
            clean["first_release"] = first

    platforms = meta.get("platforms")
    if platforms is not None and platforms != []:
        if not isinstance(platforms, list) or not all(
            isinstance(item, str) and item.strip() for item in platforms
        ):
            problems.add(*where("platforms"), '"platforms" must be a list of names, e.g. [Linux]')
        else:
            for index, item in enumerate(platforms):
                if (bad := _control_character(item, "platforms")) is not None:
                    problems.add(
                        *marks.get(f"platforms[{index}]", where("platforms")),
                        f'"platforms" contains {bad}: write each name on one line',
                    )
            clean["platforms"] = [item.strip() for item in platforms]

    kind = meta.get("kind")
    if kind is not None and kind != "":
        if not isinstance(kind, str) or kind not in KINDS:
            hint = _did_you_mean(str(kind), KINDS)
            problems.add(
                *where("kind"),
                f'unknown kind "{shorten(kind)}"{hint}: one of {", ".join(KINDS)}',
            )
        else:
            clean["kind"] = kind

    if "latest" in meta:
        latest = _check_latest(meta["latest"], where, problems)
        if latest is not None:
            clean["latest"] = latest
            first_year = clean.get("first_release")
            if first_year is not None and latest.date.year < first_year:
                problems.add(
                    *where("latest.date"),
                    f'"latest.date" ({latest.date}) is before "first_release" ({first_year})',
                )
    if any(p.severity == "error" for p in problems.problems[start:]):
        return None
    return clean


def _check_latest(
    value: object, where: Callable[[str], tuple[int, int]], problems: Collector
) -> Release | None:
    """``latest: {version: "18.1", date: 2025-11-13}``, both keys required."""
    if not isinstance(value, dict):
        problems.add(
            *where("latest"),
            '"latest" must hold "version" and "date" on indented lines below it',
        )
        return None
    ok = True
    suggested: set[str] = set()
    for key in value:
        if key not in LATEST_FIELDS:
            hint = _did_you_mean(str(key), LATEST_FIELDS)
            problems.add(
                *where(f"key:latest.{key}"), f'unknown field "latest.{shorten(key)}"{hint}'
            )
            suggested.update(difflib.get_close_matches(str(key), LATEST_FIELDS, n=1))
            ok = False
    for key in LATEST_FIELDS:
        if value.get(key) in (None, "") and key not in suggested:
            problems.add(*where("key:latest"), f'"latest" needs a "{key}"')
            ok = False
    version, released = value.get("version"), value.get("date")
    if isinstance(version, int | float) and not isinstance(version, bool):
        # Unquoted, 18.10 reads as the number 18.1: the version must stay the text written.
        problems.add(
            *where("latest.version"),
            f'"latest.version" must be text in quotes (unquoted, it reads as the number '
            f'{version}), e.g. version: "18.10"',
        )
        ok = False
    elif version not in (None, "") and not isinstance(version, str):
        problems.add(*where("latest.version"), '"latest.version" must be text in quotes')
        ok = False
    elif isinstance(version, str) and (bad := _control_character(version, "version")):
        problems.add(*where("latest.version"), f'"latest.version" contains {bad}')
        ok = False
    if isinstance(released, datetime):
        released = released.date()
    if released not in (None, "") and not isinstance(released, date):
        problems.add(
            *where("latest.date"),
            f'"latest.date" must be a date like 2025-11-13, not "{shorten(released)}"',
        )
        ok = False
    if not ok or not isinstance(version, str) or not isinstance(released, date):
        return None
    return Release(version.strip(), released)


# --- profiles against comparisons ---------------------------------------------------------


def release_key(version: str) -> tuple[int, ...] | None:
    """The numeric release of a version text (``"17.2"`` -> (17, 2), ``"v4.2.0-rc1"`` ->
    (4, 2, 0)), trailing zeros dropped so 4.2 equals 4.2.0; None when it has no number."""
    found = _RELEASE.search(version)
    if found is None:
        return None
    parts = [int(part) for part in found.group().split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def tested_versions(comparison: Comparison) -> dict[str, str]:
    """The comparison's ``tested`` map (option name -> version), empty when it has none.

    Read through ``getattr``: the field belongs to the comparison model, as a mapping or a
    tuple of (name, version) pairs.
    """
    tested = getattr(comparison, "tested", None)
    if not tested:
        return {}
    pairs = tested.items() if isinstance(tested, Mapping) else tested
    return {str(name): str(version) for name, version in pairs}


def disagreements(
    profiles: Mapping[str, Profile],
    comparisons: Iterable[Comparison],
    *,
    tested_of: Callable[[Comparison], Mapping[str, str]] = tested_versions,
) -> list[Problem]:
    """Facts a profile and a comparison disagree on.

    An error when a comparison tested a version newer than the profile's ``latest`` (one of
    them is wrong, and the profile's date says when it was last true); a warning when an
    option whose slug finds a profile is spelt differently there (the table and the option
    page show the profile's spelling).
    """
    problems: list[Problem] = []
    if not profiles:
        return problems
    for comparison in comparisons:
        tested = tested_of(comparison)
        for option in comparison.options:
            profile = profiles.get(option.slug)
            if profile is None:
                continue
            if option.name != profile.name:
                line, column = _option_position(comparison, option.name)
                problems.append(
                    Problem(
                        comparison.source,
                        line,
                        column,
                        "warning",
                        f'option "{option.name}" is spelt "{profile.name}" in its profile '
                        f"{profile.source}: use one spelling",
                    )
                )
            version = tested.get(option.name)
            if version is None or profile.latest is None:
                continue
            ours, theirs = release_key(version), release_key(profile.latest.version)
            if ours is not None and theirs is not None and ours > theirs:
                problems.append(
                    Problem(
                        profile.source,
                        *profile.position("latest.version"),
                        "error",
                        f'latest version "{profile.latest.version}" is older than the '
                        f'"{version}" {comparison.source} tested: update "latest" '
                        "(version and date) or the comparison's tested version",
                    )
                )
    return problems


def _option_position(comparison: Comparison, name: str) -> tuple[int, int]:
    """Where an option's name stands in the front matter's ``options``, else 1:1."""
    text = read_content_text(Path(comparison.source))
    if text is None:
        return 1, 1
    lines = text.splitlines()
    inside = False
    for number, line in enumerate(lines, start=1):
        if number > 1 and line.strip() == "---":
            break
        if line.startswith("options:"):
            inside = True
        elif inside and line and not line[0].isspace() and not line.startswith("-"):
            inside = False
        if inside:
            column = line.find(name, len("options:") if line.startswith("options:") else 0)
            if column >= 0:
                return number, column + 1
    return 1, 1
