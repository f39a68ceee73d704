"""What a comparison page shows first: the pick's reason, a "best for" line per option, and
the verdict's table lifted out of the verdict to stand side by side above the option cards.

Plain functions over the editor's Markdown; the template renders what they return.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.content.model import Comparison

# A sentence ends at . ! or ? followed by a space and a capital, digit, quote or bracket:
# "e.g. the" and "v1.2" stay inside one sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[*_`])")
# Possessive (*+): with plain \s* runs side by side, a row of dashes then thousands of spaces
# and a letter took cubic time to refuse (3.7 s at 16,000 spaces).
_DELIMITER_ROW = re.compile(r"^\s*+\|?\s*+:?-{3,}+:?\s*+(?:\|\s*+:?-{3,}+:?\s*+)*+\|?\s*+$")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_YOU = re.compile(r"^(You|Your|You're|You've)\b")
_YES = frozenset({"yes", "✓", "✔"})
_NO = frozenset({"no", "✗", "✘"})


def first_sentence(markdown: str) -> str:
    """The first sentence of the first paragraph, as inline Markdown."""
    paragraph = markdown.strip().split("\n\n", 1)[0]
    paragraph = " ".join(paragraph.split())
    return _SENTENCE_END.split(paragraph, maxsplit=1)[0]


def reason(comparison: Comparison) -> str:
    """Why the pick wins in one line: the editor's ``why``, else the Bottom line's first
    sentence (inline Markdown)."""
    return comparison.why or first_sentence(comparison.bottom_line)


@dataclass(frozen=True, slots=True)
class BestFor:
    option: str
    slug: str
    text: str  # inline Markdown: the first sentence of "Use <option> if"
    is_pick: bool
    # True when ``text`` continues "<option> if ..." ("you run ..."), False for a sentence
    # of its own (shown after a colon).
    continues: bool = False


def best_for(comparison: Comparison) -> tuple[BestFor, ...]:
    """One line per option that has a "Use <option> if" verdict, in option order."""
    cases = {case.option: case for case in comparison.use_cases}
    lines = []
    for option in comparison.options:
        if option.name not in cases:
            continue
        sentence = first_sentence(cases[option.name].body)
        # "You run ..." reads on from the heading "Use X if": "X if you run ...".
        continues = _YOU.match(sentence) is not None
        lines.append(
            BestFor(
                option=option.name,
                slug=option.slug,
                text=sentence[0].lower() + sentence[1:] if continues else sentence,
                is_pick=option.name == comparison.pick,
                continues=continues,
            )
        )
    return tuple(lines)


@dataclass(frozen=True, slots=True)
class Cell:
    text: str  # inline Markdown
    mark: str | None = None  # "yes" or "no" when the cell says just that: shown as icon + text


@dataclass(frozen=True, slots=True)
class Column:
    label: str  # inline Markdown
    is_pick: bool


@dataclass(frozen=True, slots=True)
class SideBySide:
    """A Markdown pipe table: header labels (the first one heads the row labels), then rows."""

    corner: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, tuple[Cell, ...]], ...]


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip() for cell in _UNESCAPED_PIPE.split(line)]


def _cell(text: str) -> Cell:
    word = text.strip("*_ ").casefold()
    mark = "yes" if word in _YES else "no" if word in _NO else None
    return Cell(text=text, mark=mark)


def split_table(markdown: str, pick: str) -> tuple[SideBySide | None, str]:
    """The first pipe table in ``markdown`` and the Markdown without it.

    Only a table outside code fences, with a header, a delimiter row and at least one row,
    is taken; the header cell that names ``pick`` marks the pick's column.
    """
    lines = markdown.split("\n")
    fenced = False
    for start, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if fenced or start + 1 >= len(lines) or "|" not in line:
            continue
        if not _DELIMITER_ROW.match(lines[start + 1]):
            continue
        header = _cells(line)
        if len(header) < 2:  # before the rows are scanned: thousands of these stay linear
            continue
        end = start + 2
        while end < len(lines) and "|" in lines[end] and lines[end].strip():
            end += 1
        if end == start + 2:
            continue
        width = len(header)
        rows = []
        for row_line in lines[start + 2 : end]:
            cells = (_cells(row_line) + [""] * width)[:width]
            rows.append((_cell(cells[0]), tuple(_cell(cell) for cell in cells[1:])))
        table = SideBySide(
            corner=header[0],
            columns=tuple(Column(label, label.strip("*_ ") == pick) for label in header[1:]),
            rows=tuple(rows),
        )
        rest = "\n".join(lines[:start] + lines[end:])
        return table, rest
    return None, markdown
