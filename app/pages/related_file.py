"""The related index's lists kept in the data folder, so a warm start reads them back instead
of building them from every comparison.

Building ``RelatedIndex`` walks every visible comparison (0.5-0.7 s of CPU at 100,000, a
sixth of a warm start); reading its lists back as positions in the visible list costs a
tenth of that. The file holds one index: the lists of the last one built from scratch, with
the fingerprint of what they were built from (every candidate's slug and content hash in
order, the parser's and this code's versions, the list length), so it is used only for the
very same candidates; anything else (an edited, added, removed or newly published page)
builds the index again and keeps that one.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import marshal
from collections.abc import Sequence
from pathlib import Path

from app.atomic import write_atomic
from app.content.cache import code_version
from app.content.model import Comparison
from app.pages import navigation
from app.pages.navigation import RELATED_POOL, RelatedIndex
from app.sealed import opened, seal

log = logging.getLogger(__name__)

FILE_NAME = "related-index.marshal"
_FORMAT = 2  # 2: sealed (app/sealed.py)


@functools.cache
def _code_version() -> str:
    """Changes with how the lists are made (the index's code, the parser's and the model's)."""
    digest = hashlib.sha256(f"{_FORMAT}\0{code_version()}\0".encode())
    digest.update(inspect.getsource(navigation).encode())
    return digest.hexdigest()


def fingerprint(candidates: Sequence[Comparison], per_key: int = RELATED_POOL) -> str:
    """What an index's lists depend on: the candidates in order, each by slug and content."""
    digest = hashlib.sha256(f"{_code_version()}\0{per_key}\0".encode())
    digest.update("\0".join([f"{c.slug}\0{c.content_hash}" for c in candidates]).encode())
    return digest.hexdigest()


def read(
    path: Path, candidates: Sequence[Comparison], *, per_key: int = RELATED_POOL
) -> RelatedIndex | None:
    """The index kept at ``path`` when it was built over these very candidates, else None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    payload = opened(data)
    if payload is None:
        log.info("related index %s is damaged; building it again", path)
        return None
    try:
        fmt, kept, lists = marshal.loads(payload)
        if fmt != _FORMAT or kept != fingerprint(candidates, per_key):
            return None
        pools = {
            (kind, name): [candidates[position] for position in positions]
            for kind, name, positions in lists
        }
    except (EOFError, ValueError, TypeError, IndexError, MemoryError):
        log.info("related index %s is damaged; building it again", path)
        return None
    return RelatedIndex.from_pools(pools, per_key=per_key)


def write(
    path: Path,
    candidates: Sequence[Comparison],
    index: RelatedIndex,
    *,
    per_key: int = RELATED_POOL,
) -> None:
    """Keep ``index``, built over ``candidates``, at ``path`` (whole or not at all)."""
    position = {comparison.slug: number for number, comparison in enumerate(candidates)}
    if len(position) != len(candidates):  # a slug twice: positions would be ambiguous
        return
    lists = [
        (kind, name, [position[other.slug] for other in members])
        for (kind, name), members in index.pools.items()
    ]
    data = seal(marshal.dumps((_FORMAT, fingerprint(candidates, per_key), lists)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError as exc:  # a read-only data folder costs warm starts, nothing else
        log.info("cannot keep the related index in %s: %s", path, exc)
