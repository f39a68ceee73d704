"""``make bench``: every speed figure of the site, each with its ratio against a baseline.

    python -m bench.run [--n 10000] [--duration 10] [--connections 32] [--skip-export]

1. writes N synthetic comparisons into a temp folder (bench/generate.py);
2. cold start: ``nicepick serve`` on an empty data folder, time until /compare/<slug> answers
   200, and the server's resident memory (one uvicorn worker, so its pid is the server);
3. warm start: the same again with the data folder (parse cache) kept;
4. load: wrk (or a small asyncio client when wrk is missing) against a FastAPI route returning
   constant bytes of the page's size (bench/baseline_app.py, same uvicorn settings), the
   comparison page, a gzip-accepting client, and a 304 conditional GET;
5. static export of the N comparisons (pages/s), and Hugo on equivalent content when installed;
6. the search, feedback and memory-limit benches of bench/ when present;
then prints the table and appends it to bench/RESULTS.md with the date and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.export_compare import build as export_build
from bench.generate import generate
from bench.hugo_compare import hugo_pages_per_second

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
WRK = shutil.which("wrk") or "/usr/bin/wrk"


@dataclass
class Row:
    what: str
    value: str
    ratio: str = ""
    target: str = ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_site(content: Path, data: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    """Start ``nicepick serve``; return it and the seconds until a comparison answered 200."""
    env = {
        **os.environ,
        "NICEPICK_CONTENT_DIR": str(content),
        "NICEPICK_DATA_DIR": str(data),
        "NICEPICK_SITE_URL": f"http://127.0.0.1:{port}",
        "NICEPICK_TEMPLATES_DIR": str(ROOT / "templates"),
        "NICEPICK_STATIC_DIR": str(ROOT / "static"),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )
    return process, started


def wait_for(url: str, started: float, process: subprocess.Popen[bytes]) -> float:
    deadline = started + 120
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url} never answered 200")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def load(url: str, *, duration: int, connections: int, headers: dict[str, str]) -> float:
    """Requests per second at ``url`` (wrk when installed, else the asyncio client)."""
    if Path(WRK).exists():
        command = [WRK, "-t1", f"-c{connections}", f"-d{duration}s"]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
        match = re.search(r"Requests/sec:\s+([\d.]+)", output)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        if errors:
            raise RuntimeError(f"{url}: {errors.group(1)} error responses")
        return float(match.group(1)) if match else float("nan")
    return asyncio.run(_python_load(url, duration, connections, headers))


async def _python_load(url: str, duration: int, connections: int, headers: dict[str, str]) -> float:
    """A keep-alive HTTP/1.1 client: enough to compare two servers when wrk is missing."""
    parts = httpx.URL(url)
    request = (
        f"GET {parts.raw_path.decode()} HTTP/1.1\r\nHost: {parts.host}:{parts.port}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "\r\n"
    ).encode()
    count = 0
    stop_at = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal count
        reader, writer = await asyncio.open_connection(parts.host, parts.port)
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: (\d+)", head)
            if length:
                await reader.readexactly(int(length.group(1)))
            count += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return count / (time.perf_counter() - started)


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load1 = os.getloadavg()[0]
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, load {load1:.1f}"


def run_extra(module: str, args: list[str], *, lines: int = 15) -> str:
    """Another bench script's last lines, when that script exists."""
    if not (ROOT / "bench" / f"{module}.py").exists():
        return ""
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    # Its report is on stdout; stderr (servers' logs) only says something when it failed.
    output = result.stdout.strip().splitlines()
    if result.returncode != 0:
        output += [f"exited with {result.returncode}:", *result.stderr.strip().splitlines()[-10:]]
    return "\n".join(output[-lines:])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="synthetic comparisons")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--skip-extras", action="store_true", help="no search/feedback benches")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument(
        "--scale",
        type=int,
        nargs="*",
        default=[1_000],
        metavar="N",
        help="library sizes for bench/scale.py (issue 18's targets; e.g. --scale 1000 10000 "
        "100000, about 1, 5 and 60+ minutes); --scale alone skips it",
    )
    args = parser.parse_args()
    rows: list[Row] = []
    extras: list[str] = []
    with tempfile.TemporaryDirectory(prefix="nicepick-bench-") as folder:
        root = Path(folder)
        content, data = root / "content", root / "var"
        started = time.perf_counter()
        slugs = generate(content, args.n)
        print(f"generated {args.n} comparisons in {time.perf_counter() - started:.1f} s")
        slug = slugs[len(slugs) // 2]

        port = free_port()
        page_url = f"http://127.0.0.1:{port}/compare/{slug}"
        process, started = start_site(content, data, port)
        cold = wait_for(page_url, started, process)
        # A large library goes on loading in the background after the first page (see
        # app/site.py); /healthz answers 200 once it is whole and the parse cache is saved.
        health_url = f"http://127.0.0.1:{port}/healthz"
        cold_loaded = wait_for(health_url, started, process)
        cold_rss = rss_mb(process.pid)
        stop(process)
        rows.append(
            Row(f"cold start to first page, {args.n} comparisons", f"{cold:.2f} s", "", "≤ 3 s")
        )
        rows.append(Row("cold start to whole library loaded (background)", f"{cold_loaded:.2f} s"))
        rows.append(
            Row("resident memory, whole library loaded", f"{cold_rss:.0f} MB", "", "≤ 400 MB")
        )

        process, started = start_site(content, data, port)
        try:
            warm = wait_for(page_url, started, process)
            rows.append(Row("warm start to first page (parse cache)", f"{warm:.2f} s", "", "≤ 1 s"))
            warm_loaded = wait_for(health_url, started, process)
            rows.append(Row("warm start to whole library loaded", f"{warm_loaded:.2f} s"))
            page = httpx.get(page_url, headers={"accept-encoding": "identity"})
            etag = page.headers["etag"]
            size = len(page.content)
            baseline_port = free_port()
            baseline = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.baseline_app",
                    "--port",
                    str(baseline_port),
                    "--size",
                    str(size),
                ],
                cwd=ROOT,
            )
            try:
                baseline_url = f"http://127.0.0.1:{baseline_port}/page"
                wait_for(baseline_url, time.perf_counter(), baseline)
                common = {"duration": args.duration, "connections": args.connections}
                identity = {"accept-encoding": "identity"}
                base_rps = load(baseline_url, headers=identity, **common)
                rows.append(
                    Row(
                        f"baseline: FastAPI route, constant {size} bytes",
                        f"{base_rps:,.0f} req/s",
                        "1.00x",
                    )
                )
                for label, headers in (
                    ("comparison page", identity),
                    ("comparison page, gzip accepted", {"accept-encoding": "gzip"}),
                    ("comparison page, brotli accepted", {"accept-encoding": "gzip, br"}),
                    ("304 conditional GET (If-None-Match)", {**identity, "if-none-match": etag}),
                ):
                    rps = load(page_url, headers=headers, **common)
                    target = "≥ 0.90x" if label == "comparison page" else ""
                    rows.append(Row(label, f"{rps:,.0f} req/s", f"{rps / base_rps:.2f}x", target))
            finally:
                stop(baseline)
        finally:
            stop(process)

        if not args.skip_export:
            out = root / "export"
            env = {
                **os.environ,
                "NICEPICK_CONTENT_DIR": str(content),
                "NICEPICK_DATA_DIR": str(data),
                "NICEPICK_TEMPLATES_DIR": str(ROOT / "templates"),
                "NICEPICK_STATIC_DIR": str(ROOT / "static"),
            }
            nicepick_pps = float("nan")
            # Pages without the social card PNGs first (what Hugo's figure is comparable to),
            # then one file edited and the incremental build into the same folder, then the
            # complete default build, cards included.
            for label, flags in (
                ("no social cards", ["--no-cards", "--full"]),
                ("incremental after one edit", ["--no-cards"]),
                ("complete", ["--full"]),
            ):
                if label.startswith("incremental"):
                    edited = next(content.glob("*.md"))
                    text = edited.read_text(encoding="utf-8")
                    edited.write_text(text.replace("## Bottom line\n", "## Bottom line\nEdited. "))
                summary, wall = export_build(out, env, *flags)
                print(summary)
                match = re.search(
                    r"(\d+) pages, (\d+) files, .* in ([\d.]+) s \((\d+) pages/s\)", summary
                )
                pps = float(match.group(4)) if match else float("nan")
                if label == "no social cards":
                    nicepick_pps = pps
                if label.startswith("incremental"):
                    rewritten = re.search(r"incremental: (\d+) files rewritten", summary)
                    count = rewritten.group(1) if rewritten else "?"
                    rows.append(
                        Row(f"static export, {label} ({count} files rewritten)", f"{wall:.2f} s")
                    )
                    continue
                text = (
                    f"{match.group(1)} pages, {match.group(2)} files in {match.group(3)} s"
                    if match
                    else summary
                )
                rows.append(Row(f"static export, {label} ({text})", f"{pps:,.0f} pages/s"))
            hugo = hugo_pages_per_second(args.n)
            if hugo is not None:
                pps, pages, seconds = hugo
                rows.append(
                    Row(
                        f"Hugo on equivalent content ({pages} pages in {seconds:.1f} s)",
                        f"{pps:,.0f} pages/s",
                        f"export at {nicepick_pps / pps:.2f}x Hugo",
                    )
                )

    if not args.skip_extras:
        for module, extra_args in (
            ("search_bench", ["--n", str(args.n)]),
            ("feedback_latency", []),
            ("memory_limits", []),
            ("scale", ["--n", *map(str, args.scale)] if args.scale else []),
        ):
            if module == "scale" and not extra_args:
                continue
            output = run_extra(module, extra_args, lines=40 if module == "scale" else 15)
            if output:
                extras.append(f"bench/{module}.py:\n\n```\n{output}\n```")

    table = ["| figure | value | ratio | target |", "|---|---|---|---|"]
    table += [f"| {r.what} | {r.value} | {r.ratio} | {r.target} |" for r in rows]
    load_gen = "wrk -t1" if Path(WRK).exists() else "asyncio client"
    header = (
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}\n\n"
        f"One uvicorn worker each; {load_gen}, {args.connections} connections, "
        f"{args.duration} s per run; ratios against the baseline of the same run.\n"
    )
    report = header + "\n" + "\n".join(table) + "\n"
    if extras:
        report += "\n" + "\n\n".join(extras) + "\n"
    print()
    print(report)
    if not args.no_record:
        with RESULTS.open("a", encoding="utf-8") as handle:
            if RESULTS.stat().st_size == 0:
                handle.write("# Benchmark results\n\nAppended by `make bench` (bench/run.py).\n\n")
            handle.write(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
