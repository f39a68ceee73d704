"""Several instances: page throughput through nginx (1 and 2 instances), note latency by database.

    python -m bench.pg_bench [--duration 10] [--connections 64] [--posts 400]

1. ``nicepick serve`` instances on one PostgreSQL database (a scratch database on
   ``NICEPICK_TEST_DATABASE_URL``), Debian's nginx in front with ``deploy/nginx.conf``; wrk
   against a comparison page through nginx with 1 and with 2 instances, and straight at one
   instance for reference.
2. Feedback POST latency (p50/p99, ``--posts`` notes, ``--concurrency`` at a time) on one
   instance with PostgreSQL, then with the embedded SQLite file. Mail goes to .eml files
   (off the request path either way).

Prints a table and appends it to bench/RESULTS.md. The nginx and instance helpers are the
tests' own (tests/proxy.py), so the bench runs the deployed configuration.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx
from bs4 import BeautifulSoup

from app.db import make_engine, upgrade
from tests.pg import free_port, scratch_database
from tests.proxy import Instance, nginx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
SLUG = "vim-vs-emacs"


def instance_env(data: Path, database_url: str | None) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "NICEPICK_CONTENT_DIR": str(ROOT / "content"),
        "NICEPICK_DATA_DIR": str(data),
        "NICEPICK_TEMPLATES_DIR": str(ROOT / "templates"),
        "NICEPICK_STATIC_DIR": str(ROOT / "static"),
        "NICEPICK_SECRET_KEY": "bench-key-shared-by-every-instance-0123",
        "NICEPICK_TRUSTED_PROXIES": "127.0.0.1",
        "NICEPICK_FEEDBACK_MIN_SECONDS": "0",
        "NICEPICK_FEEDBACK_RATE": "1000000/minute",
    }
    if database_url:
        env["NICEPICK_DATABASE_URL"] = database_url
    return env


def wrk(url: str, duration: int, connections: int) -> tuple[float, str]:
    """Requests per second and the p99 latency wrk reports."""
    out = subprocess.run(
        [WRK, "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out)
    return rate, p99.group(1) if p99 else "?"


def post_latencies(url: str, posts: int, concurrency: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds of ``posts`` notes sent ``concurrency`` at a time."""
    page = BeautifulSoup(httpx.get(f"{url}/compare/{SLUG}", timeout=10).text, "html.parser")
    token = str(page.select_one("input[name=token]")["value"])  # type: ignore[index]

    # One client for all threads: a new httpx client per request builds an SSL context each
    # time, and that (not the server) would dominate the figures.
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=concurrency))

    def one(index: int) -> float:
        started = time.perf_counter()
        response = client.post(
            f"{url}/compare/{SLUG}/feedback",
            data={"option": "Emacs", "message": f"bench note {index} is long enough"}
            | {"token": token, "website": ""},
            headers={"X-Forwarded-For": f"10.77.{index // 250}.{index % 250 + 1}"},
        )
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 303, response.status_code
        return elapsed

    try:
        for warm in range(10):
            one(100000 + warm)
        with ThreadPoolExecutor(concurrency) as pool:
            times = sorted(pool.map(one, range(posts)))
    finally:
        client.close()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8, help="notes in flight at once")
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    work = Path(tempfile.mkdtemp(prefix="nicepick-pg-bench-"))
    try:
        with scratch_database() as url:
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            instances = [
                Instance(free_port(), instance_env(work / f"i{n}", url), work / f"i{n}.log")
                for n in range(2)
            ]
            with ExitStack() as stack:
                for instance in instances:
                    instance.start()
                    stack.callback(instance.stop)
                page = f"/compare/{SLUG}"
                rate, p99 = wrk(instances[0].url + page, args.duration, args.connections)
                rows.append(("page, 1 instance direct (no nginx)", f"{rate:,.0f} req/s", p99))
                for count in (1, 2):
                    ports = [instance.port for instance in instances[:count]]
                    with nginx(free_port(), ports, ROOT / "static") as proxy:
                        rate, p99 = wrk(proxy.url + page, args.duration, args.connections)
                    label = f"page through nginx, {count} instance{'s' * (count > 1)}"
                    rows.append((label, f"{rate:,.0f} req/s", p99))
                p50, p99ms = post_latencies(instances[0].url, args.posts, args.concurrency)
                rows.append(("feedback POST, PostgreSQL", f"p50 {p50:.1f} ms", f"{p99ms:.1f} ms"))
        sqlite = Instance(free_port(), instance_env(work / "sqlite", None), work / "sqlite.log")
        sqlite.start()
        try:
            p50, p99ms = post_latencies(sqlite.url, args.posts, args.concurrency)
        finally:
            sqlite.stop()
        rows.append(("feedback POST, SQLite (WAL)", f"p50 {p50:.1f} ms", f"{p99ms:.1f} ms"))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = [
        f"## Several instances (bench/pg_bench.py), {stamp}",
        "",
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"wrk -t2 -c{args.connections} -d{args.duration}s on the same machine as nginx, the "
        f"instances and PostgreSQL; {args.posts} POSTs {args.concurrency} at a time; load "
        f"average {os.getloadavg()[0]:.1f} at the end (other work shares this machine).",
        "",
        "| what | result | p99 |",
        "| --- | --- | --- |",
        *(f"| {what} | {result} | {p99} |" for what, result, p99 in rows),
        "",
    ]
    text = "\n".join(table)
    print(text)
    existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Bench results\n"
    RESULTS.write_text(existing.rstrip("\n") + "\n\n" + text, encoding="utf-8")


if __name__ == "__main__":
    main()
