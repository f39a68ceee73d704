"""What a reader's first query downloads from an exported search index.

Does what ``static/search.js`` does (the metadata, the shards of each word, the document
chunks of the first page of results) and adds up the files' sizes, as sent (identity) and as
a host with precompressed ``.gz`` files sends them.

    python -m bench.static_search_size CONTENT [--queries "latency" "tool12" ...]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import tempfile
import time
from pathlib import Path

from app.commands.static_search import FOLDER, shard_name, tokens_of, write_search_index
from app.content.library import Library

QUERIES = ["latency", "tool12", "cache shard", "replication failover", "topic-17", "ms", "t"]
PER_PAGE = 24


def first_query_bytes(folder: Path, query: str) -> tuple[int, int, int]:
    """(identity bytes, gzip bytes, files) the first query fetches from ``folder``."""
    meta_file = folder / "meta.json"
    meta = json.loads(meta_file.read_bytes())
    files = [meta_file]
    terms = tokens_of(query)
    shards: set[str] = set()
    for term in terms:
        own = max((p for p in meta["shards"] if term.startswith(p)), key=len, default=None)
        if not (len(term) == 1 and term.isascii()):  # a single letter is a whole word
            shards.update(p for p in meta["shards"] if p.startswith(term) and p != term)
        if own is not None:
            shards.add(own)
    files += [folder / "t" / f"{shard_name(p)}.json" for p in sorted(shards)]
    # The first page's documents: at most one chunk per result.
    scores: dict[int, int] | None = None
    for term in terms:
        found: dict[int, int] = {}
        for prefix in shards:
            data = json.loads((folder / "t" / f"{shard_name(prefix)}.json").read_bytes())
            for key, flat in data.items():
                if key == term or (len(term) > 1 and key.startswith(term)):
                    page = 0
                    for i in range(0, len(flat), 2):
                        page += flat[i]
                        # 4 * weighted count + where (static_search.TITLE, OPTIONS)
                        found[page] = found.get(page, 0) + flat[i + 1] // 4
        scores = found if scores is None else {p: s for p, s in scores.items() if p in found}
    shown = sorted(scores or {}, key=lambda p: -(scores or {})[p])[:PER_PAGE]
    files += [folder / "d" / f"{n}.json" for n in sorted({p // meta["chunk"] for p in shown})]
    raw = sum(path.stat().st_size for path in files)
    packed = sum(len(gzip.compress(path.read_bytes(), 9)) for path in files)
    return raw, packed, len(files)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("content", type=Path)
    parser.add_argument("--queries", nargs="*", default=QUERIES)
    args = parser.parse_args()
    library = Library.load(args.content)
    out = Path(tempfile.mkdtemp(prefix="nicepick-search-size-"))
    try:

        def write(path: Path, body: bytes) -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)

        started = time.perf_counter()
        count = write_search_index(out, library.visible(), write)
        seconds = time.perf_counter() - started
        folder = out / FOLDER
        total = sum(p.stat().st_size for p in folder.rglob("*.json"))
        print(
            f"{len(library.comparisons)} pages: {count} files, {total / 1024:.0f} KB "
            f"in {seconds:.1f} s"
        )
        for query in args.queries:
            raw, packed, files = first_query_bytes(folder, query)
            print(f"  {query!r}: {files} files, {raw / 1024:.0f} KB ({packed / 1024:.0f} KB gzip)")
    finally:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
