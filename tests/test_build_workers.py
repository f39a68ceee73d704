"""The build's forked processes end with the build, however it is stopped."""

from __future__ import annotations

import errno
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from app.commands import workers
from tests.live import running

ROOT = Path(__file__).resolve().parent.parent


def test_a_result_is_collected_from_each_child_in_order() -> None:
    children = [workers.start(partial(bytes, n)) for n in (10, 1_000_000)]
    assert [len(found) for found in workers.collect(children)] == [10, 1_000_000]
    assert [child.process.exitcode for child in children] == [0, 0]


def test_a_parent_stopped_alone_does_not_wait_forever_for_its_child() -> None:
    # An outside review: SIGINT to the building process alone (`timeout -s INT`, a CI
    # runner) left it waiting at exit for a child blocked writing a result nobody would
    # read; both were still there ten minutes later.
    code = (
        "from app.commands import workers\n"
        "workers.start(lambda: b'x' * 10_000_000)\n"
        "raise KeyboardInterrupt\n"
    )
    stopped = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert stopped.returncode == -2  # ended by its SIGINT, as a shell expects of Ctrl-C
    assert stopped.stderr.rstrip().endswith("KeyboardInterrupt")


def test_a_child_whose_parent_was_killed_stops_taking_pages(tmp_path: Path) -> None:
    # A build killed outright (kill -9, the OOM killer) ends no children as it exits: each
    # went on writing its share into OUT, beside the next build. Now a child stops at its
    # next few pages when the process it was forked from is gone.
    log = tmp_path / "taken.txt"
    code = (
        "import os, signal, time\n"
        "from app.commands import workers\n"
        "from app.commands.dealer import Dealer\n"
        "dealer = Dealer([f'/compare/p{n}' for n in range(2000)], chunk=2)\n"
        "def take():\n"
        f"    with open({str(log)!r}, 'a') as log:\n"
        "        log.write(f'{os.getpid()}\\n')\n"
        "        for url in dealer.urls(from_back=True):\n"
        "            log.write(url + '\\n')\n"
        "            log.flush()\n"
        "            time.sleep(0.005)\n"
        "    return b'x' * 1_000_000  # more than a pipe holds: sent to no reader\n"
        "workers.start(take)\n"
        "time.sleep(0.5)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120)
    assert killed.returncode == -9
    # Taken one page each 5 ms, the 2,000 pages would take the child ten seconds.
    sizes = []
    for _ in range(40):
        sizes.append(log.stat().st_size if log.exists() else 0)
        if len(sizes) > 3 and sizes[-1] == sizes[-4]:
            break
        time.sleep(0.25)
    child, *taken = log.read_text().split()
    assert 0 < len(taken) < 500
    # And it ends: holding the pipe's other end as well, it waited forever to send its
    # result (an outside review found both children of a killed build there minutes later).
    for _ in range(100):
        if not running(int(child)):
            break
        time.sleep(0.1)
    assert not running(int(child))


def test_a_child_stopped_by_the_system_says_why_in_one_line() -> None:
    def full_disk() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/out/compare/a/index.html")

    child = workers.start(full_disk)
    with pytest.raises(workers.BuildProcessFailed) as failed:
        workers.collect([child])
    assert str(failed.value) == ("[Errno 28] No space left on device: '/out/compare/a/index.html'")
