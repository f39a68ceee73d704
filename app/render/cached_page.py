"""A rendered page kept with everything a response needs: its strong ETag and compressed forms.

Built once when the site renders a page and shared by every request for it after that, so a
request costs a dictionary lookup and a header choice, never a hash or a compression.
Knows nothing of HTTP frameworks; ``app.web.responses`` turns it into a response.
"""

from __future__ import annotations

import gzip
import hashlib
import sys

import brotli

# Brotli quality 5 compresses a 9 KB page in ~0.4 ms to within ~15% of quality 11's size;
# quality 11 takes ~15 ms, which across 10,000 pages is minutes of export and slow first hits.
BROTLI_QUALITY = 5
GZIP_LEVEL = 9  # ~0.2 ms for a page: the best level costs nothing noticeable at our sizes


def etag_of(body: bytes) -> str:
    """A strong ETag: the same bytes always give the same tag, on every worker and export."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def gzip_bytes(body: bytes) -> bytes:
    # mtime=0 keeps the output a pure function of the body (reproducible exports, same ETags).
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def brotli_bytes(body: bytes) -> bytes:
    return bytes(brotli.compress(body, quality=BROTLI_QUALITY))


class CachedPage(bytes):
    """Page bytes that carry their ETag, gzip and brotli forms, all computed once by ``of``.

    A ``bytes`` subclass rather than a wrapper so every caller that wanted the page's bytes
    (templates tests, the feed, the export) keeps working unchanged, while the response code
    can tell a cached page (``isinstance(body, CachedPage)``) from a one-off render.
    """

    _etag: str | None
    _gzip: bytes | None
    _br: bytes | None

    @classmethod
    def of(cls, body: bytes, *, compress: bool = True) -> CachedPage:
        """``compress=False`` (a static export without compressed siblings, which would
        never ask for them) leaves each form to be made on first use, then kept; so is
        the ETag then (an export sends no header: hashing its 600 MB cost ~2 % of it)."""
        page = cls(body)
        page._etag = etag_of(body) if compress else None
        page._gzip = gzip_bytes(body) if compress else None
        page._br = brotli_bytes(body) if compress else None
        return page

    @property
    def etag(self) -> str:
        if self._etag is None:
            self._etag = etag_of(self)
        return self._etag

    @property
    def gzip(self) -> bytes:
        if self._gzip is None:
            self._gzip = gzip_bytes(self)
        return self._gzip

    @property
    def br(self) -> bytes:
        if self._br is None:
            self._br = brotli_bytes(self)
        return self._br

    def held_bytes(self) -> int:
        """Memory it holds: the page, the compressed forms made so far, its attributes."""
        return (
            sys.getsizeof(self)
            + sys.getsizeof(self._gzip)
            + sys.getsizeof(self._br)
            + sys.getsizeof(self.__dict__)
        )

    @property
    def body(self) -> bytes:
        return bytes(self)
