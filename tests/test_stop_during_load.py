"""A server stopped while its first load parses in worker processes leaves no process behind.

The load of a large folder runs in a thread after start-up and parses on every core in
``forkserver`` workers (app/content/parallel.py). A worker left running when the server
stops never exits (it waits on queues it holds both ends of) and, with the forkserver, keeps
the server's stdout open, so whatever reads the server's output waits forever.

The server runs in a session of its own, so every process it started is found by session
even after its parent is gone. Its workers are held (SIGSTOP) while the server is told to
stop, so the stop always lands in the middle of the parse, however fast the machine is.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.content.parallel import MIN_FILES, available_cores
from bench.generate import generate
from tests.live import NICEPICK, eventually, free_port, server_env

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
    pytest.mark.skipif(available_cores() < 2, reason="one core: the load parses in-process"),
]

FILES = 4 * MIN_FILES  # enough to be parsed in worker processes, and to take a while


def session_processes(session: int) -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of each process in ``session``, zombies left out."""
    found: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # "pid (command) state ppid pgrp session ...": the command may hold spaces.
        fields = stat.rpartition(")")[2].split()
        state, parent, sid = fields[0], int(fields[1]), int(fields[3])
        if sid == session and state != "Z":
            found[int(entry.name)] = (parent, state)
    return found


def signal_all(pids: Iterator[int] | list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def test_stopping_the_server_mid_load_ends_its_parse_workers_and_forkserver(
    tmp_path: Path,
) -> None:
    content = tmp_path / "content"
    generate(content, FILES, options=FILES // 4)
    data = tmp_path / "data"
    log = tmp_path / "server.log"
    command = [str(NICEPICK), "serve", "--port", str(free_port()), "--log-level", "warning"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            command,
            env=server_env(data, content_dir=content),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    session = server.pid  # a session leader's id is its session's
    try:
        # Workers are the processes whose parent is not the server (the forkserver's
        # children); the forkserver and the resource tracker are the server's.
        def workers() -> list[int]:
            return [
                pid
                for pid, (parent, _) in session_processes(session).items()
                if pid != server.pid and parent != server.pid
            ]

        assert eventually(lambda: bool(workers()) or server.poll() is not None, timeout=60), (
            log.read_text(errors="replace")
        )
        assert server.poll() is None, log.read_text(errors="replace")
        held = workers()
        signal_all(held, signal.SIGSTOP)
        assert not (data / "parse-cache.marshal").exists(), "the load finished before the stop"

        server.terminate()
        assert eventually(lambda: server.poll() is not None, timeout=30), "server did not exit"
        # Anything still there (it should not be) may run again: it must end by itself.
        signal_all(list(session_processes(session)), signal.SIGCONT)
        assert eventually(lambda: not session_processes(session), timeout=10), (
            f"left running: {session_processes(session)}"
        )
        # The stopped parse's ``with`` ran: its spool folder is gone, no cache was saved.
        assert not list(data.glob(".spool-*"))
        assert not (data / "parse-cache.marshal").exists()
        # Nor the search index written beside the parse (``app.search.stream``).
        assert not list(data.glob("search/.*.tmp"))
    finally:
        leftovers = list(session_processes(session))
        signal_all(leftovers, signal.SIGKILL)
        signal_all(leftovers, signal.SIGCONT)
        if server.poll() is None:
            server.kill()
        server.wait()


def test_a_server_killed_mid_load_leaves_no_parse_worker_running(tmp_path: Path) -> None:
    # SIGKILL (the OOM killer, a supervisor's last word) runs no shutdown: the workers must
    # notice by themselves that the server is gone, and the forkserver goes with them.
    content = tmp_path / "content"
    generate(content, FILES, options=FILES // 4)
    data = tmp_path / "data"
    log = tmp_path / "server.log"
    command = [str(NICEPICK), "serve", "--port", str(free_port()), "--log-level", "warning"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            command,
            env=server_env(data, content_dir=content),
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    session = server.pid
    try:

        def workers() -> list[int]:
            return [
                pid
                for pid, (parent, _) in session_processes(session).items()
                if pid != server.pid and parent != server.pid
            ]

        assert eventually(lambda: bool(workers()) or server.poll() is not None, timeout=60), (
            log.read_text(errors="replace")
        )
        assert server.poll() is None, log.read_text(errors="replace")
        server.kill()
        server.wait()
        assert eventually(lambda: not session_processes(session), timeout=10), (
            f"left running: {session_processes(session)}"
        )
    finally:
        leftovers = list(session_processes(session))
        signal_all(leftovers, signal.SIGKILL)
        if server.poll() is None:
            server.kill()
        server.wait()
