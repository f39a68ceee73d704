"""The export's other processes: forked once the library is loaded, so they share it.

Each child is a copy of the building process made after the content was read and indexed
(``fork``: the pages of memory are shared until written), so starting one costs a fork, not
an import of the app and a load of the library. A child renders its share of the URLs with
``DirectPages`` only, writes the files itself, and hands back what it wrote and which URLs
only the app can answer (``deferred``); the parent asks the app for those.

Forked before the parent starts any thread (the app's event loop, its database threads):
a child of a process with threads may inherit a lock some other thread held.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from app.commands.share import Renderer, Share

Progress = Callable[[int, int], None]


@dataclass
class Child:
    process: Any  # multiprocessing's forked Process (its type is private to it)
    results: Connection


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def start(renderer: Renderer, urls: list[str], counter: Any) -> Child:
    """Fork a child that renders ``urls`` with ``renderer`` (this process's, copied)."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(
        target=_run, args=(renderer, urls, counter, sending), name="nicepick-export", daemon=True
    )
    process.start()
    sending.close()  # the child's end: the parent keeps only its own
    return Child(process, receiving)


def collect(
    children: list[Child], counter: Any, total: int, progress: Progress | None
) -> list[tuple[Share, list[str]]]:
    """Each child's share and deferred URLs, showing progress while they work."""
    found: list[tuple[Share, list[str]]] = []
    for child in children:
        while not child.results.poll(0.1):
            if progress:
                progress(counter.value, total)
            if not child.process.is_alive() and not child.results.poll(0):
                raise RuntimeError(f"an export process stopped ({child.process.exitcode})")
        found.append(child.results.recv())
        child.process.join()
    return found


def _run(renderer: Renderer, urls: list[str], counter: Any, results: Connection) -> None:
    logging.getLogger().setLevel(logging.WARNING)

    def done() -> None:
        with counter.get_lock():
            counter.value += 1

    try:
        results.send(renderer.render_all(urls, done))
        results.close()
    except BaseException:
        traceback.print_exc()  # the parent sees the child gone without a result
        os._exit(1)
    os._exit(0)  # no atexit handlers of the parent's (its app, its database pool)
