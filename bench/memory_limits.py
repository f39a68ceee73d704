"""What strangers' requests cost in memory: unknown URLs on every looked-up route, and request
heads that never end.

    python -m bench.memory_limits [--per-route 50000] [--flood-mb 200] [--code DIR] [--record]

Against ``nicepick serve`` (one worker, so its pid is the server), resident memory read from
``/proc/<pid>/status``:

1. **unknown URLs**: for each route that looks a page up by what the client typed, ``--per-route``
   distinct URLs of 8 kB that name nothing (``/option/<i>-aaaa…``, ``/?page=<i>&pad=…``),
   sent over 8 keep-alive connections; RSS after a warm-up, then after each route. Target:
   less than 20 MB growth in all.
2. **endless heads**: 8 connections in parallel each sending ``--flood-mb`` MB of header lines
   (until the server refuses); RSS before and after. Target: less than 50 MB growth.
3. **slow heads**: 100 connections that open and trickle a header byte every half second;
   how many the server has closed after ``NICEPICK_REQUEST_HEAD_TIMEOUT`` (20 s) plus 5 s.

``--code DIR`` runs the server from another checkout of the project (``git archive REV | tar
-x -C DIR``), with this virtualenv: how the before figures in bench/RESULTS.md were taken.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from bench.common import ROOT, free_port, record, site_env

PAD = "a" * 8000
# (name, URL pattern): {i} makes every URL a new key, {pad} makes it 8 kB.
ROUTES = [
    ("/option/<x>", "/option/{i}-{pad}"),
    ("/tag/<x>", "/tag/{i}-{pad}"),
    ("/category/<x>", "/category/{i}-{pad}"),
    ("/best/<x>", "/best/{i}-{pad}"),
    ("/compare/<x>", "/compare/{i}-{pad}"),
    ("/og/<x>.png", "/og/{i}-{pad}.png"),
    ("/?page=N", "/?page={i}&pad={pad}"),
    ("/category/<real>?page=N", "/category/dev-tools?page={i}&pad={pad}"),
    ("/sitemap-N.xml", "/sitemap-{i}.xml?pad={pad}"),
    ("/search?q=<x>", "/search?q={i}+{pad}"),
]
CONNECTIONS = 8


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def start(code: Path, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """``python -m app serve`` from ``code`` (the module found first is the one in ``code``)."""
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=code, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not start:\n{log.read_text(errors='replace')}")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def _send_all(port: int, paths: Iterable[str]) -> dict[int, int]:
    statuses: dict[int, int] = {}
    queue = iter(paths)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for path in queue:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            status = await _read_response(reader)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return statuses


def unknown_urls(pid: int, port: int, per_route: int) -> list[str]:
    lines = []
    # Warm-up: every route once and a few hundred misses, so allocator pools and the styled
    # 404 exist before the first reading.
    warm = (pattern.format(i=i, pad=PAD) for i in range(300) for _, pattern in ROUTES)
    asyncio.run(_send_all(port, warm))
    start_rss = rss_mb(pid)
    lines.append(f"RSS after warm-up: {start_rss:.1f} MB")
    for name, pattern in ROUTES:
        began = time.monotonic()
        # A generator shared by the connections: 50,000 URLs of 8 kB are never all in memory.
        paths = (pattern.format(i=1000 + i, pad=PAD) for i in range(per_route))
        statuses = asyncio.run(_send_all(port, paths))
        seconds = time.monotonic() - began
        now = rss_mb(pid)
        lines.append(
            f"{name}: {per_route:,} distinct 8 kB URLs in {seconds:.0f} s, answers {statuses}; "
            f"RSS {now:.1f} MB ({now - start_rss:+.1f} MB since warm-up)"
        )
    grown = rss_mb(pid) - start_rss
    verdict = "met" if grown < 20 else "NOT met"
    lines.append(
        f"**unknown URLs: RSS grew {grown:.1f} MB over {per_route * len(ROUTES):,} requests** "
        f"(target < 20 MB: {verdict})"
    )
    return lines


def _flood(port: int, megabytes: int, results: list[tuple[bytes, int]]) -> None:
    line = b"X-Filler: " + b"f" * 1000 + b"\r\n"
    sent = 0
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            while sent < megabytes * 1024 * 1024:
                sock.sendall(line)
                sent += len(line)
        except OSError:
            pass
        try:
            reply = sock.recv(64)
        except OSError:
            pass
    results.append((reply, sent))


def endless_heads(pid: int, port: int, megabytes: int) -> list[str]:
    before = rss_mb(pid)
    results: list[tuple[bytes, int]] = []
    threads = [threading.Thread(target=_flood, args=(port, megabytes, results)) for _ in range(8)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - began
    after = rss_mb(pid)
    answers = sorted(
        {reply.split(b"\r\n", 1)[0].decode("latin-1") or "(closed)" for reply, _ in results}
    )
    sent = sum(count for _, count in results) / 2**20
    verdict = "met" if after - before < 50 else "NOT met"
    return [
        f"8 connections x up to {megabytes} MB of header lines: {sent:,.1f} MB sent before the "
        f"server refused, in {seconds:.1f} s; answers {answers}",
        f"**endless heads: RSS {before:.1f} -> {after:.1f} MB ({after - before:+.1f} MB)** "
        f"(target < 50 MB: {verdict})",
    ]


def slow_heads(port: int, timeout: float, count: int = 100) -> list[str]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        sock.setblocking(False)
        socks.append(sock)
    began = time.monotonic()
    open_socks = set(range(count))
    closed_at: list[float] = []
    while open_socks and time.monotonic() - began < timeout + 5:
        for index in list(open_socks):
            sock = socks[index]
            try:
                if sock.recv(64) == b"":
                    open_socks.discard(index)
                    closed_at.append(time.monotonic() - began)
                    continue
            except BlockingIOError:
                pass
            except OSError:
                open_socks.discard(index)
                closed_at.append(time.monotonic() - began)
                continue
            try:
                sock.send(b"s")
            except OSError:
                open_socks.discard(index)
                closed_at.append(time.monotonic() - began)
        time.sleep(0.5)
    for sock in socks:
        sock.close()
    when = f", the last after {max(closed_at):.1f} s" if closed_at else ""
    return [
        f"**slow heads: {len(closed_at)} of {count} connections trickling a byte every 0.5 s "
        f"closed by the server within {timeout + 5:.0f} s{when}**"
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--per-route", type=int, default=50_000)
    parser.add_argument("--flood-mb", type=int, default=200)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout to run the server from")
    parser.add_argument("--skip-urls", action="store_true")
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    head_timeout = 20.0
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = site_env(root / "var", content=ROOT / "content")
        port = free_port()
        server = start(args.code.resolve(), env, port, root / "server.log")
        try:
            if not args.skip_urls:
                lines += unknown_urls(server.pid, port, args.per_route)
            lines += endless_heads(server.pid, port, args.flood_mb)
            lines += slow_heads(port, head_timeout)
        finally:
            server.terminate()
            server.wait(timeout=15)
    code = "this checkout" if args.code.resolve() == ROOT else str(args.code)
    lines.insert(0, f"server code: {code}; one uvicorn worker; loopback")
    print("\n".join(lines))
    if args.record:
        record("Memory limits", "bench/memory_limits.py", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
