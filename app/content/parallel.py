"""Parse many files in worker processes and keep their results in a parse cache.

Parsing is pure Python and costs about a millisecond of CPU a file, so a cold load of a large
folder is bound by one core while the others idle. Before the (single-process) load, the
files the cache has no entry for (a cold load: all of them) are handed out in chunks to
worker processes: each makes the same cache entry ``ParseCache.parse`` would (stat, digest,
parse, encoded result: plain tuples, cheap to send back), and the load then finds them in
the cache. Nothing else changes: the load still applies every rule, in order, to results
the one shared parser made, and an edited file's stale entry is re-parsed there as before.

Workers are forked (``fork``), so they start with everything imported and cost no start-up;
only callers without threads fork so (``nicepick check``): forking a process whose other
threads hold locks can leave the child waiting on them forever. The server, which loads in
a thread beside its request threads, asks for ``forkserver`` workers instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from functools import partial

from app.content.cache import Made, ParseCache, make_entry, paused_gc
from app.content.library import SourceFile, parse_file

log = logging.getLogger(__name__)

# Below this many files to parse, a pool is not worth starting: a thousand files are about a
# second of parsing, a pool's start and the transfer of results a fraction of that. Only
# 10,000 and 100,000 were measured (bench/RESULTS.md, "Parser and `nicepick check` at
# 100,000"); tests and single edits stay under it and never fork.
MIN_FILES = 1_000
_CHUNK = 250  # files per task: small enough to balance, large enough to amortise a send


def available_cores() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def prime(
    cache: ParseCache,
    sources: list[SourceFile],
    *,
    today: date | None,
    jobs: int | None = None,
    start_method: str = "fork",
    niceness: int = 0,
) -> int:
    """Parse in ``jobs`` processes (default: one per core, when there are ``MIN_FILES`` to
    parse) each file ``cache`` has no entry for, and keep the results in it; how many were.

    ``start_method`` "forkserver" is for a caller with threads (the server): its workers
    are forked from a fresh single-threaded process and import the parser themselves.
    ``niceness`` lowers the workers' priority by that much (the server's: its own threads
    answer readers meanwhile, and parsers at the same priority took every core from them).
    """
    stale = [source for source in sources if cache.lacks(source.path, source.display)]
    workers = available_cores() if jobs is None else jobs
    if workers < 2 or not stale or (jobs is None and len(stale) < MIN_FILES):
        return 0
    chunks = [stale[start : start + _CHUNK] for start in range(0, len(stale), _CHUNK)]
    context = multiprocessing.get_context(start_method)
    made = 0
    try:
        # An executor, not a Pool: a worker that dies (or cannot start) breaks it with an
        # error, where a Pool starts another forever; what is left is parsed by the caller.
        with (
            ProcessPoolExecutor(
                min(workers, len(chunks)),
                mp_context=context,
                initializer=_lower_priority,
                initargs=(niceness,),
            ) as pool,
            paused_gc(),
        ):
            for results in pool.map(partial(_parse_chunk, today=today), chunks):
                for source, entry in results:
                    if entry is not None:
                        cache.add(source.path, entry)
                        made += 1
    except (BrokenProcessPool, OSError) as exc:
        log.warning("parsing in worker processes failed (%s); parsing in this one", exc)
    return made


def _lower_priority(niceness: int) -> None:
    """In a worker, first: run ``niceness`` steps below the parent (where the OS has it)."""
    if niceness and hasattr(os, "nice"):
        os.nice(niceness)


def _parse_chunk(
    chunk: list[SourceFile], *, today: date | None
) -> list[tuple[SourceFile, Made | None]]:
    """In a worker: each file's cache entry, or None when it cannot be read."""
    return list(_entries(chunk, today))


def _entries(
    chunk: list[SourceFile], today: date | None
) -> Iterator[tuple[SourceFile, Made | None]]:
    for source in chunk:
        yield source, make_entry(source.path, source.display, partial(parse_file, source, today))
