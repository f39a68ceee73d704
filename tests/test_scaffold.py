"""``nicepick new``: a draft that passes ``check``, and no overwrites or duplicate pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.commands.check import check
from app.commands.scaffold import ScaffoldError, options_from_title, scaffold
from app.content.library import Library
from tests.conftest import GOOD

TITLE = "Redis vs Memcached vs Dragonfly"


def test_new_writes_a_draft_that_passes_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", TITLE, "--category", "Databases", "--content", str(tmp_path)]) == 0
    path = tmp_path / "redis-vs-memcached-vs-dragonfly.md"
    assert capsys.readouterr().out.strip() == str(path)
    assert main(["check", "--content", str(tmp_path)]) == 0
    report = check(tmp_path)
    assert report.errors == 0
    assert {p.message for p in report.problems} == {
        'placeholder "TODO" left in: replace it before publishing'
    }
    comparison = Library.scan(tmp_path).comparisons["redis-vs-memcached-vs-dragonfly"]
    assert comparison.draft is True
    assert comparison.category == "Databases"
    assert comparison.option_names == ("Redis", "Memcached", "Dragonfly")
    assert [case.option for case in comparison.use_cases] == ["Redis", "Memcached", "Dragonfly"]
    assert all(option.pros and option.cons for option in comparison.options)


def test_placeholders_are_what_strict_check_fails_on(tmp_path: Path) -> None:
    scaffold("Vim vs Emacs", tmp_path)
    assert check(tmp_path).exit_code(strict=True) == 1


def test_new_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "vim-vs-emacs.md"
    existing.write_text(GOOD)
    assert main(["new", "Vim vs Emacs", "--content", str(tmp_path)]) == 1
    assert f"{existing} already exists" in capsys.readouterr().err
    assert existing.read_text() == GOOD


def test_new_refuses_a_pair_that_exists_in_another_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "editors").mkdir()
    existing = tmp_path / "editors" / "vim-vs-emacs.md"
    existing.write_text(GOOD)
    assert main(["new", "Emacs vs Vim", "--content", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    # Shown relative to the working directory, which is tmp_path (tests/conftest.py).
    assert f"{existing.relative_to(tmp_path)} already compares Emacs, Vim" in err
    assert not (tmp_path / "emacs-vs-vim.md").exists()


def test_new_refuses_a_reversed_pair_even_when_that_file_is_broken(tmp_path: Path) -> None:
    (tmp_path / "vim-vs-emacs.md").write_text(GOOD.replace("pick: Vim", "pick: Nano"))
    with pytest.raises(ScaffoldError, match="vim-vs-emacs.md already compares"):
        scaffold("Emacs vs Vim", tmp_path)


@pytest.mark.parametrize(
    ("title", "options"),
    [
        ("Redis vs Memcached", ["Redis", "Memcached"]),
        ("Redis VS. Memcached versus Dragonfly", ["Redis", "Memcached", "Dragonfly"]),
        ("C++ vs Rust", ["C++", "Rust"]),
    ],
)
def test_options_come_from_the_title(title: str, options: list[str]) -> None:
    assert options_from_title(title) == options


@pytest.mark.parametrize("title", ["Redis", "Redis vs redis"])
def test_title_must_name_two_different_options(title: str) -> None:
    with pytest.raises(ScaffoldError):
        options_from_title(title)


def test_names_that_need_quoting_stay_valid_yaml(tmp_path: Path) -> None:
    scaffold("Yes vs No: the Tool", tmp_path, category="Dev: Tools")
    report = check(tmp_path)
    assert report.errors == 0, [str(p) for p in report.problems]
    comparison = next(iter(Library.scan(tmp_path).comparisons.values()))
    assert comparison.option_names == ("Yes", "No: the Tool")
    assert comparison.category == "Dev: Tools"


# (id, title, the options the draft must name): names YAML would read as something else when
# written plain (numbers, booleans, null), quotes and backslashes, YAML punctuation.
ODD_TITLES = [
    ("numbers", "1e3 vs 0x10", ("1e3", "0x10")),
    ("octal-and-float", "010 vs 1.0", ("010", "1.0")),
    ("booleans", "Yes vs No", ("Yes", "No")),
    ("null-and-tilde", "Null vs ~tilde", ("Null", "~tilde")),
    ("quotes-and-backslash", 'The "Quoted" vs Back\\slash', ('The "Quoted"', "Back\\slash")),
    ("yaml-punctuation", "Vim: an editor vs [Emacs] {x}", ("Vim: an editor", "[Emacs] {x}")),
    ("comment-and-anchor", "A #1 vs &B *C", ("A #1", "&B *C")),
    ("leading-dash", "- dash vs @at `tick`", ("- dash", "@at `tick`")),
]


@pytest.mark.parametrize(
    ("title", "options"), [c[1:] for c in ODD_TITLES], ids=[c[0] for c in ODD_TITLES]
)
def test_every_draft_new_writes_passes_check(
    title: str, options: tuple[str, ...], tmp_path: Path
) -> None:
    assert main(["new", title, "--category", "Databases", "--content", str(tmp_path)]) == 0
    report = check(tmp_path)
    assert [str(p) for p in report.problems if p.severity == "error"] == []
    (comparison,) = Library.scan(tmp_path).comparisons.values()
    assert comparison.option_names == options
    assert comparison.pick == options[0]


@pytest.mark.parametrize("title", ["Vim vs Emacs\nrm", "Vim\rvs Emacs", "Vim vs Em\x1bacs"])
def test_a_title_with_a_control_character_is_refused(title: str, tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="one line of printable text"):
        scaffold(title, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_commented_examples_parse_once_uncommented(tmp_path: Path) -> None:
    path = scaffold(TITLE, tmp_path, category="Databases", today="2026-11-28")
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("# authors: [your-slug]        # content/authors/<slug>.md of each writer")
    end = lines.index("---", 1)
    uncommented = lines[:start] + [line[2:] for line in lines[start:end]] + lines[end:]
    path.write_text("\n".join(uncommented) + "\n", encoding="utf-8")
    (tmp_path / "authors").mkdir()
    (tmp_path / "authors" / "your-slug.md").write_text(
        "---\nname: Your Name\nrole: Writer\n---\nA bio.\n", encoding="utf-8"
    )
    report = check(tmp_path)
    assert report.errors == 0, [str(p) for p in report.problems]
    comparison = Library.scan(tmp_path).comparisons["redis-vs-memcached-vs-dragonfly"]
    assert comparison.authors == ("your-slug",)
    assert [name for name, _ in comparison.tested] == ["Redis", "Memcached", "Dragonfly"]
    assert comparison.sources[0].url == "https://example.org/docs/"
    assert [c.note for c in comparison.changes] == ["Published."]


def test_a_title_too_long_for_a_file_name_is_refused_with_a_message(tmp_path: Path) -> None:
    # The file is <title's address>.md: past 255 bytes `nicepick new` ended in a traceback.
    with pytest.raises(ScaffoldError, match="at most 100 characters"):
        scaffold(f"{'a' * 250} vs b", tmp_path)
    assert list(tmp_path.iterdir()) == []
