"""One Markdown file to a Comparison, or every problem found in it with its line and column.

The same rules serve ``nicepick check`` and the server's loader, so an editor sees in the
terminal exactly what the server would skip.

Over 400 lines on purpose: one pass over the front matter and the sections, each rule next to
the line and column it reports; split by section, the rules would share the cursor state.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.content.front_matter import read_front_matter
from app.content.markdown_limits import (
    MAX_BREAKS,
    MAX_NESTING,
    MAX_PART_CHARS,
    SCAN_PER_CHARACTER,
    costly_brackets,
    printable_and_deep,
    too_deep,
    too_many_breaks,
)
from app.content.memo import short_memo
from app.content.model import (
    Comparison,
    Option,
    Problem,
    UseCase,
    slugify_name,
)
from app.content.problems import Collector, shorten
from app.content.record import check_footnotes, check_record

REQUIRED_FIELDS = ("category", "summary", "options", "pick", "published")
KNOWN_FIELDS = (
    "title",
    "category",
    "summary",
    "why",
    "options",
    "pick",
    "tags",
    "published",
    "updated",
    "draft",
    "aliases",
    "authors",
    "checked",
    "tested",
    "sources",
    "changes",
)

_KNOWN = frozenset(KNOWN_FIELDS)
_TEXT_ONLY = frozenset({str})  # the types of a list of names as YAML gives it, most often
SUMMARY_LIMIT = 160
# "why" sits under the title with the pick: on a 390 px phone about four lines of it fit.
WHY_LIMIT = 160
FILLER_PHRASES = (
    "depends on your use case",
    "depends on the use case",
    "it depends",
    "specific tradeoffs",
    "easy to use",
    "lorem ipsum",
)
_HEADING = re.compile(r"^(#{2,3})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_COMPARE_LINK = re.compile(r"\]\(\s*/compare/([A-Za-z0-9_-]+)")
# Links to a category's, tag's or option's listing, a category's standings, a writer's page:
# checked against the library as /compare/ links are (``Library``), each at its line and
# column; what follows the slug tells the page's twin or later pages (the build's report).
_LISTING_LINK = re.compile(
    r"\]\(\s*(/(category|tag|option|best|author)/([A-Za-z0-9_-]+)((?:\.json|/)?(?:\?page=[0-9]+)?))"
)
_USE_IF = re.compile(r"^use\s+(.+?)\s+if\b.*$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_TODO = re.compile(r"\btodo\b")
# Any style warning's trigger, searched once per file: most files have none, and then the
# line-by-line scan (which places each warning) is skipped.
_STYLE_TRIGGERS = ("todo", *FILLER_PHRASES)
# Fewer, shorter needles found in every text that holds a trigger ("depends" is in three
# phrases, "tradeoffs" in one): each needle is a search of the whole file.
_STYLE_GATE = ("todo", "depends", "tradeoffs", "easy to use", "lorem ipsum")
assert all(any(needle in trigger for needle in _STYLE_GATE) for trigger in _STYLE_TRIGGERS)


_slug = slugify_name


@short_memo(8192)  # the same few headings (Pros, Cons, Verdict) each file
def normalize_heading(text: str) -> str:
    """Match headings case-insensitively and ignore a leading "The " ("## The Verdict")."""
    text = _SPACES.sub(" ", text.strip().rstrip(":").strip()).casefold()
    return text[4:] if text.startswith("the ") else text


@dataclass
class _Section:
    """A ``##`` section and its ``###`` subsections, with source lines kept for messages."""

    title: str
    line: int
    body: list[str] = field(default_factory=list)
    body_line: int = 0
    subsections: list[_Section] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FrontMatter:
    """A file split into its YAML front matter (with each value's line and column) and body."""

    meta: dict[str, Any]
    marks: dict[str, tuple[int, int]]  # "key" -> value position, "key:key" -> key position
    body: list[str]
    body_line: int  # 1-based line of the first body line


