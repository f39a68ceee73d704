"""What the access log and the log format cost in throughput: wrk against one server per setting.

    python -m bench.log_cost [--duration 10] [--connections 50] [--rounds 3] [--record]

Starts ``nicepick serve --log-level info`` (so access lines are written, to a file as a
container's stderr would be) on the repo's content, once for each of: access log off; on,
text; on, json. wrk walks the same page types as bench/load_pages.py. The rounds alternate
the settings so a noisy neighbour hurts each alike; the median round is reported.

Besides requests per second, the server's own CPU time per request (user + system, from
``/proc/<pid>/stat``, read before and after wrk) is reported: on a machine shared with other
work, requests per second swing with the neighbours, while the CPU a request costs the
server does not, and its inverse is the throughput of a CPU-bound worker.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import free_port, record, site_env, start_server
from bench.load_pages import LUA, WRK, Result, page_paths, parse

SETTINGS = {
    "access log off": {"NICEPICK_ACCESS_LOG": "false", "NICEPICK_LOG_FORMAT": "text"},
    "access log on, text": {"NICEPICK_ACCESS_LOG": "true", "NICEPICK_LOG_FORMAT": "text"},
    "access log on, json": {"NICEPICK_ACCESS_LOG": "true", "NICEPICK_LOG_FORMAT": "json"},
}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(name: str, duration: int, connections: int, temp: Path) -> tuple[Result, int, float]:
    """One server with the named settings under wrk: the result, its log's line count and
    the server's CPU microseconds per request."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    folder = temp / name.replace(" ", "-").replace(",", "")
    folder.mkdir(parents=True, exist_ok=True)
    env = site_env(folder / "var", site_url=base) | SETTINGS[name]
    log = folder / "server.log"
    process = start_server(env, port, args=("--log-level", "info"), log=log)
    try:
        paths = page_paths(base)
        script = folder / "pages.lua"
        script.write_text(LUA % ", ".join(f'"{p}"' for p in paths))
        command = [WRK, "-t", "2", "-c", str(connections), "-d", f"{duration}s"]
        command += ["--timeout", "10s", "--latency", "-s", str(script), base]
        before = cpu_seconds(process.pid)
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        used = cpu_seconds(process.pid) - before
    finally:
        process.terminate()
        process.wait(timeout=15)
    result = parse(output)
    with log.open("rb") as lines:
        return result, sum(1 for _ in lines), 1e6 * used / max(1, result.requests)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in SETTINGS}
    p99: dict[str, list[float]] = {name: [] for name in SETTINGS}
    cpu: dict[str, list[float]] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory(prefix="nicepick-logs-") as temp:
        for round_number in range(args.rounds):
            for name in SETTINGS:
                result, lines, per_request = measure(
                    name, args.duration, args.connections, Path(temp)
                )
                errors = result.socket_errors + result.server_errors
                print(
                    f"round {round_number + 1}, {name}: {result.rps:.0f} req/s, "
                    f"p99 {result.p99_ms:.1f} ms, {per_request:.0f} us CPU/request, "
                    f"{lines} log lines, errors {errors}",
                    flush=True,
                )
                rates[name].append(result.rps)
                p99[name].append(result.p99_ms)
                cpu[name].append(per_request)
    base = statistics.median(cpu["access log off"])
    summary = []
    for name in SETTINGS:
        per_request = statistics.median(cpu[name])
        cost = (
            ""
            if name == "access log off"
            else f", {100 * (per_request / base - 1):+.0f}% CPU per request"
        )
        summary.append(
            f"{name}: {per_request:.0f} us server CPU per request{cost}; "
            f"{statistics.median(rates[name]):.0f} req/s, "
            f"p99 {statistics.median(p99[name]):.1f} ms (medians of {args.rounds})"
        )
    print("\n".join(summary))
    if args.record:
        title = (
            f"Log settings under load ({args.connections} connections, {args.duration} s, "
            "1 worker, --log-level info)"
        )
        record(title, "bench/log_cost.py", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
