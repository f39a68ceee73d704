"""Option profiles (``content/options/<slug>.md``): the parser, ``check`` and the cross-file rules."""

from __future__ import annotations

import textwrap
import time
from dataclasses import fields
from datetime import date
from pathlib import Path

import pytest

from app.commands.check import check
from app.content.library import Library
from app.content.model import Comparison
from app.content.profiles import Release, disagreements, parse_profile, release_key
from app.content.sources import discover, is_content_file
from tests.conftest import GOOD, comparison_text

P = "content/options/vim.md"
PROFILE = """\
---
name: Vim
homepage: https://www.vim.org/
licence: Vim License
first_release: 1991
latest:
  version: "9.1"
  date: 2024-01-02
platforms: [Linux, macOS, Windows]
kind: tool
---
A modal text editor descended from vi.
"""


def profile_text(**overrides: str) -> str:
    """PROFILE with top-level front-matter lines replaced (``kind="tol"``)."""
    lines = PROFILE.splitlines()
    for key, value in overrides.items():
        lines = [f"{key}: {value}" if line.startswith(f"{key}:") else line for line in lines]
    return "\n".join(lines) + "\n"


def messages(text: str, slug: str = "vim") -> list[str]:
    _profile, problems = parse_profile(text, path=P, slug=slug)
    return [str(problem) for problem in problems]


def test_a_good_profile_reads_every_fact() -> None:
    profile, problems = parse_profile(PROFILE, path=P, slug="vim")
    assert problems == []
    assert profile is not None
    assert (profile.slug, profile.name, profile.homepage) == ("vim", "Vim", "https://www.vim.org/")
    assert (profile.licence, profile.first_release, profile.kind) == ("Vim License", 1991, "tool")
    assert profile.platforms == ("Linux", "macOS", "Windows")
    assert profile.latest == Release("9.1", date(2024, 1, 2))
    assert profile.description == "A modal text editor descended from vi."
    assert profile.position("latest.version") == (7, 12)


def test_latest_is_optional() -> None:
    text = PROFILE.replace('latest:\n  version: "9.1"\n  date: 2024-01-02\n', "")
    profile, problems = parse_profile(text, path=P, slug="vim")
    assert problems == [] and profile is not None and profile.latest is None


BROKEN = {
    "unknown field": (
        PROFILE.replace("licence:", "license:"),
        [f'{P}:4:1: error: unknown field "license" (did you mean "licence"?)'],
    ),
    "unknown kind": (
        profile_text(kind="tol"),
        [
            f'{P}:10:7: error: unknown kind "tol" (did you mean "tool"?): one of tool, library, '
            "service, technique, concept, protocol, format"
        ],
    ),
    "missing field": (
        PROFILE.replace("kind: tool\n", ""),
        [f'{P}:2:1: error: missing required field "kind"'],
    ),
    "name not the file": (
        profile_text(name="Neovim"),
        [
            f'{P}:2:7: error: file name "vim.md" does not match the name "Neovim": '
            "rename the file to neovim.md"
        ],
    ),
    "not http": (
        profile_text(homepage="ftp://ftp.vim.org/"),
        [
            f'{P}:3:11: error: "homepage" must be an http(s) address like '
            'https://example.org/, not "ftp://ftp.vim.org/"'
        ],
    ),
    "year as text": (
        profile_text(first_release='"1991"'),
        [f'{P}:5:16: error: "first_release" must be a year like 1996, not "1991"'],
    ),
    "year out of range": (
        profile_text(first_release="19911"),
        [f'{P}:5:16: error: "first_release" 19911 is not a year between 1950 and 2100'],
    ),
    "unquoted version": (
        PROFILE.replace('"9.1"', "9.10"),
        [
            f'{P}:7:12: error: "latest.version" must be text in quotes (unquoted, it reads '
            'as the number 9.1), e.g. version: "18.10"'
        ],
    ),
    "misspelt latest key": (
        PROFILE.replace("  date:", "  dated:"),
        [f'{P}:8:3: error: unknown field "latest.dated" (did you mean "date"?)'],
    ),
    "latest without a version": (
        PROFILE.replace('  version: "9.1"\n', ""),
        [f'{P}:6:1: error: "latest" needs a "version"'],
    ),
    "bad latest date": (
        PROFILE.replace("2024-01-02", "2024-02-30"),
        [f'{P}:8:9: error: "latest.date" must be a date like 2025-11-13, not "2024-02-30"'],
    ),
    "latest before first": (
        profile_text(first_release="2025"),
        [f'{P}:8:9: error: "latest.date" (2024-01-02) is before "first_release" (2025)'],
    ),
    "platforms not a list": (
        profile_text(platforms="Linux"),
        [f'{P}:9:12: error: "platforms" must be a list of names, e.g. [Linux]'],
    ),
    "no description": (
        PROFILE.replace("A modal text editor descended from vi.\n", ""),
        [f"{P}:11:1: warning: profile has no description: say what the option is"],
    ),
    "yaml": (
        profile_text(name="Vim: the editor"),
        [f"{P}:2:10: error: YAML syntax: mapping values are not allowed in this context"],
    ),
}


@pytest.mark.parametrize("case", BROKEN)
def test_each_broken_profile_names_its_line_and_column(case: str) -> None:
    text, expected = BROKEN[case]
    assert messages(text) == expected


