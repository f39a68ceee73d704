"""The static export against Hugo, side by side, and an incremental build after one edit.

    python -m bench.export_compare [--n 10000]

1. ``nicepick build OUT --no-cards --full`` of N synthetic comparisons (bench/generate.py);
2. Hugo on the same N comparisons (bench/hugo_compare.py), right after, on the same machine;
3. ``nicepick build OUT --no-cards`` again after each kind of edit (a bottom line, twice; a
   title; tags; a file added; removed): each incremental build's time and files rewritten.

``--incremental-only CONTENT`` skips Hugo and runs steps 1 and 3 on a copy of CONTENT.

Each build is a separate ``python -m app build`` process, timed from outside, as a user runs it,
with the CPU seconds it and its forked processes used, and the load average after each step.
The project's modules are compiled to bytecode first, as an installed ``nicepick`` has them
(``bench.common.compile_modules``).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import compile_modules, settle_disk
from bench.generate import comparison_markdown
from bench.hugo_compare import hugo_pages_per_second

ROOT = Path(__file__).resolve().parent.parent


def build(out: Path, env: dict[str, str], *flags: str) -> tuple[str, float]:
    """(the summary line with its CPU seconds, wall seconds) of one ``nicepick build``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "app", "build", str(out), "--base-url", "https://example.org"]
        + list(flags),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"nicepick build failed ({result.returncode}):\n{result.stderr[-3000:]}")
    line = next(line for line in result.stdout.splitlines() if line.startswith("wrote "))
    # CPU of the build and every process it forked (they are waited for): the figure a
    # busy machine does not inflate as it does the wall time.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return f"{line}; CPU {cpu:.1f} s", seconds


def _environment(content: Path, root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NICEPICK_CONTENT_DIR": str(content),
        "NICEPICK_DATA_DIR": str(root / "var"),
        "NICEPICK_TEMPLATES_DIR": str(ROOT / "templates"),
        "NICEPICK_STATIC_DIR": str(ROOT / "static"),
        "NICEPICK_FEEDBACK_ENDPOINT": "https://notes.example.org",
        "NICEPICK_SECRET_KEY": "bench-only-secret",
    }


def compare(n: int) -> list[str]:
    """Report lines for ``n`` comparisons."""
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="nicepick-export-bench-") as folder:
        root = Path(folder)
        content = root / "content"
        content.mkdir()
        rng = random.Random(6)  # the seed hugo_compare uses: the same pages
        for number in range(n):
            slug, text = comparison_markdown(number, rng)
            (content / f"{slug}.md").write_text(text, encoding="utf-8")
        env = _environment(content, root)
        out = root / "site"
        compile_modules()
        settle_disk(content)
        summary, wall = build(out, env, "--no-cards", "--full")
        match = re.search(r"(\d+) pages, (\d+) files, .* in ([\d.]+) s \((\d+) pages/s\)", summary)
        pps = float(match.group(4)) if match else float("nan")
        lines.append(f"nicepick build --no-cards: {summary} (wall {wall:.1f} s)")
        lines.append(_load())
        hugo = hugo_pages_per_second(n)
        if hugo is not None:
            hugo_pps, pages, seconds = hugo
            lines.append(
                f"hugo: {pages} pages in {seconds:.1f} s ({hugo_pps:,.0f} pages/s); "
                f"export at {pps / hugo_pps:.2f}x Hugo"
            )
            lines.append(_load())
        lines += incremental(content, out, env)
    return lines


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def incremental(content: Path, out: Path, env: dict[str, str]) -> list[str]:
    """One ``nicepick build`` after each kind of edit, on the build already in ``out``: a
    body edit (the quick path), a title and a tag edit (their listings change), a file added
    and one removed (the full incremental build): first a copy of an old page (dated among
    the others: the search index's page numbers after it move), then a new page dated after
    every other, as an editor adds one (numbered last)."""
    page = content / "tool7a-vs-tool7b.md"
    added = content / "tool7x-vs-tool7y.md"
    # bench/generate.py dates pages from 2024-01-01 over 700 days: this is after every one.
    dated = "published: 2026-01-01"

    def add_newest() -> None:
        text = page.read_text().replace("Tool7a", "Tool7n")
        added.with_name("tool7n-vs-tool7b.md").write_text(
            re.sub(r"^published: \S+$", dated, text, flags=re.M)
        )

    edits: list[tuple[str, Callable[[], object]]] = [
        ("bottom line", lambda: _edit(page, "## Bottom line\n", "## Bottom line\nEdited. ")),
        ("bottom line again", lambda: _edit(page, "Edited. ", "Edited twice. ")),
        ("title", lambda: _edit(page, "title: Tool7a vs Tool7b", "title: Tool7a vs Tool7b!")),
        ("tags", lambda: _edit(page, "tags: [", "tags: [edited-tag, ")),
        ("file added", lambda: added.write_text(page.read_text().replace("Tool7a", "Tool7x"))),
        ("file removed", lambda: added.unlink()),
        ("newest file added", add_newest),
        ("newest file removed", lambda: added.with_name("tool7n-vs-tool7b.md").unlink()),
    ]
    lines = []
    for name, change in edits:
        change()
        # The full build's and Hugo's hundreds of megabytes still being written back to the
        # disk took ~0.15 s of a one-second build's CPU: an editor's next build comes after.
        os.sync()
        summary, wall = build(out, env, "--no-cards")
        load = os.getloadavg()[0]
        lines.append(f"incremental after {name}: {summary} (wall {wall:.2f} s, load {load:.1f})")
    return lines


def _load() -> str:
    """The load average now: a wall figure means little without it on a shared machine."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f}, {five:.1f}, {fifteen:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument(
        "--incremental-only",
        metavar="CONTENT",
        type=Path,
        help="skip Hugo: copy CONTENT (e.g. /work/gen/e10k), build it once, then time the "
        "incremental builds after each kind of edit",
    )
    args = parser.parse_args()
    if args.incremental_only is not None:
        for line in incremental_only(args.incremental_only):
            print(line)
        return
    for line in compare(args.n):
        print(line)


def incremental_only(source: Path) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="nicepick-incremental-bench-") as folder:
        root = Path(folder)
        content = root / "content"
        shutil.copytree(source, content)
        env = _environment(content, root)
        out = root / "site"
        compile_modules()
        settle_disk(content)
        summary, wall = build(out, env, "--no-cards", "--full")
        return [f"full build: {summary} (wall {wall:.1f} s)", *incremental(content, out, env)]


if __name__ == "__main__":
    main()
