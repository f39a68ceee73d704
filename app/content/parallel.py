"""Parse many files in worker processes and keep their results in a parse cache.

Parsing is pure Python and costs about 0.15 ms of CPU a file, so a cold load of a large
folder is bound by one core while the others idle. Before the (single-process) load, the
files the cache has no entry for (a cold load: all of them) are handed out in chunks to
worker processes: each makes the same cache entry ``ParseCache.parse`` would (stat, digest,
parse, encoded result), writes the chunk's bodies (most of a result: 350 MB at 100,000
files) to a spool file beside the cache and sends back the short fields only (plain tuples,
cheap to send); the load then finds them in the cache, and its save copies the bodies from
the spool files. Nothing else changes: the load still applies every rule, in order, to
results the one shared parser made, and an edited file's stale entry is re-parsed there as
before.

Workers are forked (``fork``), so they start with everything imported and cost no start-up;
only callers without threads fork so (``nicepick check``): forking a process whose other
threads hold locks can leave the child waiting on them forever. The server, which loads in
a thread beside its request threads, asks for ``forkserver`` workers instead.

A server stopped while its load is parsing here stops the parse (``Cancel``): a worker left
behind never exits by itself (it waits on queues whose other ends it holds too), and it and
the forkserver hold the server's stdout, so whatever reads the server's output would hang.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import resource
import select
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

from app.collector import paused_gc
from app.content.cache import ParseCache, Spooled, make_entry, spool
from app.content.model import Comparison, Problem
from app.content.sources import SourceFile, parse_bytes

log = logging.getLogger(__name__)

# Below this many files to parse, a pool is not worth starting: a thousand files are about a
# second of parsing, a pool's start and the transfer of results a fraction of that. Only
# 10,000 and 100,000 were measured (bench/RESULTS.md, "Parser and `nicepick check` at
# 100,000"); tests and single edits stay under it and never fork.
MIN_FILES = 1_000
# A spool folder is named by the process that made it: ".spool-<pid>-<random>".
_SPOOL_PREFIX = ".spool-"
_CHUNK = 250  # files per task: small enough to balance, large enough to amortise a send
# Each chunk's spool file stays open in this process until the cache is saved (for good when
# it cannot be): with 250 files a chunk, a 250,000-file library needed 1,000 descriptors, ran
# out at the usual limit of 1,024 (EMFILE) and fell back to parsing in one process. Chunks
# grow instead, so that their files take at most this many, and a quarter of the limit.
_MAX_SPOOLS = 256

T = TypeVar("T")


@dataclass(frozen=True)
class PerFile(Generic[T]):
    """Something more a worker makes of each comparison it parsed, for another layer (the
    search index's rows, ``app.search.stream``): ``make(comparison, key)`` runs in the worker
    (picklable: a module-level function), ``key`` being the file's entry in ``keys()`` (one
    per source given to ``prime``; asked for only when files are parsed: a warm start parses
    none, and ranking 100,000 slugs for nothing cost it 0.2 s); ``take`` gets each chunk's
    results in this process as the chunks arrive, in the loading thread."""

    make: Callable[[Comparison, int], T]
    keys: Callable[[], Sequence[int]]
    take: Callable[[list[T]], None]


class Cancelled(Exception):
    """The parse was stopped (``Cancel.set``): its caller should stop too."""


class Cancel:
    """Stops ``prime`` from another thread (the server's shutdown, while its load parses).

    Setting it drops the chunks not yet parsed, ends the workers and the forkserver, and
    makes the ``prime`` running now (or any later one) raise ``Cancelled``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = threading.Event()
        self._pool: ProcessPoolExecutor | None = None

    def is_set(self) -> bool:
        return self._set.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, less once set; whether it is set."""
        return self._set.wait(timeout)

    def set(self) -> bool:
        """Stop the parse; whether one was running (its thread is unwinding now)."""
        with self._lock:
            self._set.set()
            pool, self._pool = self._pool, None
        if pool is None:
            return False
        _stop_pool(pool)
        return True

    @contextlib.contextmanager
    def watching(self, pool: ProcessPoolExecutor) -> Iterator[None]:
        """While the ``with`` runs, ``set`` stops ``pool``; raises ``Cancelled`` if already set."""
        with self._lock:
            if self._set.is_set():
                raise Cancelled
            self._pool = pool
        try:
            yield
        finally:
            with self._lock:
                self._pool = None


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
    cancel: Cancel | None = None,
    per_file: PerFile[Any] | None = None,
) -> int:
    """Parse in ``jobs`` processes (default: one per core, when there are ``MIN_FILES`` to
    parse) each file ``cache`` has no entry for, and keep the results in it; how many were.

    ``start_method`` "forkserver" is for a caller with threads (the server): its workers
    are forked from a fresh single-threaded process and import the parser themselves.
    ``niceness`` lowers the workers' priority by that much (the server's: its own threads
    answer readers meanwhile, and parsers at the same priority took every core from them).
    ``cancel`` set meanwhile (from another thread) stops the parse: ``Cancelled`` is raised.
    ``per_file``: what else the workers make of each comparison (see ``PerFile``).
    """
    if cancel is not None and cancel.is_set():
        raise Cancelled
    stale_at = [at for at, source in enumerate(sources) if cache.lacks(source.path, source.display)]
    stale = [sources[at] for at in stale_at]
    workers = available_cores() if jobs is None else jobs
    if workers < 2 or not stale or (jobs is None and len(stale) < MIN_FILES):
        return 0
    size = max(_CHUNK, -(-len(stale) // _spool_budget()))
    chunks = [stale[start : start + size] for start in range(0, len(stale), size)]
    every_key = per_file.keys() if per_file is not None else None
    keys = (
        [
            [every_key[at] for at in stale_at[start : start + size]]
            for start in range(0, len(stale), size)
        ]
        if every_key is not None
        else [[0] * len(chunk) for chunk in chunks]
    )
    context = multiprocessing.get_context(start_method)
    made = 0
    try:
        # Each chunk's bodies (most of a result) go to a spool file beside the cache, not
        # through the pipe: the parent then receives, unpickles and holds short fields only,
        # and saving copies the bodies file to file (``ParseCache.add_spooled``).
        with (
            _spool_folder(cache) as folder,
            # An executor, not a Pool: a worker that dies (or cannot start) breaks it with
            # an error, where a Pool starts another forever; what is left is parsed by the
            # caller.
            ProcessPoolExecutor(
                min(workers, len(chunks)),
                mp_context=context,
                initializer=_lower_priority,
                initargs=(niceness, os.getpid()),
            ) as pool,
            cancel.watching(pool) if cancel is not None else _nothing(),
            paused_gc(),
        ):
            tasks = [
                (
                    [source.path for source in chunk],
                    [source.display for source in chunk],
                    chunk_keys,
                )
                for chunk, chunk_keys in zip(chunks, keys, strict=True)
            ]
            spools = [Path(folder) / str(number) for number in range(len(chunks))]
            make = per_file.make if per_file is not None else None
            work = partial(_parse_chunk, today=today, make=make)
            for (paths, _, _), spool_path, (spooled, extras) in zip(
                tasks, spools, pool.map(work, tasks, spools), strict=True
            ):
                made += cache.add_spooled(paths, spooled, spool_path)
                if per_file is not None:
                    per_file.take(extras)
    except Exception as exc:
        # A stopped pool breaks, cancels or refuses what was pending: no failure to report.
        if cancel is not None and cancel.is_set():
            raise Cancelled from exc
        if not isinstance(exc, (BrokenProcessPool, OSError)):
            raise
        log.warning("parsing in worker processes failed (%s); parsing in this one", exc)
    return made


def _spool_budget() -> int:
    """How many spool files (chunks) a parse may hold open: see ``_MAX_SPOOLS``. A quarter
    of the descriptors still free, where the system says how many are open (a server holds
    sockets, log files and database connections: a quarter of the limit alone ran out when
    most of it was in use already), else a quarter of the limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return _MAX_SPOOLS
    try:
        free = soft - len(os.listdir("/proc/self/fd"))
    except OSError:
        free = soft
    return max(1, min(_MAX_SPOOLS, free // 4))


# The spool folders this process is using now, by name: one that names this process's pid
# and is not among them was left by an earlier process with the same pid (a container's
# server restarts as pid 1 after being killed mid-parse). The lock keeps another thread's
# cleanup from seeing a folder made but not yet listed.
_IN_USE: set[str] = set()
_IN_USE_LOCK = threading.Lock()


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Drop ``pool``'s pending chunks and end its workers now, then the forkserver they were
    forked from (idle, it would live as long as the server).

    ``shutdown`` alone would let each worker finish the chunks already queued to it, seconds
    of parsing for a server that is stopping.
    """
    # The executor has no public way to end its workers; ``_processes`` is in typeshed. Its
    # dict is taken before ``shutdown`` drops it, and read after: a worker being started
    # meanwhile is in it by then (both hold the executor's shutdown lock).
    processes = pool._processes
    pool.shutdown(wait=False, cancel_futures=True)
    workers = list((processes or {}).values())
    # Killed, not asked: a worker keeps nothing to clean up (its spool files are in the
    # parent's folder), and one stopped or swapped out would not act on SIGTERM soon.
    for worker in workers:
        worker.kill()
    for worker in workers:
        worker.join()
    _stop_forkserver()


def _stop_forkserver() -> None:
    """End multiprocessing's forkserver, if this process started one: the next pool starts
    another. Its workers must be gone first (each holds the pipe whose closing stops it)."""
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # private: present in 3.11 at least
    if stop is None:
        return
    try:
        stop()
    except OSError as exc:  # already gone
        log.debug("stopping the forkserver: %s", exc)


@contextlib.contextmanager
def _spool_folder(cache: ParseCache) -> Iterator[str]:
    """A folder for the workers' spool files beside the cache (one file system: the save
    copies from them), else in the system's temporary folder (a read-only data folder)."""
    with _IN_USE_LOCK:
        try:
            cache.path.parent.mkdir(parents=True, exist_ok=True)
            _remove_orphaned_spools(cache.path.parent)
            folder = tempfile.TemporaryDirectory(
                prefix=f"{_SPOOL_PREFIX}{os.getpid()}-", dir=cache.path.parent
            )
        except OSError:
            folder = tempfile.TemporaryDirectory(prefix="nicepick-spool-")
        name = Path(folder.name).name
        _IN_USE.add(name)
    try:
        with folder as path:
            yield path
    finally:
        with _IN_USE_LOCK:
            _IN_USE.discard(name)


def _remove_orphaned_spools(folder: Path) -> None:
    """Remove the spool folders of parses whose process is gone (killed before its ``with``
    could clean up: each holds up to the bodies of a whole library). A folder names the
    process that made it; one of a process still running (another server on the same data
    folder) is left alone."""
    for entry in folder.glob(f"{_SPOOL_PREFIX}*"):
        owner = entry.name.removeprefix(_SPOOL_PREFIX).partition("-")[0]
        if not (owner.isascii() and owner.isdigit()) or entry.name in _IN_USE:
            continue
        if int(owner) != os.getpid() and _is_running(int(owner)):
            continue
        shutil.rmtree(entry, ignore_errors=True)


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by another user
        return True
    except OverflowError:  # no process has such a pid: not a spool folder a parse made
        return True
    return True


def _lower_priority(niceness: int, parent: int | None = None) -> None:
    """In a worker, first: run ``niceness`` steps below the parent (where the OS has it),
    and end with ``parent`` (the process that asked for the parse)."""
    if niceness and hasattr(os, "nice"):
        os.nice(niceness)
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent,), name="parent-watch", daemon=True).start()


