"""The fields that let readers check a comparison: authors, checked, tested, sources, changes.

Each rule reports at the line and column of the value it is about, with a "did you mean"
where a near name exists, through the parser's own ``add(line, column, message)``. The
parser calls ``check_record`` once its plain fields are clean (it needs the options and the
pick), and ``check_footnotes`` on the body, whose ``[^n]`` point into ``sources``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from app.content.model import Change, Source, slugify

Add = Callable[[int, int, str], None]
Marks = dict[str, tuple[int, int]]

SOURCE_FIELDS = ("title", "url", "accessed")
CHANGE_FIELDS = ("date", "note", "pick")
# No "[" inside: each "[^" then stops at the next one, so a line of them is read once (with
# "[" allowed, each was scanned to the line's end: 29 s for 30,000 on one line).
_FOOTNOTE = re.compile(r"\[\^([^\]\[\s]*)\]")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_CODE_SPAN = re.compile(r"`+[^`]*`+")


def _hint(name: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _missing(item: dict[str, Any], name: str, fields: tuple[str, ...]) -> bool:
    """True when ``name`` is absent and no misspelling of it (already reported) stands in."""
    if name in item:
        return False
    others = [str(key) for key in item if key not in fields]
    return not difflib.get_close_matches(name, others, n=1, cutoff=0.6)


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def _text(value: object) -> str | None:
    """One line of text (a number is read as its text), else None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    return text if text and "\n" not in text else None


def check_record(
    meta: dict[str, Any],
    marks: Marks,
    add: Add,
    clean: dict[str, Any],
    *,
    today: date | None,
) -> bool:
    """Validate the five fields into ``clean``; False when any is unusable."""
    ok = True
    options: list[str] = clean.get("options", [])

    def where(key: str, fallback: str | None = None) -> tuple[int, int]:
        return marks.get(key) or marks.get(fallback or "", (2, 1))

    # authors: slugs of content/authors/<slug>.md (whether each exists is a library rule)
    authors = meta.get("authors")
    clean["authors"] = []
    if authors is not None:
        if not isinstance(authors, list) or not all(_text(a) for a in authors):
            add(*where("authors"), '"authors" must be a list of author slugs, e.g. [ana-ruiz]')
            ok = False
        else:
            for index, author in enumerate(str(a).strip() for a in authors):
                position = where(f"authors[{index}]", "authors")
                if slugify(author) != author:
                    add(
                        *position,
                        f'author "{author}" is not a file name: write the slug of '
                        f'content/authors/<slug>.md, e.g. "{slugify(author) or "ana-ruiz"}"',
                    )
                    ok = False
                elif author in clean["authors"]:
                    add(*position, f'author "{author}" is named twice')
                    ok = False
                else:
                    clean["authors"].append(author)

    # checked: a date, not after today
    clean["checked"] = None
    if "checked" in meta and meta["checked"] is not None:
        checked = _day(meta["checked"])
        if checked is None:
            add(
                *where("checked"),
                f'"checked" must be a date like 2026-11-24, not "{meta["checked"]}"',
            )
            ok = False
        elif today is not None and checked > today:
            add(*where("checked"), f'"checked" ({checked}) is in the future (today is {today})')
            ok = False
        else:
            clean["checked"] = checked

    # tested: option name -> version text
    clean["tested"] = []
    tested = meta.get("tested")
    if tested is not None:
        if not isinstance(tested, dict):
            add(*where("tested"), '"tested" must map option names to versions, e.g. Vim: "9.1"')
            ok = False
        else:
            versions: dict[str, str] = {}
            for name, version in tested.items():
                key = f"tested.{name}"
                if str(name) not in options:
                    add(
                        *where("key:" + key, "tested"),
                        f'"tested" names "{name}", which is not one of the options '
                        f"({', '.join(options)}){_hint(str(name), options)}",
                    )
                    ok = False
                elif isinstance(version, float):
                    add(
                        *where(key, "tested"),
                        f'version of "{name}" must be in quotes ("{version}"): '
                        "unquoted, 3.10 reads as the number 3.1",
                    )
                    ok = False
                elif (text := _text(version)) is None:
                    add(*where(key, "tested"), f'version of "{name}" must be one line of text')
                    ok = False
                else:
                    versions[str(name)] = text
            clean["tested"] = [(name, versions[name]) for name in options if name in versions]

    sources, sources_ok = _sources(meta.get("sources"), where, add, today)
    clean["sources"] = sources
    changes, changes_ok = _changes(
        meta.get("changes"), where, add, options, clean.get("pick"), today
    )
    clean["changes"] = changes
    return ok and sources_ok and changes_ok


def _items(
    value: object,
    key: str,
    fields: tuple[str, ...],
    where: Callable[..., tuple[int, int]],
    add: Add,
) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
    """The list's mapping items with their index; unknown keys reported with a hint."""
    if value is None:
        return [], True
    example = "- title: …\n    url: https://…" if key == "sources" else "- date: …\n    note: …"
    if not isinstance(value, list):
        add(*where(key), f'"{key}" must be a list of entries ({example.splitlines()[0]})')
        return [], False
    ok = True
    items: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(value):
        at = f"{key}[{index}]"
        if not isinstance(item, dict):
            add(
                *where(at, key),
                f'"{key}" entry {index + 1} must be "field: value" lines ({", ".join(fields)})',
            )
            ok = False
            continue
        for name in item:
            if name not in fields:
                add(
                    *where(f"key:{at}.{name}", at),
                    f'unknown field "{name}" in "{key}" entry {index + 1}'
                    f"{_hint(str(name), fields)}",
                )
                ok = False
        items.append((index, item))
    return items, ok


