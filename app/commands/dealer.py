"""A build's URLs handed out to its processes a few pages at a time, from both ends of one list.

Each process takes the next few pages when it has written the last ones, so none idles while
another still holds a long share (pages of one kind cost alike, but comparisons cost twice an
option page). The list is in folder order, the largest folder (``compare/``) at its front and
the next largest (``option/``) at its back; the building process takes from the front and
the first child from the back. Two processes adding names to one folder at once wait on
each other: the kernel locks a folder while a name goes in, and in a write-only run of a
10,000-comparison build's files, dealt out every other page, a fifth of the CPU spun on that
lock (``perf``). From opposite ends, the two meet in one folder only where they meet.

Shared by forked processes: the two ends live in a ``multiprocessing`` array made before the
fork, and each process walks the same list (its own copy) by them.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from typing import Any

from app.commands.routes import twin

CHUNK = 8  # pages (with their twins) a process takes at once: small enough to end together


class Dealer:
    def __init__(self, urls: list[str], *, chunk: int = CHUNK) -> None:
        self.groups = by_folder(with_twins(urls))
        self.chunk = chunk
        # [front, back): what no process has taken yet. Made before the fork, shared after.
        self._ends: Any = multiprocessing.get_context("fork").Array("q", [0, len(self.groups)])
        self._building = os.getpid()  # the process the others were forked from

    def _orphaned(self) -> bool:
        """Whether this is a forked process whose building process is gone (killed: ``kill
        -9``, the OOM killer), which then went on writing into OUT for as long as its pages
        took, beside the next build."""
        return os.getpid() != self._building and os.getppid() != self._building

    def urls(self, *, from_back: bool) -> Iterator[str]:
        """The URLs this process takes, a chunk at a time, until none is left."""
        while not self._orphaned():
            with self._ends.get_lock():
                front, back = self._ends[0], self._ends[1]
                if front >= back:
                    return
                if from_back:
                    start, end = max(front, back - self.chunk), back
                    self._ends[1] = start
                else:
                    start, end = front, min(back, front + self.chunk)
                    self._ends[0] = end
            for group in self.groups[start:end]:
                yield from group


def with_twins(urls: list[str]) -> list[list[str]]:
    """``urls`` in groups: each page with its JSON twin right after it (``seeds`` lists them
    so), rendered by one process from one context."""
    groups: list[list[str]] = []
    for url in urls:
        if groups and url == twin(groups[-1][0]):
            groups[-1].append(url)
        else:
            groups.append([url])
    return groups


def by_folder(groups: list[list[str]]) -> list[list[str]]:
    """``groups`` with the largest top folder's first and the second largest's last, the
    others between, each folder's in their order (a stable sort)."""
    sizes: dict[str, int] = {}
    for group in groups:
        top = _top(group[0])
        sizes[top] = sizes.get(top, 0) + 1
    largest = sorted(sizes, key=lambda top: -sizes[top])
    rank = {top: 1 for top in sizes}
    if largest:
        rank[largest[0]] = 0
    if len(largest) > 1:
        rank[largest[1]] = 2
    return sorted(groups, key=lambda group: rank[_top(group[0])])


def _top(url: str) -> str:
    """The top folder a URL is written in: ``/compare/x?page=2`` -> ``compare``."""
    return url.lstrip("/").split("/", 1)[0].partition("?")[0]
