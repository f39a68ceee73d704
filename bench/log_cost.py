"""What the access log and the log format cost in throughput: wrk against one server per setting.

    python -m bench.log_cost [--duration 10] [--connections 50] [--rounds 3] [--record]

Starts ``nicepick serve --log-level info`` (so access lines are written, to a file as a
container's stderr would be) on the repo's content, once for each of: access log off; on,
text; on, json. wrk walks the same page types as bench/load_pages.py. The rounds alternate
the settings so a noisy neighbour hurts each alike; the median round is reported.
"""

from __future__ import annotations

import argparse
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


def measure(name: str, duration: int, connections: int, temp: Path) -> tuple[Result, int]:
    """One server with the named settings under wrk; the result and its log's line count."""
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
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        process.terminate()
        process.wait(timeout=15)
    with log.open("rb") as lines:
        return parse(output), sum(1 for _ in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in SETTINGS}
    p99: dict[str, list[float]] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory(prefix="nicepick-logs-") as temp:
        for round_number in range(args.rounds):
            for name in SETTINGS:
                result, lines = measure(name, args.duration, args.connections, Path(temp))
                errors = result.socket_errors + result.server_errors
                print(
                    f"round {round_number + 1}, {name}: {result.rps:.0f} req/s, "
                    f"p99 {result.p99_ms:.1f} ms, {lines} log lines, errors {errors}"
                )
                rates[name].append(result.rps)
                p99[name].append(result.p99_ms)
    base = statistics.median(rates["access log off"])
    summary = []
    for name in SETTINGS:
        rps = statistics.median(rates[name])
        cost = "" if name == "access log off" else f", {100 * (1 - rps / base):+.0f}% cost"
        summary.append(
            f"{name}: {rps:.0f} req/s (median of {args.rounds}), "
            f"p99 {statistics.median(p99[name]):.1f} ms{cost}"
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
