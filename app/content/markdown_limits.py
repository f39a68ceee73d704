"""How much Markdown one part of a page may hold, and how deep: bounds no editor reaches.

Python-Markdown recurses once per nested list or quote level (a 300-level list raised
``RecursionError``) and looks for the "]" of every "[" through the rest of its paragraph
(twenty thousand "[" took 90 s). The parser reports a part over these bounds with its line
and column (``nicepick check``); the renderer enforces the same bounds again
(``app.render.markup.markdown_to_html``), so a part that slipped through renders as a notice.

Measured on the shipped content (17 comparisons): the largest part (a section's text or a
subsection's list) is 771 characters, the deepest nesting 1 level, and no part has more
than one "[".
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator

# Forty times the largest shipped part; with the nesting bound, any part renders in well
# under a second (bench/RESULTS.md has the worst cases measured).
MAX_PART_CHARS = 32_000
# markdown-it, the CommonMark reference parser for JavaScript, stops nesting at 20 levels in
# its CommonMark preset ("maxNesting: 20, internal protection, recursion limit"):
# https://github.com/markdown-it/markdown-it/blob/master/lib/presets/commonmark.mjs
MAX_NESTING = 20
# The "]" searches of one rendering may read each character a few times over (a link's text
# once, a nested link's twice), plus a constant for short parts; beyond that the renderer
# stops looking and leaves the remaining "[" as text. The check applies the same budget.
SCAN_PER_CHARACTER = 4
SCAN_CONSTANT = 500

# Headings and horizontal rules in one part. Python-Markdown's heading (setext and "#") and
# rule processors each split the rest of their block and queue it again, so each one costs
# the length of what follows it: 7,500 setext headings in one 30,000-character part took 16 s.
# A hundred keep the worst part under a second (bench/RESULTS.md); the shipped parts have none
# (they are split at "##" and "###" headings before this count).
MAX_BREAKS = 100

_BREAK = re.compile(r" {0,3}(?:#{1,6}(?:[ \t]|$)|(?:=+|-+)[ \t]*$|([-*_])(?:[ \t]*\1){2,}[ \t]*$)")
_CONTAINER = re.compile(r" {0,3}(?:>|[-*+](?=\s)|\d{1,9}[.)](?=\s))\s?")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_BLOCK_START = re.compile(r"^\s*(?:[-*+]\s|\d{1,9}[.)]\s|\||#)")


# Every character ``nesting`` reads is indentation, a list or quote marker, or the space after
# one, and each level takes at least one of them (a tab is four columns): a line nested
# deeper than ``MAX_NESTING`` starts with more than ``MAX_NESTING`` such characters.
# Written with "\n" rather than "^" and MULTILINE: a literal prefix lets the search skip from
# line to line instead of trying every position (four times faster).
_DEEP_PREFIX = re.compile(rf"\n(?:[>*+\-.)\d]|[^\S\n]){{{MAX_NESTING + 1}}}")


def may_be_too_deep(text: str) -> bool:
    """False when no line of ``text`` can be nested deeper than ``MAX_NESTING``: one search
    over a whole body, so ``too_deep`` runs on the rare part that needs it."""
    return _DEEP_PREFIX.search("\n" + text) is not None


# Each byte of printable ASCII text as ``_DEEP_PREFIX`` sees it: 1 for a character it counts
# (in such text its whitespace is a space or a tab), 0 for any other, a newline as it is;
# 2 for a byte printable text cannot hold (a control character, anything past ASCII).
_CLASSES = bytes(
    0x0A
    if byte == 0x0A
    else 2
    if (byte < 0x20 and byte != 0x09) or byte >= 0x7F
    else 1
    if chr(byte) in ">*+-.)0123456789 \t"
    else 0
    for byte in range(256)
)
_DEEP_RUN = b"\n" + b"\x01" * (MAX_NESTING + 1)


def printable_and_deep(text: str) -> tuple[bool, bool]:
    """(whether ``text`` is printable ASCII, tabs and newlines only; ``may_be_too_deep``).

    For most bodies both come from one translation of the text's bytes and two searches of
    the result: the regular expression's search alone, which steps through the text one
    character at a time, took longer than both, and the printable test was a second pass.
    """
    if text.isascii():
        classes = text.encode("ascii").translate(_CLASSES)
        if 2 not in classes:
            return True, _DEEP_RUN in b"\n" + classes
    return False, may_be_too_deep(text)


def scan_budget(length: int) -> int:
    """How many characters the "]" searches may read in a part of ``length`` characters."""
    return SCAN_PER_CHARACTER * length + SCAN_CONSTANT


def nesting(line: str) -> tuple[int, int]:
    """(levels, column of the deepest marker) of one line's lists and quotes.

    Each four columns of indentation is a level (Python-Markdown nests a list four spaces
    in), and so is each ``>`` or list marker that follows.
    """
    width = position = 0
    while position < len(line) and line[position] in " \t":
        width = width + 4 - width % 4 if line[position] == "\t" else width + 1
        position += 1
    depth, column = width // 4, position + 1  # columns count characters, as editors do
    while True:
        match = _CONTAINER.match(line, position)
        if match is None or match.end() == position:
            break
        depth += 1
        column = position + (len(match.group(0)) - len(match.group(0).lstrip(" "))) + 1
        position = match.end()
    return depth, column


def too_deep(lines: Iterable[tuple[int, str]]) -> tuple[int, int, int] | None:
    """(line, column, levels) of the first line nested deeper than ``MAX_NESTING``, code
    fences skipped; None when every line is within the bound."""
    in_fence = False
    for number, line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or not line.strip():
            continue
        depth, column = nesting(line)
        if depth > MAX_NESTING:
            return number, column, depth
    return None


def _blocks(lines: list[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    """Runs of lines Markdown reads inline as one text: paragraphs, each list item, each
    table row or heading (a blank line or a new item, row or heading starts the next)."""
    block: list[tuple[int, str]] = []
    in_fence = False
    for number, line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            if block:
                yield block
            block = []
            continue
        if in_fence:
            continue
        if not line.strip() or _BLOCK_START.match(line):
            if block:
                yield block
            block = []
        if line.strip():
            block.append((number, line))
    if block:
        yield block


def costly_brackets(lines: list[tuple[int, str]]) -> tuple[int, int, int] | None:
    """(line, column, count) of the first unclosed "[" of a part whose "]" searches would
    read more than ``scan_budget`` characters, with how many "[" are unclosed; else None.

    Each "[" is searched forward to its matching "]" (nested pairs counted), or to the end
    of its block when it has none, as Python-Markdown does; backslash-escaped brackets are
    text. One pass with a stack: linear in the part.
    """
    length = sum(len(line) + 1 for _, line in lines)
    # Each "[" costs at most the part's length (its block is within the part), so a part
    # whose "[" count times its length fits the budget cannot exceed it: the common case
    # (prose with a few links) skips the character-by-character scan below.
    if sum(line.count("[") for _, line in lines) * length <= scan_budget(length):
        return None
    cost = 0
    unclosed: list[tuple[int, int]] = []
    for block in _blocks(lines):
        text = "\n".join(line for _, line in block)
        starts: list[int] = []  # offsets in ``text`` where each line starts
        offset = 0
        for _, line in block:
            starts.append(offset)
            offset += len(line) + 1
        stack: list[int] = []
        escaped = False
        for index, character in enumerate(text):
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == "[":
                stack.append(index)
            elif character == "]" and stack:
                cost += index - stack.pop()
        for index in stack:
            cost += len(text) - index
            row = bisect.bisect_right(starts, index) - 1
            unclosed.append((block[row][0], index - starts[row] + 1))
    if cost <= scan_budget(length) or not unclosed:
        return None
    first_line, first_column = unclosed[0]
    return first_line, first_column, len(unclosed)


def too_many_breaks(lines: Iterable[tuple[int, str]]) -> tuple[int, int, int] | None:
    """(line, column, count) of the first heading or rule past ``MAX_BREAKS`` in a part, with
    how many the part has, code fences skipped; None when within the bound."""
    in_fence = False
    count = 0
    first: tuple[int, int] | None = None
    for number, line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or _BREAK.match(line) is None:
            continue
        count += 1
        if count == MAX_BREAKS + 1:
            first = (number, len(line) - len(line.lstrip(" ")) + 1)
    if first is None:
        return None
    return first[0], first[1], count
