"""Bytes kept in the data folder with a checksum, so damage is seen before they are decoded.

``marshal`` checks nothing: a flipped bit in a kept related index (``app/pages/related_file``)
or search vocabulary (``app/search/index.py``) most often still decodes, into another page's
position or another word, and those files are trusted once their fingerprint matches, so a
damaged disk block would serve wrong related links or completions until the content changed.
A damaged length can also make ``marshal`` ask for gigabytes (``MemoryError`` where the
address space is limited). A CRC-32 of the payload (3 ms of CPU per 20 MB) catches every
burst of damage up to 32 bits and all but 1 in 4 billion others: the file is then made again.
"""

from __future__ import annotations

import struct
import zlib

_MAGIC = b"NPs1"
_HEADER = struct.Struct("<4sIQ")  # magic, CRC-32 of the payload, its length


def seal(payload: bytes) -> bytes:
    """``payload`` with the header ``opened`` checks."""
    return _HEADER.pack(_MAGIC, zlib.crc32(payload), len(payload)) + payload


def opened(data: bytes) -> memoryview | None:
    """The payload ``seal`` wrapped, or None when ``data`` is not one whole and intact."""
    if len(data) < _HEADER.size:
        return None
    magic, crc, length = _HEADER.unpack_from(data)
    payload = memoryview(data)[_HEADER.size :]
    if magic != _MAGIC or length != len(payload) or zlib.crc32(payload) != crc:
        return None
    return payload
