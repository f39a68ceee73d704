"""A memo for functions of one short string (headings, tags, names, dates of front matter).

Such values recur across the files of a library, so each is worked out once per process; a
key longer than any real one (a careless or hostile file's 100,000-character line) is worked
out again each time instead of being kept.

A memo is a dict whose call is the dict's own lookup: a value already worked out costs no
Python-level call (a parse asks some sixty times a file, nearly always for a known key), and
only a new key runs ``__missing__``. ``functools.lru_cache`` behind a wrapper that checks the
key's length cost a Python frame per ask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

Result = TypeVar("Result")

# A memo keeps only short keys: a heading, a tag or a date is short in any real file, and a
# hostile or careless one of 100,000 characters per line must not stay in memory once per
# entry (16,384 entries of 128 KiB would be 2 GiB); a long key is simply computed again.
MEMO_KEY_MAX = 256


class ShortMemo(dict[str, Result], Generic[Result]):
    """``function`` memoised for keys of at most ``MEMO_KEY_MAX`` characters, at most
    ``maxsize`` of them: a full memo is emptied and fills again with the keys still in use
    (the functions are pure, so which keys are kept changes no result)."""

    __slots__ = ("function", "maxsize")

    def __init__(self, function: Callable[[str], Result], maxsize: int) -> None:
        super().__init__()
        self.function = function
        self.maxsize = maxsize

    def __missing__(self, key: str) -> Result:
        value = self.function(key)
        if len(key) <= MEMO_KEY_MAX:
            if len(self) >= self.maxsize:
                self.clear()
            self[key] = value
        return value

    if TYPE_CHECKING:

        def __call__(self, key: str) -> Result: ...

    else:
        __call__ = dict.__getitem__  # a hit never leaves C; a miss calls ``__missing__``


def short_memo(maxsize: int) -> Callable[[Callable[[str], Result]], ShortMemo[Result]]:
    """Memoise a function of one string (see ``ShortMemo``)."""

    def decorate(function: Callable[[str], Result]) -> ShortMemo[Result]:
        return ShortMemo(function, maxsize)

    return decorate
