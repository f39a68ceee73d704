"""Reading the content folder over forked processes: the build's first step on a cold cache.

Parsing is per file and needs nothing from the others, so each process parses every
``jobs``-th file into its copy of the parse cache (``app/content/cache.py``) and hands back
the entries it made; the building process adds them to its own cache, and ``Library.load``
then reads every file from the cache (cross-file rules and indexes as always). A file the
cache already holds unchanged is not parsed again, so a warm build forks nothing.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from app.commands import workers
from app.content.cache import ParseCache
from app.content.library import Library, SourceFile, discover, parse_file
from app.site import ReadLibrary

# Below this many files to parse one process does it: a fork costs more than it saves.
PARALLEL_ABOVE = 500


def parallel_reader(jobs: int, *, above: int = PARALLEL_ABOVE) -> ReadLibrary:
    """``Library.load`` with the parsing shared by ``jobs`` processes when more than
    ``above`` files need it."""

    def read(
        content_dir: Path,
        cache: ParseCache | None = None,
        *,
        sources: list[SourceFile] | None = None,
        yield_every: int = 0,
    ) -> Library:
        if cache is not None and jobs > 1 and workers.can_fork() and content_dir.is_dir():
            if sources is None:
                sources = discover(content_dir)
            stale = [source for source in sources if not cache.fresh(source.path, source.display)]
            if len(stale) > above:
                children = [
                    workers.start(partial(_parse, cache, stale[n::jobs])) for n in range(1, jobs)
                ]
                _parse(cache, stale[0::jobs])
                for results in workers.collect(children):
                    cache.add(results)
        return Library.load(content_dir, cache, sources=sources, yield_every=yield_every)

    return read


def _parse(cache: ParseCache, sources: list[SourceFile]) -> dict[str, tuple[object, ...]]:
    """Parse ``sources`` into ``cache``; their entries, for the building process."""
    for source in sources:
        cache.parse(source.path, source.display, partial(parse_file, source, None))
    return cache.results([str(source.path) for source in sources])
