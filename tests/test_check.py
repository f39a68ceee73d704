"""``nicepick check``: one real broken file per rule, and the exact ``path:line:col`` reported."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from app.cli import main
from app.commands import check as check_module
from app.commands.check import check, format_report
from app.content import library as library_module
from app.content.cache import ParseCache
from app.content.model import Comparison, Problem
from app.content.parallel import prime
from app.content.sources import SourceFile, discover, parse_file

ROOT = Path(__file__).resolve().parent.parent
BROKEN = Path("tests/fixtures/broken")  # relative: messages name files as editors see them
F = "vim-vs-emacs.md"

CASES = {
    "yaml-syntax": [f"{F}:4:22: error: YAML syntax: mapping values are not allowed in this context"],
    "unknown-field": [f'{F}:3:1: error: unknown field "catagory" (did you mean "category"?)'],
    "missing-field": [f'{F}:2:1: error: missing required field "summary"'],
    "mistyped-field": [f'{F}:5:10: error: "options" must be a list of names, e.g. [A, B]'],
    "pick-not-option": [f'{F}:6:7: error: pick "Nano" is not one of the options (Vim, Emacs)'],
    "invalid-date": [f'{F}:8:12: error: "published" must be a date like 2026-11-24, not "2026-02-30"'],
    "missing-option-section": [f'{F}:5:1: error: option "Emacs" has no "## Emacs" section'],
    "missing-pros": [f'{F}:12:1: error: option "Vim" has no "### Pros" list'],
    "stray-section": [
        f'{F}:5:1: error: option "Emacs" has no "## Emacs" section',
        f'{F}:23:4: error: section "## Nano" names no option (options: Vim, Emacs; or Verdict, Bottom line)',
    ],
    "duplicate-slug": [f'b/{F}:1:1: error: duplicate slug "vim-vs-emacs": tests/fixtures/broken/duplicate-slug/a/{F} already uses it'],
    "reversed-pair": [f"{F}:5:10: error: tests/fixtures/broken/reversed-pair/emacs-vs-vim.md already compares the same options (Emacs, Vim)"],
    "broken-link": [f"{F}:10:76: error: link to /compare/tmux-vs-screen, which does not exist"],
    "reversed-link": [
        f"{F}:10:74: warning: link to /compare/emacs-vs-vim, which redirects to "
        "/compare/vim-vs-emacs: link that address"
    ],
    "listing-link": [
        f"{F}:10:90: warning: link to /tag/edtors, which does not exist (did you mean /tag/editors?)",
        f"{F}:11:21: warning: link to /best/dev-tool, which does not exist (did you mean /best/dev-tools?)",
        f"{F}:11:64: warning: link to /author/ana, which does not exist",
    ],
    "filler": [f'{F}:19:3: warning: filler "specific tradeoffs": say something specific (a number, a mechanism, a limit)'],
    "empty-list": [f'{F}:30:1: warning: "### Related" under "Emacs" is empty'],
    "duplicate-pro": [f'{F}:27:3: warning: the same pro appears under "Vim" and "Emacs"'],
    "long-summary": [f"{F}:4:10: warning: summary is 172 characters; keep it under 160 so search engines show it whole"],
    # Markdown that would cost minutes or crash the renderer, and front matter that explodes.
    "deep-nesting": [
        f'{F}:12:1: error: "## Vim" is 47,268 characters; a part may have at most 32,000: split it into subsections or shorten it',
        f"{F}:35:21: error: lists and quotes nested 21 levels deep; at most 20 are shown: flatten the structure",
    ],
    "unclosed-brackets": [f'{F}:16:13: error: 20,000 unclosed "[" in "### Pros": Markdown searches the rest of the paragraph for each "]"; close each link or write a literal bracket as \\['],
    "oversized-part": [f'{F}:33:1: error: "## Verdict" is 34,056 characters; a part may have at most 32,000: split it into subsections or shorten it'],
    "yaml-alias": [f"{F}:7:7: error: YAML anchors and aliases (&name, *name) are not allowed: write each value out"],
    "control-characters": [
        f'{F}:2:8: error: "title" contains a control character (U+000B): names and titles must be one line of printable text',
        f'{F}:5:16: error: "options" contains a control character (U+001C): names and titles must be one line of printable text',
    ],
    "huge-number": [f"{F}:2:8: error: YAML syntax: a number of 5,001 characters; at most 100 (put text in quotes)"],
    "duplicate-key": [f"{F}:7:1: error: duplicate key 'title'"],
    "nameless-url": [
        f'{F}:3:11: error: "category" name "Базы данных" gives no URL: a page address is made of the name\'s Latin letters and digits; add some',
        f'{F}:7:8: error: "tags" name "机器学习" gives no URL: a page address is made of the name\'s Latin letters and digits; add some',
        f'{F}:7:14: error: "tags" name "!!!" gives no URL: a page address is made of the name\'s Latin letters and digits; add some',
    ],
    "body-control-characters": [f"{F}:13:9: error: a control character (U+001B) in the text: delete it; it is invisible in an editor and garbles pages and the feed"],
    "many-headings": [f'{F}:215:1: error: 7,500 headings and rules in "## Vim"; a part may have at most 100: split it into subsections'],
    # The page published first keeps the pair; the newcomer gets the error.
    "reversed-pair-newcomer": ["emacs-vs-vim.md:5:10: error: tests/fixtures/broken/reversed-pair-newcomer/vim-vs-emacs.md already compares the same options (Vim, Emacs)"],
}  # fmt: skip


@pytest.fixture(autouse=True)
def _from_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_each_rule_reports_its_exact_position(rule: str) -> None:
    report = check(BROKEN / rule)
    expected = [f"{BROKEN / rule}/{line}" for line in CASES[rule]]
    assert [str(problem) for problem in report.problems] == expected


def test_every_fixture_folder_has_a_case() -> None:
    assert sorted(p.name for p in BROKEN.iterdir() if p.is_dir()) == sorted(CASES)


@pytest.mark.parametrize(
    ("rule", "strict", "code"),
    [("pick-not-option", False, 1), ("filler", False, 0), ("filler", True, 1)],
)
def test_exit_status_fails_on_errors_and_on_warnings_only_when_strict(
    rule: str, strict: bool, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["check", "--content", str(BROKEN / rule)] + (["--strict"] if strict else [])
    assert main(argv) == code
    out = capsys.readouterr().out.splitlines()
    # --strict adds its own warnings (no authors, a tag only this page uses) around it.
    assert f"{BROKEN / rule}/{CASES[rule][0]}" in out
    assert (out[0] == f"{BROKEN / rule}/{CASES[rule][0]}") is not strict


def test_text_output_ends_with_a_summary_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(BROKEN / "stray-section")]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "2 errors, 0 warnings in 1 file"


def test_summary_counts_errors_warnings_and_files(tmp_path: Path) -> None:
    for rule in ("pick-not-option", "filler", "duplicate-pro"):
        (tmp_path / f"{rule}.md").write_text((BROKEN / rule / F).read_text())
    # Three files of the same pair: the two that parse collide, one per pair is kept.
    report = check(tmp_path)
    assert report.summary() == "2 errors, 2 warnings in 3 files"


def test_json_format_lists_problem_objects_and_a_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--format", "json", "--content", str(BROKEN / "pick-not-option")]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["summary"] == {"errors": 1, "warnings": 0, "files": 1}
    assert document["problems"] == [
        {
            "path": f"{BROKEN}/pick-not-option/{F}",
            "line": 6,
            "column": 7,
            "severity": "error",
            "message": 'pick "Nano" is not one of the options (Vim, Emacs)',
        }
    ]


def test_missing_folder_is_an_error() -> None:
    report = check(Path("no/such/folder"))
    assert report.exit_code() == 1
    assert format_report(report).splitlines()[0].endswith("error: content folder does not exist")


def test_server_skips_what_check_reports(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """One source of truth: the library the server loads drops exactly the erroring file."""
    from app.content.library import Library

    (tmp_path / "good.md").write_text((BROKEN / "filler" / F).read_text())
    (tmp_path / "bad.md").write_text((BROKEN / "invalid-date" / F).read_text())
    with caplog.at_level("ERROR", logger="app.content.library"):
        library = Library.load(tmp_path)
    assert sorted(library.comparisons) == ["good"]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f'{tmp_path / "bad.md"}:8:12: error: "published" must be a date like 2026-11-24, '
        'not "2026-02-30"'
    ]
    assert [p.line for p in check(tmp_path).problems if p.severity == "error"] == [8]


def test_shipped_content_loads_without_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "content"])
    out = capsys.readouterr().out
    assert code == 0, out


def test_a_second_check_parses_only_changed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content, cache = tmp_path / "content", tmp_path / "var"
    content.mkdir()
    for rule in ("pick-not-option", "filler"):
        (content / f"{rule}.md").write_text((BROKEN / rule / F).read_text())
    parsed: list[str] = []
    real = parse_file

    def counted(
        source: SourceFile, today: date | None = None
    ) -> tuple[Comparison | None, list[Problem]]:
        parsed.append(source.path.name)
        return real(source, today)

    monkeypatch.setattr(library_module, "parse_file", counted)  # as the library calls it
    first = check(content, cache)
    assert sorted(parsed) == ["filler.md", "pick-not-option.md"]
    parsed.clear()
    (content / "filler.md").write_text((BROKEN / "duplicate-pro" / F).read_text())
    second = check(content, cache)
    assert parsed == ["filler.md"]
    assert second.problems != first.problems
    # The same report as a check without the cache.
    assert second == check(content)


def test_an_unchanged_folder_reuses_the_last_report_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content, cache = tmp_path / "content", tmp_path / "var"
    content.mkdir()
    for rule in ("pick-not-option", "filler"):
        (content / f"{rule}.md").write_text((BROKEN / rule / F).read_text())
    first = check(content, cache)
    scans: list[Path] = []  # each folder a check lists to read its files
    real = discover

    def counted(folder: Path) -> list[SourceFile]:
        scans.append(folder)
        return real(folder)

    monkeypatch.setattr(check_module, "discover", counted)
    assert check(content, cache) == first
    assert scans == []
    # --strict is another question: answered by a scan, then kept apart.
    strict = check(content, cache, strict=True)
    assert scans == [content]
    assert strict == check(content, strict=True)


@pytest.mark.parametrize("change", ["edit", "add", "remove", "author", "upper-case"])
def test_any_change_under_the_folder_renews_the_reused_report(tmp_path: Path, change: str) -> None:
    content, cache = tmp_path / "content", tmp_path / "var"
    (content / "authors").mkdir(parents=True)
    (content / "filler.md").write_text((BROKEN / "filler" / F).read_text())
    (content / "link.md").write_text((BROKEN / "broken-link" / F).read_text())
    first = check(content, cache)
    target = content / "filler.md"
    if change == "edit":
        target.write_text((BROKEN / "pick-not-option" / F).read_text())
    elif change == "add":
        (content / "other.md").write_text((BROKEN / "duplicate-pro" / F).read_text())
    elif change == "remove":
        target.unlink()
    elif change == "upper-case":  # no page is read from it, and check says so
        (content / "other.MD").write_text((BROKEN / "duplicate-pro" / F).read_text())
    else:  # a writer's file: read beside the comparisons, by its own rules
        (content / "authors" / "ana-ruiz.md").write_text("no front matter\n")
    renewed = check(content, cache)
    assert renewed != first
    assert renewed == check(content)


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_files_parsed_in_worker_processes_give_the_same_report(
    tmp_path: Path, start_method: str
) -> None:
    content, cache = tmp_path / "content", tmp_path / "var"
    content.mkdir()
    for rule in sorted(path.name for path in BROKEN.iterdir() if (path / F).is_file()):
        (content / f"{rule}.md").write_text((BROKEN / rule / F).read_text())
    sources = discover(content)
    primed = ParseCache(cache / "parse.marshal")
    assert prime(primed, sources, today=None, jobs=2, start_method=start_method) == len(sources)
    loaded = library_module.Library.scan(content, primed, sources=sources)
    assert primed.hits == len(sources)  # every file came from a worker, none parsed here
    assert loaded.problems == library_module.Library.scan(content).problems
    assert len([p for p in loaded.problems if p.severity == "error"]) > 20
    assert check(content, cache, jobs=2) == check(content)


@pytest.mark.parametrize("name", ["постгрес.md", "#.md", "?.md", "$.md", "\n.md", "!!!.md"])
def test_a_file_name_that_gives_no_address_is_an_error_and_its_page_is_skipped(
    tmp_path: Path, name: str
) -> None:
    # These names once became the page's address as they were: "/compare/#", a redirect to
    # "/compare/постгрес" that failed with a 500, a line break in a Location header.
    (tmp_path / name).write_text((BROKEN / "filler" / F).read_text())
    errors = [p for p in check(tmp_path).problems if p.severity == "error"]
    assert [(p.line, p.column) for p in errors] == [(1, 1)]
    assert errors[0].message.startswith(f"file name {name!r} gives the page no address")
    assert library_module.Library.load(tmp_path).comparisons == {}


def test_a_name_that_slugifies_is_still_served_at_its_slug(tmp_path: Path) -> None:
    (tmp_path / "Ünï Vs Öther.md").write_text((BROKEN / "filler" / F).read_text())
    assert list(library_module.Library.load(tmp_path).comparisons) == ["uni-vs-other"]


def test_a_problem_prints_as_one_line_with_nothing_a_terminal_acts_on() -> None:
    problem = Problem("evil\nfake.md:1:1: error: hidden\x1b[2J\u202e\x9b.md", 2, 3, "error", "x\ry")
    assert str(problem) == (
        "evil\\nfake.md:1:1: error: hidden\\x1b[2J\\u202e\\x9b.md:2:3: error: x\\ry"
    )
    # A name whose bytes are not UTF-8 (0x9b, the 8-bit CSI) is read back with that byte as
    # a lone surrogate, which printed was the raw byte again (an outside review).
    assert str(Problem(b"a\x9bb.md".decode("utf-8", "surrogateescape"), 1, 1, "error", "x")) == (
        "a\\udc9bb.md:1:1: error: x"
    )


def test_a_loop_of_links_is_reported_not_a_traceback(tmp_path: Path) -> None:
    content, cache = tmp_path / "content", tmp_path / "var"
    content.mkdir()
    (content / "vim-vs-emacs.md").write_text((ROOT / "content" / "vim-vs-emacs.md").read_text())
    (content / "a.md").symlink_to(content / "b.md")
    (content / "b.md").symlink_to(content / "a.md")
    report = check(content, cache)  # the reused report's key read each entry: ELOOP
    assert [(Path(p.path).name, p.severity) for p in report.problems if "link" in p.message] == [
        ("a.md", "error"),
        ("b.md", "error"),
    ]


def test_an_updated_date_after_today_is_an_error_unless_the_page_is_due_later() -> None:
    from app.content.parse import parse_text
    from tests.conftest import comparison_text

    today = date(2026, 11, 30)
    typo = comparison_text(published="2026-01-05").replace(
        "published:", "updated: 9999-12-31\npublished:"
    )
    comparison, problems = parse_text(typo, path="a-vs-b.md", slug="a-vs-b", today=today)
    assert comparison is None
    assert [p.message for p in problems if p.severity == "error"] == [
        '"updated" (9999-12-31) is in the future (today is 2026-11-30)'
    ]
    due = comparison_text(published="2027-02-01").replace(
        "published:", "updated: 2027-02-01\npublished:"
    )
    comparison, problems = parse_text(due, path="a-vs-b.md", slug="a-vs-b", today=today)
    assert comparison is not None and not [p for p in problems if p.severity == "error"]


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    # ``nicepick check | head -1``: once the reader is gone, no BrokenPipeError traceback.
    import subprocess
    import sys

    command = [sys.executable, "-m", "app", "check", "--content", str(BROKEN)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # the reader went away before the first line
        errors = process.stderr.read().decode()
        assert process.wait(timeout=60) == 141
    assert "Traceback" not in errors and "BrokenPipeError" not in errors


def test_files_that_look_like_pages_but_are_not_read_are_warned_about(tmp_path: Path) -> None:
    # The server skips them without a word: an editor's "X.MD" or ".draft.md" never goes live.
    content = tmp_path / "content"
    (content / "options").mkdir(parents=True)
    (content / ".git").mkdir()
    good = (ROOT / "content" / "vim-vs-emacs.md").read_text()
    (content / "vim-vs-emacs.md").write_text(good)
    for name in ("Nano vs Vim.MD", "helix-vs-vim.markdown", ".kakoune-vs-vim.md", "README.md"):
        (content / name).write_text(good)
    (content / "options" / ".vim.md").write_text("---\nname: Vim\n---\n")
    (content / ".git" / "notes.md").write_text("not the site's")
    (content / "notes.txt").write_text("not a page")
    report = check(content)
    assert report.files == 1  # vim-vs-emacs.md alone
    assert [str(p) for p in report.problems if p.severity == "warning"] == [
        f"{content}/.kakoune-vs-vim.md:1:1: warning: not read: a name starting with "
        '"." is hidden: rename it kakoune-vs-vim.md',
        f"{content}/Nano vs Vim.MD:1:1: warning: not read: pages are read from files ending "
        'in ".md": rename it Nano vs Vim.md',
        f"{content}/helix-vs-vim.markdown:1:1: warning: not read: pages are read from files "
        'ending in ".md": rename it helix-vs-vim.md',
        f"{content}/options/.vim.md:1:1: warning: not read: a name starting with "
        '"." is hidden: rename it vim.md',
    ]
    assert report.warnings == 4
