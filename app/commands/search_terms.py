"""Each page's search words, kept in OUT from one build for the next (``StoredTerms``).

Cutting 10,000 pages into words is most of the static search index's time, so a build keeps
every page's ``page_terms`` by content hash and the next one cuts only the pages whose
content changed. An incremental build patches the index for a few pages and needs the old
words of those alone: each page's words are kept as their own ``marshal`` bytes, and read
back only when asked for. Loading the whole file as nested dicts cost ~90 ms of each title
or tag edit at 10,000 pages and ~0.1 s of each quick build; reading 10,000 byte strings
costs a few milliseconds.
"""

from __future__ import annotations

import marshal
from collections.abc import Collection, Iterator, MutableMapping
from pathlib import Path

from app.commands.static_search import Terms

# "-3": each page's words as their own bytes; "-2" (one nested dict) and the first format,
# written by older builds, are removed by the next save (nothing reads them any more).
NAME = ".nicepick-search-terms-3.marshal"
_OLD_NAMES = (".nicepick-search-terms-2.marshal", ".nicepick-search-terms.marshal")


class StoredTerms(MutableMapping[str, Terms]):
    """Pages' words by content hash: those read from OUT stay bytes until asked for. A page
    whose bytes are damaged is forgotten when first asked for (``KeyError``, as for a page
    never cut into words); until then it counts in ``len`` and ``in``."""

    def __init__(self, stored: dict[str, bytes] | None = None) -> None:
        self._stored = stored if stored is not None else {}
        self._read: dict[str, Terms] = {}

    @classmethod
    def load(cls, out: Path) -> StoredTerms:
        """The words the last build kept in ``out``; none when it kept none (or another
        format, or damaged bytes: the words are cut again)."""
        try:
            stored = marshal.loads((out / NAME).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return cls()
        if not isinstance(stored, dict) or not all(
            isinstance(value, bytes) for value in stored.values()
        ):
            return cls()
        return cls(stored)

    def save(self, out: Path, keep: Collection[str]) -> None:
        """Write the words of the ``keep`` content hashes (the pages built) into ``out``."""
        document = {}
        for key in keep:
            if key in self._read:
                document[key] = marshal.dumps(self._read[key])
            elif key in self._stored:
                document[key] = self._stored[key]
        (out / NAME).write_bytes(marshal.dumps(document))
        for old in _OLD_NAMES:
            (out / old).unlink(missing_ok=True)

    def __getitem__(self, key: str) -> Terms:
        found = self._read.get(key)
        if found is not None:
            return found
        try:
            words, length = marshal.loads(self._stored[key])
            if not isinstance(words, dict) or not isinstance(length, int):
                raise TypeError(key)
        except (EOFError, ValueError, TypeError):
            # Damaged: forgotten (so not "in" it either), and the page is cut into words again.
            del self._stored[key]
            raise KeyError(key) from None
        self._read[key] = (words, length)
        return words, length

    def __setitem__(self, key: str, value: Terms) -> None:
        self._read[key] = value
        self._stored.pop(key, None)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._read.pop(key, None)
        self._stored.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._read or key in self._stored

    def __iter__(self) -> Iterator[str]:
        # Over a copy of the keys: reading a damaged page's words forgets it.
        yield from list(self._read)
        yield from [key for key in self._stored if key not in self._read]

    def __len__(self) -> int:
        return len(self._read) + sum(1 for key in self._stored if key not in self._read)
