"""content/README.md, the editors' guide: its complete example stays valid, its messages real."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from app.content.parse import parse_text

ROOT = Path(__file__).resolve().parent.parent
MESSAGE_WORDS = re.compile(
    r"\b(must|missing|unknown|duplicate|already|empty|needs|placeholder|exist|same|not)\b"
)
GUIDE = (ROOT / "content" / "README.md").read_text(encoding="utf-8")


def complete_example() -> str:
    match = re.search(r"^```markdown\n(.*?)^```$", GUIDE, flags=re.MULTILINE | re.DOTALL)
    assert match is not None, "the guide lost its ```markdown example"
    return match.group(1)


def test_complete_example_parses_without_problems() -> None:
    comparison, problems = parse_text(
        complete_example(), path="content/vim-vs-emacs.md", slug="vim-vs-emacs"
    )
    assert problems == []
    assert comparison is not None
    assert comparison.option_names == ("Vim", "Emacs") and comparison.pick == "Vim"
    assert comparison.updated == date(2026, 2, 3)
    assert comparison.aliases == ("emacs-or-vim", "vi-vs-emacs")
    assert [case.option for case in comparison.use_cases] == ["Vim", "Emacs"]


def test_complete_example_uses_every_field() -> None:
    from app.content.parse import KNOWN_FIELDS

    front_matter = complete_example().split("---\n")[1]
    used = {line.split(":", 1)[0] for line in front_matter.splitlines() if ":" in line}
    assert used == set(KNOWN_FIELDS)


@pytest.mark.parametrize(
    "command", ["nicepick check", "nicepick new", "serve --reload", "--drafts", "--strict"]
)
def test_guide_documents_every_command(command: str) -> None:
    assert command in GUIDE


def test_guide_lists_every_message_check_can_print() -> None:
    """Each message template in the parser and library appears in the guide's tables."""
    sources = [
        ROOT / "app/content/parse.py",
        ROOT / "app/content/library.py",
        ROOT / "app/content/reading.py",
        ROOT / "app/content/profiles.py",
    ]
    stems: set[str] = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        for literal in re.findall(r"""f?(['"])(.+?)\1""", text):
            message = literal[1]
            # The fixed words of a message: the longest run without a {placeholder}.
            words = max(re.split(r"\{[^}]*\}", message), key=len).strip(' "(')
            if MESSAGE_WORDS.search(message) and len(words) >= 12:
                stems.add(words)
    missing = sorted(stem for stem in stems if stem not in GUIDE)
    assert missing == []