def split_front_matter(text: str, *, path: str) -> tuple[FrontMatter | None, list[Problem]]:
    """The front matter and body of any content file (authors, pages), with the comparison
    parser's own YAML rules and messages; None when the front matter cannot be read."""
    problems = Collector(path)
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        problems.add(1, 1, "file must start with a '---' line opening the YAML front matter")
        return None, problems.problems
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        problems.add(1, 1, "front matter is not closed: add a '---' line after it")
        return None, problems.problems
    meta, marks = read_front_matter("\n".join(lines[1:end]), problems)
    if meta is None:
        return None, problems.problems
    return FrontMatter(meta, marks, lines[end + 1 :], end + 2), problems.problems


def parse_text(
    text: str,
    *,
    path: str,
    slug: str,
    today: date | None = None,
    content_hash: str | None = None,
) -> tuple[Comparison | None, list[Problem]]:
    """Parse a file's text; return the comparison (None on any error) and every problem found.

    With ``today`` (``nicepick check`` passes it), a ``checked``, ``accessed`` or ``updated``
    date after it is an error too. The server's loader leaves it out: its results are cached by
    the file's bytes, and a rule that changes with the day would make them wrong tomorrow.
    ``content_hash`` is the SHA-256 (hex) of the text without a leading byte order mark,
    encoded as UTF-8, when the caller has it already; else it is worked out here.
    """
    problems = Collector(path)
    if not slug:
        # The file name is the page's address: one without a Latin letter or digit gave
        # addresses like "/compare/#" or a name with a line break, which no link, redirect,
        # sitemap or nginx map can hold.
        name = path.replace("\\", "/").rsplit("/", 1)[-1]
        problems.add(
            1,
            1,
            f"file name {name!r} gives the page no address: "
            'name it with a-z, 0-9 and hyphens, e.g. "vim-vs-emacs.md"',
        )
    elif (too_long := long_file_name(slug)) is not None:
        # As a name's page (``MAX_ADDRESS``): compare/<address>.json is a file of the export.
        problems.add(1, 1, too_long)
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        problems.add(1, 1, "file must start with a '---' line opening the YAML front matter")
        return None, problems.problems
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
    except StopIteration:
        problems.add(1, 1, "front matter is not closed: add a '---' line after it")
        return None, problems.problems

    meta, marks = read_front_matter("\n".join(lines[1:end]), problems)
    if meta is None:
        return None, problems.problems
    body_offset = end + 2  # 1-based line number of the first body line
    intro, sections = _split_sections(lines[end + 1 :], body_offset)
    _check_markdown_bounds(intro, body_offset, sections, problems)

    fields = _check_fields(meta, marks, problems, today=today)
    listed = meta.get("sources")
    check_footnotes(lines, end + 1, len(listed) if isinstance(listed, list) else 0, problems.add)
    comparison = None
    if fields is not None:
        comparison = _build(
            fields, marks, intro, sections, problems, text=text, slug=slug, digest=content_hash
        )
    _check_style(comparison, lines, marks, problems)
    if problems.has_errors:
        return None, problems.problems
    return comparison, problems.problems


