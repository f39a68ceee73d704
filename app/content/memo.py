"""A memo for functions of one short string (headings, tags, names, dates of front matter).

Such values recur across the files of a library, so each is worked out once per process; a
key longer than any real one (a careless or hostile file's 100,000-character line) is worked
out again each time instead of being kept.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")

# A memo keeps only short keys: a heading, a tag or a date is short in any real file, and a
# hostile or careless one of 100,000 characters per line must not stay in memory once per
# entry (16,384 entries of 128 KiB would be 2 GiB); a long key is simply computed again.
MEMO_KEY_MAX = 256


def short_memo(maxsize: int) -> Callable[[Callable[[str], Result]], Callable[[str], Result]]:
    """``functools.lru_cache(maxsize)`` for keys of at most ``MEMO_KEY_MAX`` characters."""

    def decorate(function: Callable[[str], Result]) -> Callable[[str], Result]:
        cached = functools.lru_cache(maxsize=maxsize)(function)

        @functools.wraps(function)
        def call(key: str) -> Result:
            return cached(key) if len(key) <= MEMO_KEY_MAX else function(key)

        return call

    return decorate
