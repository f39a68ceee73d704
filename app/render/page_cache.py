"""Rendered pages kept in memory by key, within a byte budget, least recently used dropped."""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from app import metrics
from app.render.cached_page import CachedPage

# Misses (a render that returns no bytes: an unknown slug, a page number past the end) are
# remembered apart from pages, because their keys are whatever a client typed. nginx's
# proxy_cache does the same with its keys zone: a miss costs a fixed-size digest of its key
# (nginx: an MD5 in ``keys_zone``, "one megabyte zone can store about 8 thousand keys",
# https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_cache_path), never the key
# itself, and the zone holds a fixed number of them. 4,096 digests take about 0.6 MB.
MISS_ENTRIES = 4096
# Bytes of a cache entry beyond its body, compressed forms and key: the dict slot and linked
# list node of the OrderedDict (~160) and the attribute dict of the CachedPage, measured with
# tracemalloc (tests/test_page_cache.py checks the estimate).
_ENTRY_OVERHEAD = 160

_MISS = CachedPage.of(b"")


class PageCache:
    """Rendered pages by key; a key names everything the bytes depend on, so no invalidation.

    Each entry is a ``CachedPage``: the ETag and compressed forms are computed here, once per
    rendered body, never per request (``compress=False``, for a static export that writes no
    compressed files: each form on its first use, if any). The cache holds at most
    ``max_bytes`` (body, its gzip and brotli forms, its key and the bookkeeping around them)
    and drops the least recently used pages beyond that: a crawler walking all 30,000 pages
    of a 10,000-comparison site would otherwise pin about 1 GB.

    A render that returns empty bytes is a miss: the caller's page does not exist. Only a
    16-byte digest of its key is kept, in a separate least-recently-used set of at most
    ``max_misses``, so repeated misses still render nothing while a stranger's strings (the
    slug in ``/option/<anything>``, ``?page=N``) can neither fill memory nor push real
    pages out of the page budget.

    ``keep=False`` keeps nothing: each call renders (a static export asks for each page
    once, and sizing and evicting 70,000 entries cost ~2 % of its rendering).
    """

    def __init__(
        self,
        max_bytes: int = 256 * 1024 * 1024,
        max_misses: int = MISS_ENTRIES,
        *,
        compress: bool = True,
        keep: bool = True,
    ) -> None:
        # Each page with the bytes it was counted for when stored (a form made later, on
        # first use, is not counted: the same figure comes off when it goes).
        self._entries: OrderedDict[Hashable, tuple[CachedPage, int]] = OrderedDict()
        self._compress = compress
        self._keep = keep
        self._misses: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self._max_bytes = max_bytes
        self._max_misses = max_misses
        self._bytes = 0

    def get_or_render(self, key: Hashable, render: Callable[[], bytes]) -> CachedPage:
        if not self._keep:
            rendered = render()
            return CachedPage.of(rendered, compress=self._compress) if rendered else _MISS
        entry = self._entries.get(key)
        if entry is not None:
            cached = entry[0]
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
            metrics.PAGE_CACHE_HITS.inc()
            return cached
        metrics.PAGE_CACHE_MISSES.inc()
        # Named only when a miss may be known (a build renders each page once, and found
        # none: the digest of every key cost ~1 % of it).
        digest = _digest(key) if self._misses else None
        if digest is not None:
            with self._lock:
                if digest in self._misses:
                    self._misses.move_to_end(digest)
                    return _MISS
        rendered = render()
        if not rendered:
            with self._lock:
                self._misses[digest or _digest(key)] = None
                while len(self._misses) > self._max_misses:
                    self._misses.popitem(last=False)
            return _MISS
        body = CachedPage.of(rendered, compress=self._compress)
        size = _footprint(key, body)
        evictions = 0
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= previous[1]
            self._entries[key] = (body, size)
            self._bytes += size
            while self._bytes > self._max_bytes and len(self._entries) > 1:
                _evicted_key, (_evicted, counted) = self._entries.popitem(last=False)
                self._bytes -= counted
                evictions += 1
            # One cache per serving process: its size is the process's figure.
            metrics.PAGE_CACHE_BYTES.set(self._bytes)
        if evictions:
            metrics.PAGE_CACHE_EVICTIONS.inc(evictions)
        return body

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._misses.clear()
            self._bytes = 0
            metrics.PAGE_CACHE_BYTES.set(0)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    @property
    def misses(self) -> int:
        return len(self._misses)

    def __len__(self) -> int:
        return len(self._entries)


def _digest(key: Hashable) -> bytes:
    """A fixed-size name for a key: ``repr`` of our keys (tuples of str, int, bool) is exact."""
    return hashlib.blake2b(repr(key).encode("utf-8", "backslashreplace"), digest_size=16).digest()


def _key_bytes(key: object) -> int:
    """Memory of a key: the tuple and what it holds (shared strings are counted anyway)."""
    size = sys.getsizeof(key)
    if isinstance(key, tuple):
        size += sum(_key_bytes(part) for part in key)
    return size


def _footprint(key: Hashable, page: CachedPage) -> int:
    return page.held_bytes() + _key_bytes(key) + _ENTRY_OVERHEAD