def _sources(
    value: object, where: Callable[..., tuple[int, int]], add: Add, today: date | None
) -> tuple[list[Source], bool]:
    items, ok = _items(value, "sources", SOURCE_FIELDS, where, add)
    found: list[Source] = []
    for index, item in items:
        at = f"sources[{index}]"
        entry = f'"sources" entry {index + 1}'
        title, url, accessed = _text(item.get("title")), item.get("url"), _day(item.get("accessed"))
        good = True
        for name in SOURCE_FIELDS:
            if _missing(item, name, SOURCE_FIELDS):
                add(*where(at, "sources"), f'{entry} has no "{name}"')
                good = False
        if "title" in item and title is None:
            add(*where(f"{at}.title", at), f"{entry}: title must be one line of text")
            good = False
        if "url" in item and not (
            isinstance(url, str) and re.fullmatch(r"https?://[^\s/]\S*", url.strip())
        ):
            add(
                *where(f"{at}.url", at),
                f"{entry}: url must be a web address (http:// or https:// and a host), "
                f'not "{str(url)[:60]}"',
            )
            good = False
        if "accessed" in item:
            if accessed is None:
                add(
                    *where(f"{at}.accessed", at),
                    f'{entry}: accessed must be a date like 2026-11-24, not "{item["accessed"]}"',
                )
                good = False
            elif today is not None and accessed > today:
                add(
                    *where(f"{at}.accessed", at),
                    f"{entry}: accessed ({accessed}) is in the future (today is {today})",
                )
                good = False
        if good and title is not None and isinstance(url, str) and accessed is not None:
            found.append(Source(title, url.strip(), accessed))
        ok = ok and good
    return found, ok


def _changes(
    value: object,
    where: Callable[..., tuple[int, int]],
    add: Add,
    options: list[str],
    pick: str | None,
    today: date | None,
) -> tuple[list[Change], bool]:
    items, ok = _items(value, "changes", CHANGE_FIELDS, where, add)
    found: list[Change] = []
    newer: date | None = None
    newest_pick: tuple[int, str] | None = None
    for index, item in items:
        at = f"changes[{index}]"
        entry = f'"changes" entry {index + 1}'
        good = True
        day, note = _day(item.get("date")), _text(item.get("note"))
        for name in ("date", "note"):
            if _missing(item, name, CHANGE_FIELDS):
                add(*where(at, "changes"), f'{entry} has no "{name}"')
                good = False
        if "date" in item and day is None:
            add(
                *where(f"{at}.date", at),
                f'{entry}: date must be a date like 2026-11-24, not "{item["date"]}"',
            )
            good = False
        if "note" in item and note is None:
            add(*where(f"{at}.note", at), f"{entry}: note must be one line of text")
            good = False
        if day is not None and today is not None and day > today:
            # A pick change dated later would hide every note until that day from the meter.
            add(*where(f"{at}.date", at), f"{entry} ({day}) is in the future (today is {today})")
            good = False
        elif day is not None and newer is not None and day > newer:
            add(
                *where(f"{at}.date", at),
                f"{entry} ({day}) is newer than the entry above it ({newer}): "
                "list changes newest first",
            )
            good = False
        if day is not None:
            newer = day
        picked: str | None = None
        if item.get("pick") is not None:
            picked = str(item["pick"]).strip()
            if picked not in options:
                add(
                    *where(f"{at}.pick", at),
                    f'{entry}: pick "{picked}" is not one of the options '
                    f"({', '.join(options)}){_hint(picked, options)}",
                )
                good = False
            elif newest_pick is None:
                newest_pick = (index, picked)
        if good and day is not None and note is not None:
            found.append(Change(day, note, picked))
        ok = ok and good
    if newest_pick is not None and pick is not None and newest_pick[1] != pick:
        index, picked = newest_pick
        add(
            *where(f"changes[{index}].pick", "changes"),
            f'the newest pick in "changes" is "{picked}" but "pick" is "{pick}": '
            "add a newer entry with the current pick, or fix one of them",
        )
        ok = False
    return found, ok


def check_footnotes(lines: list[str], first: int, sources: int, add: Add) -> None:
    """Report each ``[^n]`` of the body (``lines[first:]``) whose n names no source."""
    joined = "\n".join(lines[first:])
    # "^" first: one character is found with memchr, a two-character needle is searched
    # for a few characters at a time (ten times slower on a page of prose).
    if "^" not in joined or "[^" not in joined:
        return
    in_fence = False
    for number, line in enumerate(lines[first:], start=first + 1):
        if _FENCE.match(line):
            in_fence = not in_fence
        if in_fence or "[^" not in line:
            continue
        code = _CODE_SPAN.sub(lambda m: " " * len(m.group()), line)
        for match in _FOOTNOTE.finditer(code):
            ref = match.group(1)
            if not (ref.isascii() and ref.isdigit()):  # "²" is a digit int() refuses
                add(
                    number,
                    match.start() + 1,
                    f"footnote [^{ref}] must be the number of a source, e.g. [^1]",
                )
            elif not 1 <= int(ref) <= sources:
                have = f"sources has {sources}" if sources else 'there is no "sources" list'
                add(number, match.start() + 1, f"footnote [^{ref}] names no source ({have})")
