"""Reading a content file: only regular files inside the folder, of bounded size.

Every reader of content files (the parser, the parse cache, the preview's error excerpts,
the placing of cross-file errors) goes through ``read_content``, so none of them can hang on
a named pipe or print a file a symbolic link points to.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

# The largest shipped comparison is 6.4 kB; 128 KiB is twenty times that (some 20,000 words,
# far beyond a page anyone scrolls through), and it bounds what one file can cost to parse
# and to render (the Markdown limits in ``app.content.parse`` bound each part of it). nginx
# refuses request bodies over 1 MiB by default (client_max_body_size) on the same principle:
# a size no honest input reaches, so the worst case is known.
MAX_FILE_BYTES = 128 * 1024


_LINK = "a symbolic link: not read (a content file must be a regular file in the folder)"
_SPECIAL = "not a regular file (a named pipe, socket or device): not read"


def _too_large(size: int) -> str:
    return f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes (128 KiB)"


class NotContent(OSError):
    """A path in the content folder that is not read: a link, a pipe, a device, too large."""


def read_content(path: Path) -> bytes:
    """The bytes of a content file, refusing anything but a regular file of bounded size.

    Symbolic links are not followed (``O_NOFOLLOW``), as nginx does with ``disable_symlinks
    on`` (https://nginx.org/en/docs/http/ngx_http_core_module.html#disable_symlinks): a link
    could point anywhere, the data folder's ``secret_key`` included, and the preview's error
    page prints the lines of a file. (The content folder itself may be a link: only names
    inside it are refused.) ``O_NONBLOCK`` makes opening a named pipe return at once instead
    of waiting for a writer, forever; ``fstat`` then refuses it, and the check is made on the
    open file, so nothing can be swapped in between. Every reader of content files (the
    parser, the parse cache, the preview's excerpts) goes through here.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotContent(exc.errno, _LINK) from None
        raise
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):  # as opening it as a file object said (its strerror)
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(info.st_mode):
            raise NotContent(errno.EINVAL, _SPECIAL)
        if info.st_size > MAX_FILE_BYTES:
            raise NotContent(errno.EFBIG, _too_large(info.st_size))
        data = _read_to_end(descriptor, info.st_size)
    finally:
        os.close(descriptor)
    if len(data) > MAX_FILE_BYTES:  # grew while being read
        raise NotContent(errno.EFBIG, _too_large(len(data)))
    return data


def _read_to_end(descriptor: int, size: int) -> bytes:
    """Up to ``MAX_FILE_BYTES + 1`` bytes, read until the end of the file: its ``size`` and
    one more first (a file that did not grow needs one read, then one to see its end).

    Plain reads of the descriptor: a buffered file object cost another ``fstat`` and a
    buffer of the whole bound for each of a library's files.
    """
    data = b""
    want = size + 1
    while len(data) <= MAX_FILE_BYTES:
        chunk = os.read(descriptor, want)
        if not chunk:
            break
        data += chunk
        want = MAX_FILE_BYTES + 1 - len(data)
    return data


def read_content_text(path: Path) -> str | None:
    """A content file's text for showing excerpts (undecodable bytes replaced), else None."""
    try:
        return read_content(path).decode("utf-8", errors="replace")
    except OSError:
        return None
