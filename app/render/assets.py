"""The static folder as pages link to it: fingerprinted URLs, and the file behind a URL.

A fingerprint is the start of the file's SHA-256, so browsers may keep ``/static/`` files for
a year and still get a changed file at once (its URL changes). Fingerprints are computed on
first use and kept until ``clear`` (the live preview calls it when a static file changes).
"""

from __future__ import annotations

import hashlib
from pathlib import Path


class Assets:
    def __init__(self, static_dir: Path) -> None:
        self.static_dir = static_dir
        self._urls: dict[str, str] = {}

    def url(self, name: str) -> str:
        """``site.css`` -> ``/static/site.<hash>.css``, so browsers may cache it for a year."""
        url = self._urls.get(name)
        if url is None:
            path = self.static_dir / name
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            except OSError:
                return f"/static/{name}"
            stem, dot, suffix = name.rpartition(".")
            url = f"/static/{stem}.{digest}.{suffix}" if dot else f"/static/{name}.{digest}"
            self._urls[name] = url
        return url

    def clear(self) -> None:
        """Forget every fingerprint: a static file changed."""
        self._urls.clear()

    def __len__(self) -> int:
        """How many fingerprints are kept."""
        return len(self._urls)

    def file(self, requested: str) -> Path | None:
        """Map a fingerprinted or plain static name to a file inside the static folder only."""
        root = self.static_dir.resolve()
        candidates = [requested]
        stem, dot, suffix = requested.rpartition(".")
        base, dot2, _digest = stem.rpartition(".")
        if dot and dot2:
            candidates.insert(0, f"{base}.{suffix}")
        for name in candidates:
            # No static name is that long; longer ones would only fail in the OS (ENAMETOOLONG).
            if not name or "\x00" in name or len(name) > 255:
                continue
            try:
                path = (root / name).resolve()
                if path.is_relative_to(root) and path.is_file():
                    return path
            except (OSError, ValueError):  # a name the OS refuses is simply not a file of ours
                continue
        return None
