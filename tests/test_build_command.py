"""``nicepick build`` as a process: what it prints and returns, how it ends, and one build at a
time per folder."""

from __future__ import annotations

import errno
import fcntl
import gc
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.commands import export, files, redirect_files
from app.commands.manifest import NAME as MANIFEST_NAME
from app.commands.out_folder import OutBusy, writing_alone
from tests.live import running

ROOT = Path(__file__).resolve().parent.parent


def _content(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(ROOT / "content" / "vim-vs-emacs.md", content)
    shutil.copytree(ROOT / "content" / "authors", content / "authors")  # its byline's
    return content


def _env(tmp_path: Path) -> dict[str, str]:
    content = tmp_path / "content"
    return {
        **os.environ,
        "NICEPICK_CONTENT_DIR": str(content if content.exists() else _content(tmp_path)),
        "NICEPICK_DATA_DIR": str(tmp_path / "var"),
        "NICEPICK_FEEDBACK_ENDPOINT": "https://notes.example.org",
        "NICEPICK_SECRET_KEY": "test-only-secret",
    }


def _build(tmp_path: Path, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "build", str(out), "--no-cards", *flags],
        cwd=ROOT,
        env=_env(tmp_path),
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
    _environment(tmp_path, monkeypatch)
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


def test_a_folder_that_cannot_be_locked_is_built_into_unguarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NFS emulates flock with a write lock, which a folder opened for reading cannot take:
    # a build there must go on as before, not stop on the lock.
    def no_flock(descriptor: int, operation: int) -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    out = tmp_path / "site"
    with writing_alone(out):
        (out / "index.html").write_text("built")
    assert (out / "index.html").read_text() == "built"


def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``_env``'s settings, in this process."""
    for name, value in _env(tmp_path).items():
        if name.startswith("NICEPICK_"):
            monkeypatch.setenv(name, value)


def test_a_disk_that_fills_up_midway_ends_the_build_with_a_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(tmp_path, monkeypatch)
    out = tmp_path / "site"
    real_write = files.write_file
    written: list[str] = []

    def filling_up(target: str, body: bytes) -> None:
        if len(written) == 20:
            raise OSError(errno.ENOSPC, "No space left on device", target)
        written.append(target)
        real_write(target, body)

    monkeypatch.setattr(files, "write_file", filling_up)
    assert main(["build", str(out), "--no-cards"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    first, second = err.splitlines()
    assert first.startswith("nicepick build: cannot finish the build: [Errno 28] No space left")
    assert second == (
        f"nicepick build: {out} holds a build stopped halfway; the next build writes every "
        "file again"
    )
    monkeypatch.setattr(files, "write_file", real_write)  # room again
    assert main(["build", str(out), "--no-cards"]) == 0
    assert (out / MANIFEST_NAME).is_file()
    assert (out / "compare" / "vim-vs-emacs" / "index.html").is_file()


def test_a_folder_emptied_while_the_build_writes_is_not_vouched_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An outside review: OUT removed midway was made again by the next file written, and
    # the build saved a manifest for every page it had written before; the next builds
    # trusted it and the pages stayed missing.
    _environment(tmp_path, monkeypatch)
    out = tmp_path / "site"
    real_redirects = redirect_files.write_redirects

    def after_someone_empties_out(*args: object, **kwargs: object) -> object:
        for path in out.iterdir():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        return real_redirects(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(export, "write_redirects", after_someone_empties_out)
    assert main(["build", str(out), "--no-cards"]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        f"nicepick build: cannot finish the build: {out} was removed or emptied while this "
        "build wrote into it: build again"
    )
    assert not (out / MANIFEST_NAME).exists()  # the next build is a full one


def test_ctrl_c_stops_the_command_with_a_line_and_by_its_signal() -> None:
    # Ended by SIGINT, not by an exit status: a shell running the command in a loop stops too.
    code = (
        "import sys\n"
        "from app import cli\n"
        "def interrupted(*args, **kwargs):\n"
        "    raise KeyboardInterrupt\n"
        "cli.main = interrupted\n"
        "sys.exit(cli.command())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -signal.SIGINT
    assert done.stderr == "nicepick: stopped\n"


def test_a_failed_build_ends_its_forked_processes_before_the_command_ends(
    tmp_path: Path,
) -> None:
    # An outside review: a build failing in its own process returned 1 and exited at once,
    # without the exit handler that ends its children; they went on writing into OUT, and
    # the next build was refused as "another build".
    out = tmp_path / "site"
    pids = tmp_path / "children.txt"
    code = (
        "import errno, os, sys, time\n"
        "from app import cli\n"
        "from app.commands import files\n"
        "parent, written, real = os.getpid(), [], files.write_file\n"
        "def write(target, body):\n"
        "    if os.getpid() == parent:\n"
        "        written.append(target)\n"
        "        if len(written) == 3:\n"
        "            raise OSError(errno.ENOSPC, 'No space left on device', target)\n"
        "    else:\n"
        f"        with open({str(pids)!r}, 'a') as log:\n"
        "            log.write(f'{os.getpid()}\\n')\n"
        "        time.sleep(0.05)\n"
        "    real(target, body)\n"
        "files.write_file = write\n"
        f"sys.argv = ['nicepick', 'build', {str(out)!r}, '--no-cards', '--jobs', '2']\n"
        "sys.exit(cli.command())\n"
    )
    # Its output to a file, not a pipe: children holding a pipe's end would keep ``run``
    # waiting for them, and the test could not tell when the command itself ended.
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        failed = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=_env(tmp_path),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            timeout=300,
        )
    assert failed.returncode == 1, errors.read_text()
    assert "No space left on device" in errors.read_text()
    children = {int(pid) for pid in pids.read_text().split()}
    assert children  # they were writing when the build failed
    assert [pid for pid in children if running(pid)] == []
    again = _build(tmp_path, out)
    assert again.returncode == 0, again.stderr
