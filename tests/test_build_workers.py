"""The build's forked processes end with the build, however it is stopped."""

from __future__ import annotations

import subprocess
import sys
from functools import partial
from pathlib import Path

from app.commands import workers

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
