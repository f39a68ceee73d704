"""Pages under load: 500 concurrent connections for 30 s with wrk, loopback only.

    python -m bench.load_pages [--duration 30] [--connections 500] [--workers 1] [--record]

Starts ``nicepick serve`` on the repo's content with a throwaway data folder, rotates wrk over
every page type (index, comparison, category, tag, option, search, a 404 and the stylesheet),
and reports requests/s, latency percentiles and errors. The bar: 0 errors (socket errors,
timeouts and 5xx; the 404 in the rotation is expected and counted apart). ``--record``
appends the figures to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import free_port, record, site_env, start_server

WRK = shutil.which("wrk") or "/usr/bin/wrk"

# wrk's Lua hooks: walk the paths in turn on every connection; count statuses per class.
LUA = """
local paths = {%s}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) i = 0; counts = {} end
function request()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
function response(status, headers, body)
  local key = tostring(status)
  counts[key] = (counts[key] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("counts")) do total[k] = (total[k] or 0) + v end
  end
  io.write("STATUS-CLASSES ")
  for k, v in pairs(total) do io.write(k .. "=" .. v .. " ") end
  io.write("\\n")
  io.write(string.format("P99US %%d\\n", latency:percentile(99)))
  io.write(string.format("P999US %%d\\n", latency:percentile(99.9)))
end
"""


@dataclass
class Result:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    socket_errors: int
    server_errors: int
    not_found: int
    raw: str


def start(data: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = site_env(data, site_url=f"http://127.0.0.1:{port}")
    return start_server(env, port, args=("--workers", str(workers), "--log-level", "warning"))


def page_paths(base: str) -> list[str]:
    """One path per page type, found by following links from the index."""
    html = httpx.get(f"{base}/").text
    comparison = re.search(r'href="(/compare/[^"]+)"', html)
    category = re.search(r'href="(/category/[^"]+)"', html)
    assert comparison and category, "the index links no comparison"
    page = httpx.get(f"{base}{comparison.group(1)}").text
    tag = re.search(r'href="(/tag/[^"]+)"', page)
    option = re.search(r'href="(/option/[^"]+)"', page)
    css = re.search(r'href="(/static/site\.[^"]+\.css)"', page)
    paths = ["/", comparison.group(1), category.group(1)]
    paths += [m.group(1) for m in (tag, option, css) if m]
    paths += ["/search?q=nginx", "/compare/no-such-page"]
    return paths


def parse(output: str) -> Result:
    def number(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, output)
        return match.group(1) if match else default

    def millis(value: str) -> float:
        amount, unit = float(re.match(r"[\d.]+", value).group()), value.lstrip("0123456789.")  # type: ignore[union-attr]
        return amount * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    socket_errors = 0
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if errors:
        socket_errors = sum(int(group) for group in errors.groups())
    classes = dict(re.findall(r"(\d{3})=(\d+)", number(r"STATUS-CLASSES (.*)", "")))
    return Result(
        requests=int(number(r"(\d+) requests in")),
        rps=float(number(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=millis(number(r"50%\s+([\d.]+\w+)", "0us")),
        p99_ms=int(number(r"P99US (\d+)")) / 1000,
        p999_ms=int(number(r"P999US (\d+)")) / 1000,
        socket_errors=socket_errors,
        server_errors=sum(int(v) for k, v in classes.items() if k.startswith("5")),
        not_found=int(classes.get("404", 0)),
        raw=output,
    )


def run(duration: int, connections: int, workers: int, threads: int) -> tuple[Result, list[str]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="nicepick-load-") as temp:
        process = start(Path(temp) / "var", port, workers)
        try:
            paths = page_paths(base)
            script = Path(temp) / "pages.lua"
            script.write_text(LUA % ", ".join(f'"{p}"' for p in paths))
            command = [WRK, "-t", str(threads), "-c", str(connections), "-d", f"{duration}s"]
            command += ["--timeout", "10s", "--latency", "-s", str(script), base]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        finally:
            process.terminate()
            process.wait(timeout=15)
    return parse(output), paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    result, paths = run(args.duration, args.connections, args.workers, args.threads)
    print(result.raw)
    errors = result.socket_errors + result.server_errors
    summary = (
        f"{args.connections} connections, {args.duration} s, {args.workers} worker(s), "
        f"{len(paths)} page types: {result.requests} requests, {result.rps:.0f} req/s, "
        f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, p99.9 {result.p999_ms:.1f} ms, "
        f"errors {errors} (socket {result.socket_errors}, 5xx {result.server_errors}), "
        f"expected 404s {result.not_found}"
    )
    print(summary)
    if args.record:
        record("Pages under load", "bench/load_pages.py", [summary, f"paths: {' '.join(paths)}"])
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
