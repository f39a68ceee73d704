"""The static export against Hugo, side by side, and an incremental build after one edit.

    python -m bench.export_compare [--n 10000]

1. ``nicepick build OUT --no-cards --full`` of N synthetic comparisons (bench/generate.py);
2. Hugo on the same N comparisons (bench/hugo_compare.py), right after, on the same machine;
3. one file edited (a word in its bottom line), then ``nicepick build OUT --no-cards`` again: the
   incremental build, its time and how many files it rewrote.

Each build is a separate ``python -m app build`` process, timed from outside, as a user runs it,
with the CPU seconds it and its forked processes used, and the load average after each step.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
        env = {
            **os.environ,
            "NICEPICK_CONTENT_DIR": str(content),
            "NICEPICK_DATA_DIR": str(root / "var"),
            "NICEPICK_TEMPLATES_DIR": str(ROOT / "templates"),
            "NICEPICK_STATIC_DIR": str(ROOT / "static"),
            "NICEPICK_FEEDBACK_ENDPOINT": "https://notes.example.org",
            "NICEPICK_SECRET_KEY": "bench-only-secret",
        }
        out = root / "site"
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
        edited = content / "tool7a-vs-tool7b.md"
        text = edited.read_text(encoding="utf-8")
        edited.write_text(text.replace("## Bottom line\n", "## Bottom line\nEdited. "), "utf-8")
        summary, wall = build(out, env, "--no-cards")
        lines.append(f"incremental after one edit: {summary} (wall {wall:.1f} s)")
    return lines


def _load() -> str:
    """The load average now: a wall figure means little without it on a shared machine."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f}, {five:.1f}, {fifteen:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    for line in compare(args.n):
        print(line)


if __name__ == "__main__":
    main()
