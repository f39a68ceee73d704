"""content/README.md, the editors' guide: its complete example stays valid, its messages real."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from app.content.parse import parse_text
from tests.conftest import GOOD

ROOT = Path(__file__).resolve().parent.parent
MESSAGE_WORDS = re.compile(
    r"\b(must|missing|unknown|duplicate|already|empty|needs|placeholder|exist|same|not)\b"
)
GUIDE = (ROOT / "content" / "README.md").read_text(encoding="utf-8")


# A ```markdown example follows the line naming the shipped file it copies: `content/x.md`.
EXAMPLE = re.compile(
    r"^`(content/[\w/-]+\.md)`[^\n]*\n(?:[^\n]+\n)*\n```markdown\n(.*?)^```$",
    flags=re.MULTILINE | re.DOTALL,
)


def examples() -> list[tuple[str, str]]:
    """(shipped file, the guide's copy) for every ```markdown example of the guide."""
    found = [(m.group(1), m.group(2)) for m in EXAMPLE.finditer(GUIDE)]
    assert len(found) == GUIDE.count("```markdown"), "a ```markdown example names no file"
    assert found, "the guide lost its ```markdown example"
    return found


def test_every_example_is_the_shipped_file_it_names_and_parses() -> None:
    for name, example in examples():
        # Whoever changes the file changes the guide, and the other way round.
        assert example == (ROOT / name).read_text(encoding="utf-8"), f"{name} and the guide differ"
        comparison, problems = parse_text(example, path=name, slug=Path(name).stem)
        assert [str(p) for p in problems if p.severity == "error"] == []
        assert comparison is not None and comparison.pick in comparison.option_names


def test_the_record_example_parses_in_a_comparison() -> None:
    """The ```yaml example of the new fields, put in a comparison of Vim and Emacs."""
    match = re.search(r"^```yaml\n(authors:.*?)^```$", GUIDE, flags=re.MULTILINE | re.DOTALL)
    assert match is not None, "the guide lost its example of the record fields"
    text = GOOD.replace("published: 2026-01-15\n", "published: 2026-01-15\n" + match.group(1))
    comparison, problems = parse_text(text, path="f.md", slug="vim-vs-emacs", today=date.max)
    assert problems == []
    assert comparison is not None and comparison.sources and comparison.changes


def test_the_fields_table_documents_every_field() -> None:
    from app.content.parse import KNOWN_FIELDS

    table = GUIDE.split("## Fields", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE))
    assert documented == set(KNOWN_FIELDS)


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
        ROOT / "app/content/sources.py",
        ROOT / "app/content/reading.py",
        ROOT / "app/content/profiles.py",
        ROOT / "app/content/record.py",
        ROOT / "app/content/people.py",
        ROOT / "app/commands/check.py",
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