def _end_with(parent: int) -> None:
    """Exit as soon as ``parent`` does. A server killed mid-parse (SIGKILL, the OOM killer)
    runs no ``Cancel``: its workers, children of the forkserver, not of the server, waited on
    their queues forever, and with them the forkserver and the resource tracker."""
    try:
        watched = os.pidfd_open(parent)
    except ProcessLookupError:  # gone already
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd here (not Linux 5.3+): as before
        return
    select.select([watched], [], [])  # readable once it has exited
    os._exit(1)


def _parse_chunk(
    task: tuple[list[Path], list[str], list[int]],
    spool_path: Path,
    *,
    today: date | None,
    make: Callable[[Comparison, int], object] | None = None,
) -> tuple[list[Spooled], list[object]]:
    """In a worker: each file's cache entry (None when it cannot be read), its bodies
    written to ``spool_path``; and ``make`` of each comparison parsed, given its file's key
    (``PerFile``)."""
    paths, displays, keys = task
    extras: list[object] = []

    def parse(
        source: SourceFile, key: int, data: bytes, digest: str
    ) -> tuple[Comparison | None, list[Problem]]:
        comparison, problems = parse_bytes(source, data, today=today, digest=digest)
        if make is not None and comparison is not None:
            extras.append(make(comparison, key))
        return comparison, problems

    made = [
        make_entry(path, display, partial(parse, SourceFile(path, display, path.stem), key))
        for path, display, key in zip(paths, displays, keys, strict=True)
    ]
    return spool(made, spool_path), extras
