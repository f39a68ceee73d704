"""Compiled templates kept in the data folder between starts: a speed-up, never a failure.

Compiling the comparison page's templates took ~35 ms, most of a warm start's first page.
Jinja's file cache keys each template by name and source checksum, so an edited template is
compiled again; the compiled code also depends on Jinja's version and on the environment's
syntax and escaping options, which that key does not see, so they name the cache files too
(``compile_fingerprint``). A cache that cannot be used (a folder left by another user, a full
disk, a damaged file) means compiling as if there were none: logged once, never an error page.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import jinja2
from jinja2 import Environment, FileSystemBytecodeCache
from jinja2.bccache import Bucket

log = logging.getLogger(__name__)


def compile_fingerprint(env: Environment) -> str:
    """What compiled code depends on besides the source: Jinja's version and the options."""
    escaping = env.autoescape
    # select_autoescape is a function: its answer for each kind of name we use.
    names = ("page.html", "feed.xml", "a.txt", None)
    autoescape = tuple(escaping(name) for name in names) if callable(escaping) else escaping
    parts = (
        jinja2.__version__,
        autoescape,
        env.trim_blocks,
        env.lstrip_blocks,
        env.keep_trailing_newline,
        env.newline_sequence,
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.optimized,
        env.is_async,
        getattr(env.finalize, "__qualname__", None),
        tuple(sorted(env.extensions)),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


class TemplateCodeCache(FileSystemBytecodeCache):
    """Jinja's file cache of compiled templates that falls back to compiling on any error."""

    def __init__(self, folder: Path, fingerprint: str) -> None:
        super().__init__(str(folder), f"__jinja2_{fingerprint}_%s.cache")
        self._warned = threading.Event()

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception as error:  # OSError, or a damaged file's unpickling/unmarshal error
            bucket.reset()
            self._warn(error)

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as error:
            self._warn(error)

    def _warn(self, error: Exception) -> None:
        if not self._warned.is_set():
            self._warned.set()
            log.warning(
                "compiled-template cache in %s unusable (%s); compiling templates instead",
                self.directory,
                error,
            )


def attach(env: Environment, folder: Path) -> None:
    """Keep ``env``'s compiled templates in ``folder`` if it can be made, else compile."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        log.warning("no compiled-template cache in %s (%s); compiling templates", folder, error)
        return
    env.bytecode_cache = TemplateCodeCache(folder, compile_fingerprint(env))
