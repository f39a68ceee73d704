"""Files that are not comparisons: writers (``content/authors/<slug>.md``) and plain pages
(``content/pages/<slug>.md``, such as ``about``), each read with the comparison parser's own
front-matter rules and reported as ``path:line:col: message``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from app.content.model import Author, Problem, slugify
from app.content.parse import (
    _control_character,
    body_character_problems,
    long_file_name,
    split_front_matter,
)
from app.content.reading import NotContent, read_content

# The plain pages the site has an address for (app/web/pages.py, app/commands/routes.py).
SERVED_PAGES = ("about",)
AUTHOR_FIELDS = ("name", "role", "url")
PAGE_FIELDS = ("title", "summary")
# A host's first character, then no space. ("[^\s/]+\S*" says the same, but its two runs
# backtracked quadratically: 11 s for a 40,000-letter address with a space.)
_HTTP = re.compile(r"https?://[^\s/]\S*")


@dataclass(frozen=True, slots=True)
class TextPage:
    """A page of prose from ``content/pages/<slug>.md``."""

    slug: str
    source: str
    title: str
    summary: str
    intro: str  # Markdown before the first "## " heading
    # ("## " heading, its Markdown): the page renders the headings itself, as the
    # comparison page does, since the sanitizer keeps only h3-h6 in editors' Markdown
    sections: tuple[tuple[str, str], ...] = ()

    @property
    def body(self) -> str:
        """The whole text as Markdown again (for plain-text readings)."""
        parts = [self.intro, *(f"## {title}\n{text}" for title, text in self.sections)]
        return "\n\n".join(part for part in parts if part)


def _read(path: Path, display: str) -> tuple[str | None, list[Problem]]:
    try:
        return read_content(path).decode("utf-8"), []
    except UnicodeDecodeError as exc:
        return None, [Problem(display, 1, 1, "error", f"not UTF-8 text: {exc.reason}")]
    except NotContent as exc:
        return None, [Problem(display, 1, 1, "error", str(exc.strerror))]
    except OSError as exc:
        return None, [Problem(display, 1, 1, "error", f"cannot read: {exc.strerror}")]


def _fields(
    text: str, display: str, known: tuple[str, ...], required: tuple[str, ...]
) -> tuple[dict[str, str], str, list[Problem]]:
    """Text fields by name, the Markdown body, and every problem (unknown, missing, not text)."""
    front, problems = split_front_matter(text, path=display)
    if front is None:
        return {}, "", problems
    found: dict[str, str] = {}
    for key, value in front.meta.items():
        line, column = front.marks.get("key:" + key, (2, 1))
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            problems.append(Problem(display, line, column, "error", f'unknown field "{key}"{hint}'))
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            at = front.marks.get(key, (line, column))
            problems.append(Problem(display, *at, "error", f'"{key}" must be text'))
        elif not str(value).strip() or "\n" in str(value).strip():
            at = front.marks.get(key, (line, column))
            problems.append(Problem(display, *at, "error", f'"{key}" must be one line of text'))
        elif (bad := _control_character(str(value).strip(), key)) is not None:
            at = front.marks.get(key, (line, column))
            message = f'"{key}" contains {bad}: write it on one line'
            problems.append(Problem(display, *at, "error", message))
        else:
            found[key] = str(value).strip()
    for key in required:
        if key not in front.meta:
            problems.append(Problem(display, 2, 1, "error", f'missing required field "{key}"'))
    problems.extend(body_character_problems(front.body, front.body_line, display))
    url = found.get("url")
    if url is not None and not _HTTP.fullmatch(url):
        at = front.marks.get("url", (2, 1))
        problems.append(
            Problem(display, *at, "error", f'"url" must start with http:// or https://: "{url}"')
        )
    return found, "\n".join(front.body).strip(), problems


def _name_problem(path: Path, display: str) -> list[Problem]:
    """The file name is the page's address (``/author/<slug>``): it must be a slug, or the
    address holds a space, a quote or a ``#`` and no comparison can name it."""
    slug = slugify(path.stem)
    if (too_long := long_file_name(slug)) is not None:  # a folder of the export
        return [Problem(display, 1, 1, "error", too_long)]
    if slug == path.stem:
        return []
    fix = f"rename the file to {slug}.md" if slug else "name the file with a-z, 0-9 and hyphens"
    return [Problem(display, 1, 1, "error", f'file name "{path.name}" is not a slug: {fix}')]


def read_author(path: Path, display: str) -> tuple[Author | None, list[Problem]]:
    """``content/authors/<slug>.md`` -> Author (None on any error), and its problems."""
    if refused := _name_problem(path, display):
        return None, refused
    text, problems = _read(path, display)
    if text is None:
        return None, problems
    found, bio, problems = _fields(text, display, AUTHOR_FIELDS, ("name", "role"))
    if any(p.severity == "error" for p in problems):
        return None, problems
    author = Author(path.stem, display, found["name"], found["role"], bio, found.get("url"))
    return author, problems


def read_page(path: Path, display: str) -> tuple[TextPage | None, list[Problem]]:
    """``content/pages/<slug>.md`` -> TextPage (None on any error), and its problems."""
    if refused := _name_problem(path, display):
        return None, refused
    text, problems = _read(path, display)
    if text is None:
        return None, problems
    found, body, problems = _fields(text, display, PAGE_FIELDS, PAGE_FIELDS)
    if not body and not problems:
        problems.append(
            Problem(display, 1, 1, "error", "the page has no text after its front matter")
        )
    if any(p.severity == "error" for p in problems):
        return None, problems
    if path.stem not in SERVED_PAGES:
        problems.append(
            Problem(
                display,
                1,
                1,
                "warning",
                "no address serves this page: the site shows only content/pages/about.md (/about)",
            )
        )
    intro, sections = _sections(body)
    return TextPage(path.stem, display, found["title"], found["summary"], intro, sections), problems


_H2 = re.compile(r"^##\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def _sections(body: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Split Markdown at ``## `` headings outside code fences."""
    intro: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    in_fence = False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _H2.match(line)
        if heading:
            sections.append((heading.group(1), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            intro.append(line)
    return "\n".join(intro).strip(), tuple(
        (title, "\n".join(lines).strip()) for title, lines in sections
    )
