"""The build's other processes: forked once the parent holds what they need, so they share it.

A child is a copy of the building process (``fork``: memory pages are shared until written),
so starting one costs a fork, not an import of the app and a load of the library. It runs
one function (its share of the files to parse, or of the URLs to render) and sends the
result back through a pipe; the parent collects each child's result in order.

Forked before the parent starts any thread (the app's event loop, its database threads):
a child of a process with threads may inherit a lock some other thread held.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import traceback
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass
class Child:
    process: Any  # multiprocessing's forked Process (its type is private to it)
    results: Connection


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def start(work: Callable[[], object]) -> Child:
    """Fork a child that runs ``work`` (with this process's memory) and sends its result."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    # Daemonic: a parent stopped alone (SIGINT to its pid, as ``timeout -s INT`` and CI
    # runners send it) ends its children as it exits, where it joined them and waited
    # forever for a child blocked writing a result nobody would read.
    process = context.Process(
        target=_run, args=(work, sending, receiving), name="nicepick-build", daemon=True
    )
    process.start()
    sending.close()  # the child's end: the parent keeps only its own
    return Child(process, receiving)


class BuildProcessFailed(Exception):
    """A forked process of the build stopped on an error of the system (a full disk, OUT taken
    away); the message is its own."""


def collect(children: list[Child], waiting: Callable[[], None] | None = None) -> list[Any]:
    """Each child's result, in order; ``waiting`` is called every 0.1 s meanwhile."""
    found: list[Any] = []
    for child in children:
        while not child.results.poll(0.1):
            if waiting is not None:
                waiting()
            if not child.process.is_alive() and not child.results.poll(0):
                raise RuntimeError(f"a build process stopped ({child.process.exitcode})")
        result = child.results.recv()
        child.process.join()
        if isinstance(result, _Failed):
            raise BuildProcessFailed(result.message)
        found.append(result)
    return found


@dataclass(frozen=True)
class _Failed:
    message: str


def counting(counter: Any) -> Callable[[], None]:
    """A ``done`` callback for a child: one more in the counter the parent shows."""

    def done() -> None:
        with counter.get_lock():
            counter.value += 1

    return done


def _run(work: Callable[[], object], results: Connection, parents_end: Connection) -> None:
    # The parent's end of the pipe, which the fork copied: held here, a result larger than the
    # pipe's buffer waited forever for a reader once the parent was killed (an outside review:
    # both children of a build killed with -9 still there minutes later, holding OUT).
    parents_end.close()
    logging.getLogger().setLevel(logging.WARNING)
    try:
        results.send(work())
        results.close()
    except BrokenPipeError:
        os._exit(1)  # the parent is gone (``Dealer``): nobody reads a result or a traceback
    except KeyboardInterrupt:
        os._exit(1)  # Ctrl-C reached the whole group: the parent says it stopped, once
    except OSError as error:  # the system's (a full disk, OUT taken away): said in one line
        with suppress(OSError):
            results.send(_Failed(str(error)))
        os._exit(1)
    except BaseException:
        traceback.print_exc()  # the parent sees the child gone without a result
        os._exit(1)
    os._exit(0)  # no atexit handlers of the parent's (its app, its database pool)
