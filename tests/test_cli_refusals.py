"""Wrong numbers, paths and settings on the command line: a message and an exit code, never a
traceback, and nothing started that cannot work (an outside review found each of these)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.cli import main
from app.settings import Settings


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # Started a server that listened nowhere.
        (["serve", "--port", "99999"], "argument --port: 99999 is not between 0 and 65535"),
        (["serve", "--workers", "0"], "argument --workers: 0 is not between 1 and 256"),
        # IndexError; then "Too many open files".
        (["build", "out", "--jobs", "0"], "argument --jobs: 0 is not between 1 and 256"),
        (["build", "out", "--jobs", "99999"], "argument --jobs: 99999 is not between 1 and 256"),
        (["build", "out", "--jobs", "two"], "argument --jobs: 'two' is not a whole number"),
        (["check", "--stale", "-5"], "argument --stale: -5 is not between 0 and 100000"),
    ],
)
def test_numbers_out_of_range_are_refused_before_anything_runs(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(message)


@pytest.mark.parametrize("where", ["missing-folder", "a-folder"])
def test_a_csv_export_to_a_path_it_cannot_write_says_so(
    where: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("NICEPICK_DATABASE_URL", raising=False)
    path = tmp_path / "nowhere" / "notes.csv" if where == "missing-folder" else tmp_path
    assert main(["feedback", "export", "--csv", str(path)]) == 1
    reason = "No such file or directory" if where == "missing-folder" else "Is a directory"
    assert capsys.readouterr().err.strip() == (
        f"nicepick feedback export: cannot write {path}: {reason}"
    )


def test_a_setting_settings_refuse_is_named_as_the_operator_set_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("NICEPICK_FEEDBACK_RATE", "abc")  # limits' ValueError at start
    monkeypatch.setenv("NICEPICK_DATABASE_URL", "bogus://")  # SQLAlchemy's NoSuchModuleError
    assert main(["feedback", "list"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "nicepick feedback: NICEPICK_DATABASE_URL: must be a sqlite:/// or postgresql+psycopg:// "
        "URL (the database drivers installed with the site), e.g. "
        "postgresql+psycopg://user@host/nicepick",
        "nicepick feedback: NICEPICK_FEEDBACK_RATE: 'abc' is not a rate: write a number per "
        "period, e.g. 5/10minutes or 20 per hour (second, minute, hour, day, month or year)",
    ]


@pytest.mark.parametrize(
    "rate", ["5/10minutes", "20 per hour", "1/MINUTE", "100000/minute", "3 per 2 days"]
)
def test_every_rate_the_setting_takes_is_one_the_limiter_reads(rate: str) -> None:
    from limits import parse

    assert Settings(_env_file=None, feedback_rate=rate).feedback_rate == rate
    assert parse(rate).amount > 0


@pytest.mark.parametrize(
    "rate",
    # "5/0minutes" was a period of no time (no limit); "0/minute" refused every note; a second
    # limit after ";" was dropped by the limiter without a word.
    ["abc", "5", "5/", "/minute", "1/fortnight", "5/10 minutess", "5/0minutes", "0/minute",
     "5/minute;100/day"],
)  # fmt: skip
def test_rates_the_limiter_cannot_read_are_refused(rate: str) -> None:
    with pytest.raises(ValidationError, match="is not a rate"):
        Settings(_env_file=None, feedback_rate=rate)


def test_check_given_a_file_says_it_takes_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "vim-vs-emacs.md"
    page.write_text("---\n---\n")
    assert main(["check", str(page), "--no-cache"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{page}:1:1: error: is a file: check takes the content folder and checks every file in it"
    )


@pytest.mark.parametrize(
    ("url", "taken"),
    [
        ("sqlite:////var/lib/nicepick/notes.sqlite3", True),
        ("sqlite+pysqlite:///notes.sqlite3", True),
        ("postgresql+psycopg://nicepick@db/nicepick", True),
        # Each failed later with SQLAlchemy's traceback: no such dialect, or driver missing.
        ("SQLite:////tmp/x.db", False),
        ("postgresql://nicepick@db/nicepick", False),  # psycopg2, not installed
        ("postgresql+asyncpg://nicepick@db/nicepick", False),
        ("postgres://nicepick@db/nicepick", False),
        ("bogus://", False),
    ],
)
def test_only_database_urls_of_installed_drivers_are_taken(url: str, taken: bool) -> None:
    if taken:
        assert Settings(_env_file=None, database_url=url).database_url == url
    else:
        with pytest.raises(ValidationError, match="installed with the site"):
            Settings(_env_file=None, database_url=url)


def test_a_refused_base_url_is_named_as_the_flag_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(tmp_path / "var"))
    (tmp_path / "content").mkdir()
    argv = ["build", str(tmp_path / "out"), "--content", str(tmp_path / "content")]
    assert main([*argv, "--base-url", "notaurl"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "nicepick build: --base-url: must be an absolute http(s) URL, e.g. https://nicepick.dev"
    ]
