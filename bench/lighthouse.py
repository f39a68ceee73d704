"""Lighthouse on a comparison page, with Debian's Chromium, loopback only.

    python -m bench.lighthouse [--path /compare/<slug>] [--record]

Starts ``nicepick serve`` on the repo's content and runs the pinned Lighthouse from the npm
registry (``npx --yes lighthouse@12.2.3``; 13.x needs Node 22) with CHROME_PATH=/usr/bin/chromium.
The bar: at least 95 in performance, accessibility, best practices and SEO. The full report is
kept in bench/out/lighthouse.json (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from bench.common import ROOT, free_port, record
from bench.load_pages import start

LIGHTHOUSE = "lighthouse@12.2.3"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", help="page to audit (default: the first comparison)")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    out = ROOT / "bench" / "out" / "lighthouse.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="nicepick-lighthouse-") as temp:
        server = start(Path(temp) / "var", port, 1)
        try:
            path = args.path
            if not path:
                found = re.search(r'href="(/compare/[^"]+)"', httpx.get(f"{base}/").text)
                assert found, "the index links no comparison"
                path = found.group(1)
            command = ["npx", "--yes", LIGHTHOUSE, f"{base}{path}", "--quiet"]
            command += ["--chrome-flags=--headless --no-sandbox --disable-gpu"]
            command += [f"--only-categories={','.join(CATEGORIES)}"]
            command += ["--output=json", f"--output-path={out}"]
            env = {**os.environ, "CHROME_PATH": "/usr/bin/chromium"}
            subprocess.run(command, env=env, check=True, timeout=600)
        finally:
            server.terminate()
            server.wait(timeout=15)
    report = json.loads(out.read_text())
    scores = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    audits = report["audits"]
    timings = ", ".join(
        f"{name} {audits[key]['displayValue']}"
        for name, key in (
            ("FCP", "first-contentful-paint"),
            ("LCP", "largest-contentful-paint"),
            ("TBT", "total-blocking-time"),
            ("CLS", "cumulative-layout-shift"),
        )
    )
    summary = ", ".join(f"{name} {score}" for name, score in scores.items())
    print(f"{path}: {summary} ({timings})")
    passed = all(score >= 95 for score in scores.values())
    if args.record:
        record(f"Lighthouse {LIGHTHOUSE}", "bench/lighthouse.py", [f"{path}: {summary}; {timings}"])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
