"""The preview watcher: what the operating system names is looked at again, and only that,
with the same answers a full poll would give."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from app.content.watch import Changes, Watcher


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    found = {name: tmp_path / name for name in ("content", "templates", "static")}
    for folder in found.values():
        folder.mkdir()
    (found["content"] / "a-vs-b.md").write_text("one", encoding="utf-8")
    return found


def _watcher(folders: dict[str, Path], applied: list[Changes]) -> Watcher:
    watcher = Watcher(
        content_dir=folders["content"],
        templates_dir=folders["templates"],
        static_dir=folders["static"],
        apply=applied.append,
        notify=False,
    )
    watcher.start()
    watcher.stop()  # snapshots taken; notifications are handed in by hand below
    return watcher


def test_a_named_file_that_changed_is_applied_once(folders: dict[str, Path]) -> None:
    applied: list[Changes] = []
    watcher = _watcher(folders, applied)
    page = folders["content"] / "a-vs-b.md"
    page.write_text("two, longer", encoding="utf-8")
    assert watcher.notified([str(page)]).content == {page}
    # The same path named again (editors save in several steps): nothing new to apply.
    assert not watcher.notified([str(page)])
    assert len(applied) == 1 and watcher.generation == 1


def test_editor_litter_and_hidden_folders_are_not_content(folders: dict[str, Path]) -> None:
    watcher = _watcher(folders, [])
    swap = folders["content"] / ".a-vs-b.md.swp"
    swap.write_text("x", encoding="utf-8")
    hidden = folders["content"] / ".git" / "c-vs-d.md"
    hidden.parent.mkdir()
    hidden.write_text("x", encoding="utf-8")
    assert not watcher.notified([str(swap), str(hidden)])


def test_a_folder_moved_in_or_away_counts_as_its_files(
    folders: dict[str, Path], tmp_path: Path
) -> None:
    watcher = _watcher(folders, [])
    outside = tmp_path / "drafts"
    outside.mkdir()
    (outside / "c-vs-d.md").write_text("x", encoding="utf-8")
    moved = folders["content"] / "drafts"
    shutil.move(outside, moved)
    assert watcher.notified([str(moved)]).content == {moved / "c-vs-d.md"}
    shutil.move(moved, outside)
    assert watcher.notified([str(moved)]).content == {moved / "c-vs-d.md"}
    assert watcher.poll().content == frozenset()  # a full poll finds nothing left to apply


def test_templates_and_static_files_are_told_apart(folders: dict[str, Path]) -> None:
    watcher = _watcher(folders, [])
    template = folders["templates"] / "base.html"
    template.write_text("x", encoding="utf-8")
    changes = watcher.notified([str(template), os.fspath(folders["content"].parent / "x")])
    assert changes.templates and not changes.static and not changes.content