def _check_fields(
    meta: dict[str, Any],
    marks: dict[str, tuple[int, int]],
    problems: Collector,
    *,
    today: date | None = None,
) -> dict[str, Any] | None:
    """Validate field names and types; return clean values or None when any is unusable."""
    ok = True
    suggested: set[str] = set()
    for key in meta:
        if key not in _KNOWN:
            line, column = marks.get("key:" + key, (2, 1))
            close = difflib.get_close_matches(key, KNOWN_FIELDS, n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            problems.add(line, column, f'unknown field "{key}"{hint}')
            suggested.update(close)
            ok = False
    for key in REQUIRED_FIELDS:
        value = meta.get(key)
        if key in meta and (value is None or _blank(value) or value == []):
            problems.add(*marks.get("key:" + key, (2, 1)), f'required field "{key}" is empty')
            ok = False
        elif key not in meta and key not in suggested:
            # One message per mistake: a misspelt "catagory" already says "did you mean".
            problems.add(2, 1, f'missing required field "{key}"')
            ok = False
        elif key not in meta:
            ok = False

    def where(key: str) -> tuple[int, int]:
        return marks.get(key, (2, 1))

    clean: dict[str, Any] = {}
    for key in ("title", "category", "summary", "why", "pick"):
        value = meta.get(key)
        if value is None:
            continue
        if type(value) is str and value.isprintable():
            text = value  # most values: text the checks below would pass as it is
        elif not isinstance(value, str | int | float) or isinstance(value, bool):
            problems.add(*where(key), f'"{key}" must be text')
            ok = False
            continue
        elif (bad := _control_character(str(value), key)) is not None:
            problems.add(*where(key), f'"{key}" contains {bad}: {_ONE_LINE}')
            ok = False
            continue
        else:
            text = str(value)
        clean[key] = text.strip()
        if key == "title" and _blank(text):
            # Required fields are checked above; a blank title showed an invisible heading.
            problems.add(*where(key), '"title" is empty: write the title or leave the field out')
            ok = False
        elif key == "title" and len(clean[key]) > MAX_TITLE:
            problems.add(
                *where(key),
                f'"title" is {len(clean[key]):,} characters; at most {MAX_TITLE}: shorten it '
                "(it heads the page, its cards and every listing)",
            )
            ok = False
        if key == "category" and (bad := _address_problem(clean[key], key)) is not None:
            problems.add(*where(key), bad)
            ok = False
    for key in ("options", "tags", "aliases"):
        value = meta.get(key)
        if value is None:
            clean[key] = []
            continue
        text_only = type(value) is list and _TEXT_ONLY.issuperset(map(type, value))
        if not text_only and (
            not isinstance(value, list)
            or not all(
                isinstance(item, str | int | float) and not isinstance(item, bool) for item in value
            )
        ):
            problems.add(*where(key), f'"{key}" must be a list of names, e.g. [A, B]')
            ok = False
            continue
        for index, item in enumerate(value):
            text = str(item)
            # Each item's position is looked up only for a problem to report.
            if not text.isprintable() and (bad := _control_character(text, key)) is not None:
                position = marks.get(f"{key}[{index}]", where(key))
                problems.add(*position, f'"{key}" contains {bad}: {_ONE_LINE}')
                ok = False
            elif _blank(text):
                # It would link /tag/ (or /option/), the address of no page.
                position = marks.get(f"{key}[{index}]", where(key))
                problems.add(*position, f'"{key}" has an empty name: write it or take it out')
                ok = False
            elif (bad := _address_problem(text, key)) is not None:
                problems.add(*marks.get(f"{key}[{index}]", where(key)), bad)
                ok = False
        clean[key] = [str(item).strip() for item in value]
    # The options in another order are an address too (a redirect page, compare/<a-vs-b>/,
    # its twin beside it): three names of 90 characters each passed, then stopped `build`.
    pair = "-vs-".join(_slug(name) for name in clean.get("options", ()))
    if ok and len(pair) > MAX_PAIR_ADDRESS:
        problems.add(
            *where("options"),
            f'"options" give the address {shorten(pair)} of {len(pair):,} characters '
            f"(at most {MAX_PAIR_ADDRESS}): shorten their names",
        )
        ok = False
    for key in ("published", "updated"):
        value = meta.get(key)
        if value is None:
            continue
        if isinstance(value, datetime):
            # A time of day is accepted but scheduling is by day (UTC); keeping a datetime
            # would make sorting and "updated before published" compare date with datetime.
            clean[key] = value.date()
        elif isinstance(value, date):
            clean[key] = value
        else:
            problems.add(
                *where(key), f'"{key}" must be a date like 2026-11-24, not "{shorten(value)}"'
            )
            ok = False
    draft = meta.get("draft", False)
    if not isinstance(draft, bool):
        problems.add(*where("draft"), '"draft" must be true or false')
        ok = False
    clean["draft"] = bool(draft)

    options = clean.get("options", [])
    if "options" in meta and isinstance(meta["options"], list) and len(options) < 2:
        problems.add(*where("options"), '"options" needs two or more names')
        ok = False
    named = [_slug(name) for name in options if _slug(name)]  # nameless: reported above
    if len(set(named)) != len(named):
        problems.add(*where("options"), '"options" names the same option twice')
        ok = False
    pick = clean.get("pick")
    if pick and options and pick not in options:
        listed = ", ".join(options)
        problems.add(*where("pick"), f'pick "{pick}" is not one of the options ({listed})')
        ok = False
    published, updated = clean.get("published"), clean.get("updated")
    if published and updated and updated < published:
        problems.add(
            *where("updated"), f'"updated" ({updated}) is before "published" ({published})'
        )
        ok = False
    # A page due later may be updated up to its own day; any other later "updated" is a typo
    # (9999-12-31) that would list the page as the newest change in the feed for ever.
    if updated and today is not None and updated > max(today, published or today):
        problems.add(
            *where("updated"), f'"updated" ({updated}) is in the future (today is {today})'
        )
        ok = False
    ok = check_record(meta, marks, problems.add, clean, today=today) and ok
    return clean if ok else None


# Python's str.splitlines (and so its email package) breaks lines at \v, \f, \x1c-\x1e,
# \x85, U+2028 and U+2029 as well as at \n: in a title or an option name, which end up in
# mail subjects, feed entries and card images, such a character splits or hides text. Names
# are one line of printable text, refused otherwise (never silently cleaned), like the
# reader's form fields (app/feedback/form.py). The summary may be folded over lines in YAML.
_ONE_LINE = "names and titles must be one line of printable text"


# The invisible controls that reorder text on screen (bidirectional embeddings, overrides and
# isolates): a title or a line holding one reads otherwise than it is written, on the page,
# in the editors' mail and in a terminal ("Trojan Source", CVE-2021-42574). The reader's
# forms refuse them too (app/feedback/form.py); the marks U+200E and U+200F stay.
_DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _control_character(value: str, key: str) -> str | None:
    """``a control character (U+000B)`` for the first one in ``value``, else None."""
    if value.isprintable():  # False for every Cc, Cf, Zl and Zp character (and a few more)
        return None
    allowed = "\n\t" if key == "summary" else ""
    for character in value:
        if character in allowed:
            continue
        if character in _DIRECTION_CONTROLS:
            return f"an invisible text-direction control (U+{ord(character):04X})"
        if unicodedata.category(character) in ("Cc", "Zl", "Zp"):
            return f"a control character (U+{ord(character):04X})"
    return None


# Categories, tags and options each get a page (/category/<slug>, ...) whose address is the
# name's ASCII letters and digits. A name with none ("Базы данных", "机器学习", "!!!") gave an
# empty slug and links to /category/, a 404. Refused rather than transliterated: a faithful
# transliteration depends on the language (Cyrillic alone has several standards, Chinese needs
# a dictionary), and an address the editor never saw would be silently invented.
def _gives_no_url(name: str) -> bool:
    """Whether ``name`` has text but none that makes a page address (empty: reported apart)."""
    return not _slug(name) and bool(name.strip())


# A name's page is a folder of the static export (``tag/<address>/index.html``, beside
# ``tag/<address>.json``), and file systems take names of at most 255 bytes: a longer address
# stopped `build` halfway with OSError, after `check` passed it. 100 characters leave room.
MAX_ADDRESS = 100
# A title heads its page and every card and listing that shows it, and names the page in
# the editors' mail: past this an editor's slip (a paragraph pasted into the field), not a
# title. Seventy characters is a long one.
MAX_TITLE = 150
# The options' addresses joined with "-vs-" (``pair``): its files' names end ".json.gz" at
# the longest, within the 255 bytes.
MAX_PAIR_ADDRESS = 200


# Characters that show nothing and are no whitespace to ``str.strip``: a name of them alone
# is as empty as one of spaces.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def _blank(value: object) -> bool:
    """Text that shows nothing: spaces, a no-break space, a zero-width space."""
    return isinstance(value, str) and not value.translate(_INVISIBLE).strip()


def long_file_name(address: str) -> str | None:
    """The error for a file (a comparison, writer or page) whose name gives ``address``,
    when that is longer than ``MAX_ADDRESS``; else None."""
    if len(address) <= MAX_ADDRESS:
        return None
    return (
        f"the file name gives an address of {len(address):,} characters "
        f"(at most {MAX_ADDRESS}): rename the file"
    )


def _address_problem(name: str, key: str) -> str | None:
    """Why ``name`` (of a category, option, tag or alias) makes no page address, else None."""
    if _gives_no_url(name):
        return (
            f'"{key}" name "{shorten(name)}" gives no URL: a page address is made of the '
            "name's Latin letters and digits; add some"
        )
    if len(address := _slug(name)) > MAX_ADDRESS:
        return (
            f'"{key}" name "{shorten(name)}" gives an address of {len(address):,} characters '
            f"(at most {MAX_ADDRESS}): shorten it"
        )
    return None


# --- body ---------------------------------------------------------------------------------


def _split_sections(body: list[str], first_line: int) -> tuple[list[str], list[_Section]]:
    """Split the body at ``##``/``###`` headings, ignoring headings inside code fences."""
    joined = "\n".join(body)
    # A code fence may hide headings: line by line. Each three-character search is led by a
    # search for its one character: CPython finds one character with memchr, while a short
    # needle's search steps through the text a few characters at a time (some ten times
    # slower on a page of prose). The same holds for every short needle in this module.
    if ("`" in joined and "```" in joined) or ("~" in joined and "~~~" in joined):
        return _split_fenced(body, first_line)
    # No fence: the headings are the lines that start with "#" and match, and each part is
    # the run of lines up to the next heading, taken as one slice.
    headings = [
        (index, heading)
        for index, line in enumerate(body)
        if line[:1] == "#" and (heading := _heading(line))
    ]
    start = next((i for i, (level, _) in headings if level == 2), len(body))
    sections: list[_Section] = []
    # A "###" before the first "##" is a line of the intro, as it is below.
    bounds = [(i, heading) for i, heading in headings if i >= start]
    ends = [i for i, _ in bounds[1:]] + [len(body)]
    for (index, (level, title)), end in zip(bounds, ends, strict=False):  # one end more if none
        number = first_line + index
        part = _Section(title, number, body[index + 1 : end], number + 1)
        if level == 2:
            sections.append(part)
        else:
            sections[-1].subsections.append(part)
    return body[:start], sections


# The same few headings recur in every file (Pros, Cons, Verdict, the options' names).
@short_memo(1 << 14)
def _heading(line: str) -> tuple[int, str] | None:
    """(level, title) of a "##" or "###" heading line, else None."""
    heading = _HEADING.match(line)
    return None if heading is None else (len(heading.group(1)), heading.group(2))


def _split_fenced(body: list[str], first_line: int) -> tuple[list[str], list[_Section]]:
    """``_split_sections`` for a body with a code fence, one line at a time."""
    intro: list[str] = []
    sections: list[_Section] = []
    in_fence = False
    for offset, line in enumerate(body):
        number = first_line + offset
        # Cheap tests first: a fence holds "```" or "~~~", a heading starts with "#".
        if ("```" in line or "~~~" in line) and _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence or line[:1] != "#" else _HEADING.match(line)
        if heading and len(heading.group(1)) == 2:
            sections.append(_Section(heading.group(2), number, body_line=number + 1))
            continue
        if heading and sections:
            sections[-1].subsections.append(
                _Section(heading.group(2), number, body_line=number + 1)
            )
            continue
        if not sections:
            intro.append(line)
        elif sections[-1].subsections:
            sections[-1].subsections[-1].body.append(line)
        else:
            sections[-1].body.append(line)
    return intro, sections


def _check_markdown_bounds(
    intro: list[str], intro_line: int, sections: list[_Section], problems: Collector
) -> None:
    """Each part (the intro, a section's text, a subsection) within the Markdown bounds of
    ``app.content.markdown_limits``: its size, its nesting, the cost of its "[" searches."""
    lines = intro.copy()
    for section in sections:
        lines += section.body
        for sub in section.subsections:
            lines += sub.body
    # One pass over the whole body decides whether any part can be nested too deep and
    # whether it is printable ASCII, tabs and the joining newlines only (no control character
    # in any line: the line-by-line search below is skipped), and one count whether any part
    # can have costly brackets: most files cannot.
    whole = "\n".join(lines)
    printable, deep_possible = printable_and_deep(whole)
    brackets_possible = "[" in whole and whole.count("[") > SCAN_PER_CHARACTER
    # A direction control written as a reference (``_DIRECTION_REFERENCE``) is printable.
    referenced = "&#" in whole and _DIRECTION_REFERENCE.search(whole) is not None
    # A part's size is at most the whole's plus one, and its lines at most the whole's: in
    # most bodies no part can break a bound, and no part is looked at.
    if (
        printable
        and not referenced
        and not deep_possible
        and not brackets_possible
        and len(whole) < MAX_PART_CHARS
        and len(lines) <= MAX_BREAKS
    ):
        return
    parts: list[tuple[str, int, list[str]]] = [("the intro", intro_line, intro)]
    for section in sections:
        parts.append((f'"## {section.title}"', section.body_line, section.body))
        for sub in section.subsections:
            parts.append((f'"### {sub.title}"', sub.body_line, sub.body))
    for name, first, body in parts:
        if not printable or referenced:
            _check_body_characters(body, first, problems)
        numbered = list(enumerate(body, start=first)) if deep_possible or brackets_possible else []
        size = sum(map(len, body)) + len(body)
        if size > MAX_PART_CHARS:
            problems.add(
                first - 1 if first > intro_line else first,
                1,
                f"{name} is {size:,} characters; a part may have at most {MAX_PART_CHARS:,}: "
                "split it into subsections or shorten it",
            )
        deep = too_deep(numbered) if deep_possible else None
        if deep is not None:
            line, column, levels = deep
            problems.add(
                line,
                column,
                f"lists and quotes nested {levels} levels deep; at most {MAX_NESTING} "
                "are shown: flatten the structure",
            )
        # Each heading or rule is a line of its own: a short part cannot have too many.
        breaks = too_many_breaks(enumerate(body, start=first)) if len(body) > MAX_BREAKS else None
        if breaks is not None:
            line, column, count = breaks
            problems.add(
                line,
                column,
                f"{count:,} headings and rules in {name}; a part may have at most "
                f"{MAX_BREAKS}: split it into subsections",
            )
        brackets = (
            costly_brackets(numbered) if brackets_possible and size <= MAX_PART_CHARS else None
        )
        if brackets is not None:
            line, column, count = brackets
            problems.add(
                line,
                column,
                f'{count:,} unclosed "[" in {name}: Markdown searches the rest of the '
                'paragraph for each "]"; close each link or write a literal bracket as \\[',
            )


# C0 and C1 control characters other than tab; the line breaks among them (\n, \r, \v, \f,
# \x1c-\x1e, \x85) already split the text into lines. Invisible in an editor, they reach the
# HTML as they are: a terminal escape (U+001B) or a bell (U+0007) in a page or a feed is
# garbage at best, and XML 1.0 (the Atom feed) forbids them outright.
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# The same controls written as character references, which Markdown turns into the characters.
_DIRECTION_REFERENCE = re.compile(r"&#(?:[xX]0*(?:202[a-eA-E]|206[6-9])|0*(?:823[4-8]|829[4-7]));")


def body_character_problems(body: list[str], first: int, path: str) -> list[Problem]:
    """``_check_body_characters`` for the body of a writer's or a plain page's file."""
    problems = Collector(path)
    _check_body_characters(body, first, problems)
    return problems.problems


def _check_body_characters(body: list[str], first: int, problems: Collector) -> None:
    """Report the first control character of each body line that has one."""
    for number, line in enumerate(body, start=first):
        if "&#" in line and (reference := _DIRECTION_REFERENCE.search(line)) is not None:
            problems.add(
                number,
                reference.start() + 1,
                f"an invisible text-direction control ({reference.group()}) in the text: "
                "delete it; it makes the line read otherwise than it is written",
            )
            continue
        # Every character searched for is a control (Cc, or Cf: ``_DIRECTION_CONTROLS``), so
        # a printable line (most: a tab is not printable) has none; ``isprintable`` is far
        # cheaper than the search.
        found = None if line.isprintable() else _BODY_CONTROL.search(line)
        if found is None:
            continue
        if found.group() in _DIRECTION_CONTROLS:
            message = (
                f"an invisible text-direction control (U+{ord(found.group()):04X}) in the "
                "text: delete it; it makes the line read otherwise than it is written"
            )
        else:
            message = (
                f"a control character (U+{ord(found.group()):04X}) in the text: delete it; "
                "it is invisible in an editor and garbles pages and the feed"
            )
        problems.add(number, found.start() + 1, message)


def _bullets(section: _Section, problems: Collector, owner: str) -> tuple[str, ...]:
    """Read a Markdown bullet list; indented lines continue the item above them."""
    items: list[str] = []
    kind = normalize_heading(section.title)
    for offset, line in enumerate(section.body):
        # Most items start "- ": ``_BULLET`` would match them, and its group stripped is the
        # rest of the line stripped, so they are read without the expression.
        if line[:2] == "- ":
            problems.item_lines[(owner, kind, len(items))] = section.body_line + offset
            items.append(line[2:].strip())
            continue
        bullet = _BULLET.match(line)
        if bullet:
            problems.item_lines[(owner, kind, len(items))] = section.body_line + offset
            items.append(bullet.group(1).strip())
        elif line.strip() and items and line.startswith((" ", "\t")):
            items[-1] += " " + line.strip()
        elif line.strip():
            problems.add(
                section.body_line + offset,
                1,
                f'"### {section.title}" under "{owner}" must be a list of "- " items',
            )
    if not items:
        problems.add(section.line, 1, f'"### {section.title}" under "{owner}" is empty', "warning")
    return tuple(items)


def _markdown(lines: list[str]) -> str:
    return "\n".join(lines).strip()


def _build(
    fields: dict[str, Any],
    marks: dict[str, tuple[int, int]],
    intro: list[str],
    sections: list[_Section],
    problems: Collector,
    *,
    text: str,
    slug: str,
    digest: str | None = None,
) -> Comparison | None:
    option_names: list[str] = fields["options"]
    by_heading = {normalize_heading(name): name for name in option_names}
    found: dict[str, Option] = {}
    verdict: _Section | None = None
    bottom: _Section | None = None
    for section in sections:
        key = normalize_heading(section.title)
        if key in by_heading:
            name = by_heading[key]
            if name in found:
                problems.add(section.line, 1, f'option "{name}" has two "##" sections')
                continue
            option = _build_option(name, section, problems)
            if option is not None:
                found[name] = option
        elif key == "verdict":
            verdict = section
        elif key == "bottom line":
            bottom = section
        else:
            problems.add(
                section.line,
                4,
                f'section "## {section.title}" names no option '
                f"(options: {', '.join(option_names)}; or Verdict, Bottom line)",
            )
    options_line = marks.get("options", (2, 1))[0]
    for name in option_names:
        if name not in found and not any(
            normalize_heading(s.title) == normalize_heading(name) for s in sections
        ):
            problems.add(options_line, 1, f'option "{name}" has no "## {name}" section')

    use_cases: list[UseCase] = []
    verdict_text = ""
    if verdict is None:
        problems.add(len(text.splitlines()) or 1, 1, 'missing "## Verdict" section')
    else:
        verdict_text = _markdown(verdict.body)
        for sub in verdict.subsections:
            match = _USE_IF.match(normalize_heading(sub.title))
            # Normalized again: an option named "The X" is keyed without its "The".
            target = by_heading.get(normalize_heading(match.group(1))) if match else None
            if target is None:
                problems.add(
                    sub.line,
                    5,
                    f'"### {sub.title}" under Verdict must read "Use <option> if" '
                    f"with one of: {', '.join(option_names)}",
                )
                continue
            use_cases.append(UseCase(target, _markdown(sub.body)))
    if bottom is None:
        problems.add(len(text.splitlines()) or 1, 1, 'missing "## Bottom line" section')
    elif bottom.subsections:
        problems.add(bottom.subsections[0].line, 1, '"## Bottom line" takes no "###" subsections')
    elif not _markdown(bottom.body):
        problems.add(bottom.line, 1, '"## Bottom line" is empty: say why the pick wins')

    links = tuple(
        (number, match.group(1))
        for number, line in enumerate(
            text.splitlines() if "/" in text and "/compare/" in text else (), start=1
        )
        for match in _COMPARE_LINK.finditer(line)
    )
    # Lines as the other links and every problem count them (``splitlines``), one pass.
    listing_links = tuple(
        (number, match.start(1) + 1, match.group(2), match.group(3), match.group(4))
        for number, line in enumerate(text.splitlines() if "](" in text else (), start=1)
        if "](" in line
        for match in _LISTING_LINK.finditer(line)
    )
    if problems.has_errors:
        return None
    return Comparison(
        slug=slug,
        source=problems.path,
        title=fields.get("title") or " vs ".join(option_names),
        category=fields["category"],
        summary=fields["summary"],
        why=fields.get("why") or None,
        options=tuple(found[name] for name in option_names),
        pick=fields["pick"],
        tags=tuple(fields["tags"]),
        published=fields["published"],
        updated=fields.get("updated"),
        draft=fields["draft"],
        aliases=tuple(_slug(alias) for alias in fields["aliases"]),
        intro=_markdown(intro),
        verdict=verdict_text,
        use_cases=tuple(use_cases),
        bottom_line=_markdown(bottom.body) if bottom else "",
        content_hash=digest if digest is not None else _sha256(text),
        links=links,
        listing_links=listing_links,
        authors=tuple(fields["authors"]),
        checked=fields["checked"],
        tested=tuple(fields["tested"]),
        sources=tuple(fields["sources"]),
        changes=tuple(fields["changes"]),
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _build_option(name: str, section: _Section, problems: Collector) -> Option | None:
    lists: dict[str, tuple[str, ...]] = {}
    for sub in section.subsections:
        kind = normalize_heading(sub.title)
        if kind not in ("pros", "cons", "related"):
            problems.add(
                sub.line,
                5,
                f'unknown subsection "### {sub.title}" under "{name}" '
                "(expected Pros, Cons or Related)",
            )
            continue
        if kind in lists:
            problems.add(sub.line, 1, f'"{name}" has two "### {sub.title}" lists')
            continue
        lists[kind] = _bullets(sub, problems, name)
    for index, item in enumerate(lists.get("related", ())):
        # Each is a tag page's address, as a tag is (``_address_problem``).
        bad = _address_problem(item, "related") if item else '"related" has an empty item'
        if bad is not None:
            line = problems.item_lines.get((name, "related", index), section.line)
            problems.add(line, 1, bad)
    for kind in ("pros", "cons"):
        if kind not in lists:
            problems.add(section.line, 1, f'option "{name}" has no "### {kind.title()}" list')
    if "pros" not in lists or "cons" not in lists:
        return None
    return Option(
        name=name,
        slug=_slug(name),
        description=_markdown(section.body),
        pros=lists["pros"],
        cons=lists["cons"],
        related=tuple(_slug(item) for item in lists.get("related", ())),
    )


def _check_style(
    comparison: Comparison | None,
    lines: list[str],
    marks: dict[str, tuple[int, int]],
    problems: Collector,
) -> None:
    """Warnings: filler, an over-long summary, the same pro under two options."""
    # Needles hold no newline, so a match in a line is a match in the joined text.
    # Substring tests: one regular expression of the alternatives took five times as long.
    joined = "\n".join(lines).casefold()
    scan = lines if any([needle in joined for needle in _STYLE_GATE]) else []
    for number, source_line in enumerate(scan, start=1):
        lowered = source_line.casefold()
        todo = _TODO.search(lowered)
        if todo:
            # The scaffold's placeholders: fine in a draft, a reminder before publishing.
            problems.add(
                number,
                todo.start() + 1,
                'placeholder "TODO" left in: replace it before publishing',
                "warning",
            )
            continue
        for phrase in FILLER_PHRASES:
            column = lowered.find(phrase)
            if column >= 0:
                problems.add(
                    number,
                    column + 1,
                    f'filler "{phrase}": say something specific (a number, a mechanism, a limit)',
                    "warning",
                )
                break
    if comparison is None:
        return
    if len(comparison.summary) > SUMMARY_LIMIT:
        problems.add(
            *marks.get("summary", (2, 1)),
            f"summary is {len(comparison.summary)} characters; keep it under {SUMMARY_LIMIT} "
            "so search engines show it whole",
            "warning",
        )
    if comparison.why is not None and len(comparison.why) > WHY_LIMIT:
        problems.add(
            *marks.get("why", (2, 1)),
            f'"why" is {len(comparison.why)} characters; keep it under {WHY_LIMIT} '
            "so the pick and its reason fit a phone's first screen",
            "warning",
        )
    seen: dict[str, str] = {}
    for option in comparison.options:
        for index, pro in enumerate(option.pros):
            key = pro.casefold().strip(" .")
            if key in seen and seen[key] != option.name:
                problems.add(
                    problems.item_lines.get((option.name, "pros", index), 1),
                    3,
                    f'the same pro appears under "{seen[key]}" and "{option.name}"',
                    "warning",
                )
            seen.setdefault(key, option.name)
