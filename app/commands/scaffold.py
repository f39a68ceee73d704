"""``nicepick new "A vs B"``: a new draft comparison with every section in place.

The placeholders say ``TODO`` so ``nicepick check`` lists each one as a warning (the draft is
valid, it just is not finished); nothing in the file is an error, so the draft loads and
previews with ``nicepick serve --drafts`` straight away.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import yaml

from app.content.library import Library
from app.content.model import pair_key, slugify
from app.content.parse import MAX_ADDRESS
from app.content.problems import shorten
from app.content.sources import discover

_VS = re.compile(r"\s+(?:vs\.?|versus)\s+", re.IGNORECASE)


class ScaffoldError(Exception):
    """The scaffold was refused; the message says why and names any existing file."""


def options_from_title(title: str) -> list[str]:
    """``"Redis vs Memcached vs Dragonfly"`` -> ``["Redis", "Memcached", "Dragonfly"]``."""
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in title.strip()):
        # The same rule check applies to names: one line of printable text.
        raise ScaffoldError(f"{title!r}: the title must be one line of printable text")
    options = [part.strip() for part in _VS.split(title.strip()) if part.strip()]
    if len(options) < 2:
        raise ScaffoldError(f'"{title}" names one option; write it as "A vs B" (or "A vs B vs C")')
    if len({slugify(option) for option in options}) != len(options):
        raise ScaffoldError(f'"{title}" names the same option twice')
    if any(not slugify(option) for option in options):
        raise ScaffoldError(f'"{title}": every option needs letters or digits in its name')
    # The file's name is the title's address, and each option's page has its own: as `check`
    # bounds them (MAX_ADDRESS), and file systems refuse names of more than 255 bytes.
    if any(len(slugify(name)) > MAX_ADDRESS for name in (*options, title)):
        raise ScaffoldError(
            f"\"{shorten(title)}\" is too long: the page's address, and each option's, "
            f"must be at most {MAX_ADDRESS} characters"
        )
    return options


def scaffold(
    title: str, content_dir: Path, *, category: str | None = None, today: str | None = None
) -> Path:
    """Write ``<content>/<slug>.md`` and return its path; refuse to overwrite or duplicate."""
    options = options_from_title(title)
    slug = slugify(title)
    path = content_dir / f"{slug}.md"
    if path.exists():
        raise ScaffoldError(f"{path} already exists; edit it, or pick another title")
    existing = _existing_pair(content_dir, options, slug)
    if existing is not None:
        raise ScaffoldError(
            f"{existing} already compares {', '.join(options)} (in another order); edit that file"
        )
    content_dir.mkdir(parents=True, exist_ok=True)
    text = render_scaffold(
        title=" vs ".join(options),
        options=options,
        category=category,
        published=today or datetime.now(UTC).date().isoformat(),
    )
    # "x" mode: never clobber a file that appeared since the check above.
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _existing_pair(content_dir: Path, options: list[str], slug: str) -> str | None:
    """The file that already compares these options, by its parsed options or its name."""
    if not content_dir.is_dir():
        return None
    key = pair_key([slugify(option) for option in options])
    library = Library.scan(content_dir)
    if key in library.by_pair:
        return library.comparisons[library.by_pair[key]].source
    # A file that does not parse yet still claims its pair through its name.
    for source in discover(content_dir):
        stem = slugify(source.slug)
        if stem == slug or pair_key(stem.split("-vs-")) == key:
            return source.display
    return None


def _yaml_text(value: str) -> str:
    """A YAML scalar that reads back as this exact text: plain when YAML reads it so
    ("Redis"), else double-quoted (``1e3`` is a float and ``0x10`` is 16 when plain).

    JSON's string syntax is a subset of YAML's double-quoted scalars, so ``json.dumps`` quotes
    every character safely.
    """
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 .+#/()_-]*", value) and _reads_back(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _reads_back(value: str) -> bool:
    try:
        return bool(yaml.safe_load(f"k: {value}") == {"k": value})
    except yaml.YAMLError:
        return False


def record_examples(options: list[str], today: str) -> list[str]:
    """The fields readers check a page by, as commented examples: uncommented and filled in,
    they parse (tests/test_scaffold.py uncomments them)."""
    versions = [f'#   {_yaml_text(option)}: "1.0"' for option in options]
    return [
        "# Before publishing, uncomment and fill in (content/README.md, Fields):",
        "# authors: [your-slug]        # content/authors/<slug>.md of each writer",
        f"# checked: {today}          # the day you last verified the facts",
        "# tested:                     # the version each option's facts were checked on",
        *versions,
        "# sources:                    # shown numbered as Sources; cite as [^1] in the text",
        "#   - title: Official documentation",
        "#     url: https://example.org/docs/",
        f"#     accessed: {today}",
        "# changes:                    # newest first; the last entry is the publication",
        f"#   - date: {today}",
        "#     note: Published.",
    ]


def render_scaffold(*, title: str, options: list[str], category: str | None, published: str) -> str:
    """The draft's text: front matter, intro, one section per option, Verdict, Bottom line."""
    names = ", ".join(_yaml_text(option) for option in options)
    category_line = _yaml_text(category) if category else '"TODO category, e.g. Databases"'
    lines = [
        "---",
        f"title: {_yaml_text(title)}",
        f"category: {category_line}",
        'summary: "TODO one sentence for lists and search results, under 160 characters"',
        f"options: [{names}]",
        f"pick: {_yaml_text(options[0])}  # TODO the option you recommend; must be in options",
        "tags: []",
        f"published: {published}",
        "draft: true  # remove this line (or set false) to publish",
        *record_examples(options, published),
        "---",
        "TODO intro: what these options are for and what the choice comes down to.",
        "",
    ]
    for option in options:
        lines += [
            f"## {option}",
            f"TODO describe {option} in two or three sentences: what it is, how it works.",
            "",
            "### Pros",
            f"- TODO a specific strength of {option}: a number, a mechanism or a real limit",
            "### Cons",
            f"- TODO a specific weakness of {option}: a number, a mechanism or a real limit",
            "### Related",
            f"- {slugify(option)}",
            "",
        ]
    lines += [
        "## Verdict",
        "TODO how to choose, in a paragraph.",
        "",
    ]
    for option in options:
        lines += [f"### Use {option} if", f"TODO the situation where {option} is the answer.", ""]
    lines += [
        "## Bottom line",
        f"TODO why {options[0]} wins.",
        "",
    ]
    return "\n".join(lines)