def test_an_error_keeps_the_profile_out_but_a_warning_does_not() -> None:
    assert parse_profile(profile_text(kind="tol"), path=P, slug="vim")[0] is None
    text = PROFILE.replace("A modal text editor descended from vi.\n", "")
    assert parse_profile(text, path=P, slug="vim")[0] is not None


def test_release_keys_compare_as_numbers() -> None:
    assert release_key("17.10") == (17, 10)
    assert release_key("v4.2.0-rc1") == (4, 2)
    assert release_key("4.2") == release_key("4.2.0")
    assert (release_key("3.47.0") or ()) > (release_key("3.9") or ())
    assert release_key("latest") is None


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_profiles_are_not_comparisons_and_check_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    content = Path("content")
    _write(
        content,
        {
            "vim-vs-emacs.md": GOOD,
            "options/vim.md": PROFILE,
            "options/emacs.md": profile_text(name="Emacs", kind="editor"),
            "authors/someone.md": "---\nname: Someone\nrole: Editor\n---\nWrites pages.\n",
            "pages/about.md": "---\ntitle: About\nsummary: Who we are.\n---\nText.\n",
        },
    )
    assert [s.display for s in discover(content)] == ["content/vim-vs-emacs.md"]
    assert not is_content_file(content / "options" / "vim.md", content)
    assert is_content_file(content / "vim-vs-emacs.md", content)
    report = check(content)
    assert [str(p) for p in report.problems] == [
        'content/options/emacs.md:10:7: error: unknown kind "editor": one of tool, library, '
        "service, technique, concept, protocol, format"
    ]
    assert report.files == 3  # the comparison and both profiles
    library = Library.scan(content)
    assert list(library.profiles) == ["vim"]


def test_an_option_spelt_otherwise_than_its_profile_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    content = Path("content")
    _write(content, {"vim-vs-emacs.md": GOOD, "options/vim.md": profile_text(name="VIM")})
    report = check(content)
    assert [str(p) for p in report.problems] == [
        'content/vim-vs-emacs.md:5:11: warning: option "Vim" is spelt "VIM" in its profile '
        "content/options/vim.md: use one spelling"
    ]
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 1


def test_a_tested_version_newer_than_the_profile_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    content = Path("content")
    _write(content, {"vim-vs-emacs.md": GOOD, "options/vim.md": PROFILE})
    library = Library.scan(content)
    comparison = library.comparisons["vim-vs-emacs"]

    def tested(versions: dict[str, str]) -> list[str]:
        found = disagreements(library.profiles, [comparison], tested_of=lambda _c: versions)
        return [str(problem) for problem in found]

    assert tested({"Vim": "9.1.1"}) == [
        'content/options/vim.md:7:12: error: latest version "9.1" is older than the "9.1.1" '
        'content/vim-vs-emacs.md tested: update "latest" (version and date) or the '
        "comparison's tested version"
    ]
    assert tested({"Vim": "9.1.0"}) == []  # the same release written longer
    assert tested({"Vim": "8.2"}) == []  # older is fine: the page says what it checked
    assert tested({"Emacs": "99"}) == []  # no profile, nothing to disagree with


@pytest.mark.skipif(
    "tested" not in {f.name for f in fields(Comparison)},
    reason="the comparison model has no tested field on this branch yet",
)
def test_check_reports_a_stale_profile_from_a_comparisons_tested_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    content = Path("content")
    page = comparison_text().replace("---\nBoth", 'tested:\n  Vim: "9.2"\n---\nBoth')
    _write(content, {"vim-vs-emacs.md": page, "options/vim.md": PROFILE})
    assert [str(p) for p in check(content).problems] == [
        'content/options/vim.md:7:12: error: latest version "9.1" is older than the "9.2" '
        'content/vim-vs-emacs.md tested: update "latest" (version and date) or the '
        "comparison's tested version"
    ]


def test_live_preview_rereads_a_changed_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    content = Path("content")
    _write(content, {"vim-vs-emacs.md": GOOD, "options/vim.md": PROFILE})
    library = Library.scan(content)
    version = library.version
    profile = content / "options" / "vim.md"
    profile.write_text(profile_text(kind="tol"), encoding="utf-8")
    problems = library.reload_file(profile)
    assert [p.message.split(":")[0] for p in problems] == [
        'unknown kind "tol" (did you mean "tool"?)'
    ]
    assert library.profiles == {} and library.version > version
    assert list(library.comparisons) == ["vim-vs-emacs"]  # comparisons untouched
    profile.write_text(PROFILE, encoding="utf-8")
    assert library.reload_file(profile) == []
    assert library.profiles["vim"].name == "Vim"
    profile.unlink()
    library.remove_file(profile)
    assert library.profiles == {} and library.problems == []


@pytest.mark.parametrize(
    ("homepage", "good"),
    [
        ("https://" + "a." * 20_000 + " x", False),  # cubic before: 26 s at 16,000 "a."
        ("https://" + "a" * 40_000 + "/", False),  # no dot in the host
        ("https://.vim/", False),
        ("https://vim./", False),
        ("https://www.vim.org/?q=a b", False),
        ("https://www.vim.org", True),
        ("http://a.b#x", True),
    ],
)
def test_a_homepage_is_checked_in_linear_time(homepage: str, good: bool) -> None:
    started = time.perf_counter()
    problems = messages(profile_text(homepage=f'"{homepage}"'))
    assert time.perf_counter() - started < 1
    assert any('"homepage" must be' in problem for problem in problems) is not good
