"""``nicepick build`` as a process: what it prints and returns, how it ends, and one build at a
time per folder."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.commands.manifest import NAME as MANIFEST_NAME
from app.commands.out_folder import OutBusy, writing_alone

ROOT = Path(__file__).resolve().parent.parent


def _content(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(ROOT / "content" / "vim-vs-emacs.md", content)
    shutil.copytree(ROOT / "content" / "authors", content / "authors")  # its byline's
    return content


def _build(tmp_path: Path, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "NICEPICK_CONTENT_DIR": str(_content(tmp_path)),
        "NICEPICK_DATA_DIR": str(tmp_path / "var"),
        "NICEPICK_FEEDBACK_ENDPOINT": "https://notes.example.org",
        "NICEPICK_SECRET_KEY": "test-only-secret",
    }
    return subprocess.run(
        [sys.executable, "-m", "app", "build", str(out), "--no-cards", *flags],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_build_that_exits_without_freeing_still_says_everything_and_leaves_a_whole_build(
    tmp_path: Path,
) -> None:
    # The command ends with os._exit after a build (nothing freed): its lines must be out
    # first, and the build whole (its manifest written, no mark of a build stopped halfway).
    out = tmp_path / "site"
    done = _build(tmp_path, out)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"wrote {out}: ") and "pages" in lines[0]
    assert lines[1].startswith("exported forms are accepted until ")
    assert (out / MANIFEST_NAME).is_file()
    assert (out / "compare" / "vim-vs-emacs" / "index.html").is_file()
    assert not [path.name for path in out.iterdir() if "unfinished" in path.name]


def test_a_build_inside_a_longer_lived_process_returns_and_keeps_its_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NICEPICK_CONTENT_DIR", str(_content(tmp_path)))
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("NICEPICK_FEEDBACK_ENDPOINT", "https://notes.example.org")
    monkeypatch.setenv("NICEPICK_SECRET_KEY", "test-only-secret")
    assert gc.isenabled()
    assert main(["build", str(tmp_path / "site"), "--no-cards"]) == 0
    assert gc.isenabled()
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'site'}: ")


def test_one_build_at_a_time_writes_into_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with writing_alone(out):
        with pytest.raises(OutBusy, match="another build is writing into"):
            with writing_alone(out):
                pass  # pragma: no cover - refused above
        # An outside review: two builds into one folder took each other's files away, and
        # one stopped with a traceback. The second is refused with a message, writing nothing.
        refused = _build(tmp_path, out)
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            f"nicepick build: another build is writing into {out}: "
            "wait for it to end, then build again"
        )
        assert list(out.iterdir()) == []
    with writing_alone(out):  # let go when the first ends
        pass
