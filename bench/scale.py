"""Issue 18's scale targets at one library size, over HTTP against ``nicepick serve``.

    python -m bench.scale --n 10000 [--content DIR] [--pages 10000] [--queries 1000] [--record]

Generates ``--n`` synthetic comparisons with ``bench/generate.py`` (or uses ``--content``, made
by it), then measures, each figure on a fresh process unless said otherwise:

- cold start (empty data folder) to the first comparison page, and to the whole library ready
  (a listing answers, a search answers, a second comparison page has its related links);
- the same after a restart on the same data folder (warm: parse cache, compiled templates);
- first renders of distinct comparison pages and of distinct listing pages (category, tag and
  option pages, page numbers past 1 included), none cached, one request at a time;
- search: distinct queries (``bench/search_bench.py``'s mix plus two-word queries), whole
  ``GET /search`` over HTTP, one at a time;
- resident memory with the library loaded, and after ``--pages`` distinct pages were served;
- ``serve --reload``: CPU while idle, and seconds from writing one changed file to its page
  showing the change (title and tag edits, a few files each; ``--reload-only``: just these);
- ``nicepick check`` over the folder, twice (cold, then warm), on a data folder of its own
  (``--only-check``: that alone).

Latencies are wall clock on a shared machine: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx

from bench.common import RESULTS, ROOT, free_port, site_env
from bench.generate import CATEGORIES, TAGS, WORDS, generate

NAMES_PER_KIND = 40
# How long a server may take to answer: 100,000 files parsed cold on a shared, loaded machine
# took more than 10 minutes.
START_SECONDS = 1800


@dataclass
class Figures:
    """One size's figures, in the order of the table."""

    n: int
    values: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, value: str) -> None:
        self.values[key] = value
        print(f"  {key}: {value}", flush=True)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(word) for word in text.split()]


def pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_ms(pid: int) -> float:
    """Milliseconds of CPU every thread of ``pid`` has run (``schedstat``: nanoseconds, unlike
    ``stat``'s 10 ms ticks), so a request's server CPU shows whatever the machine's load."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return total / 1e6


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 0.5):.1f} ms, p99 {percentile(samples, 0.99):.1f} ms, "
        f"max {max(samples):.1f} ms (n={len(samples)})"
    )


class Server:
    """``nicepick serve`` on a free port with the given folders."""

    def __init__(self, content: Path, data: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = site_env(data, content=content, site_url=self.base)
        self.started = time.perf_counter()
        command = [sys.executable, "-m", "app", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--log-level", "warning", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        self.client = httpx.Client(base_url=self.base, timeout=300)

    def wait(self, path: str) -> float:
        """Seconds since start until ``path`` answered 200."""
        deadline = self.started + START_SECONDS
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited with {self.process.returncode}")
            try:
                if self.client.get(path).status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.TransportError:
                time.sleep(0.02)
        raise SystemExit(f"{path} never answered 200")

    def timed(self, path: str) -> tuple[float, int]:
        began = time.perf_counter()
        response = self.client.get(path)
        return (time.perf_counter() - began) * 1000, response.status_code

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def slugs_of(content: Path) -> list[str]:
    return sorted(name[:-3] for name in os.listdir(content) if name.endswith(".md"))


def listing_paths(slugs: list[str], n: int, rng: random.Random) -> list[str]:
    """Distinct listing pages: categories and tags at several page numbers, option pages."""
    per_category = max(1, n // len(CATEGORIES) // 24)
    per_tag = max(1, n * 3 // len(TAGS) // 24)
    paths = [
        f"/category/{category.lower().replace(' ', '-')}?page={page}"
        for category in CATEGORIES
        for page in rng.sample(range(1, per_category + 1), min(per_category, NAMES_PER_KIND))
    ]
    for tag in rng.sample(TAGS, min(len(TAGS), NAMES_PER_KIND)):
        paths.append(f"/tag/{tag}?page={rng.randint(1, per_tag)}")
    for slug in rng.sample(slugs, min(len(slugs), NAMES_PER_KIND * 2)):
        paths.append(f"/option/{slug.split('-vs-')[0]}")
    rng.shuffle(paths)
    return list(dict.fromkeys(paths))


def search_queries(n: int, count: int, rng: random.Random) -> list[str]:
    """search_bench's mix over the generated vocabulary, plus two-word queries; distinct."""
    pool: list[str] = []
    seen: set[str] = set()
    hostile = ['NEAR("a" b', "x" * 3000, "'; DROP TABLE docs", "* AND OR"]
    attempts = 0
    while len(pool) < count and attempts < count * 50:
        attempts += 1
        kind = rng.randrange(7)
        if kind == 0:
            query = rng.choice(WORDS)
        elif kind == 1:
            query = rng.choice(WORDS)[: rng.randint(2, 4)]
        elif kind == 2:
            query = f"tool{rng.randrange(n)}{rng.choice('ab')}"
        elif kind == 3:
            query = " ".join(rng.sample(WORDS, 3))
        elif kind == 4:
            query = f"tool{rng.randrange(max(1, n // 10))}"[: rng.randint(3, 7)]
        elif kind == 5:
            query = f"{rng.choice(WORDS)} {rng.choice(WORDS)[: rng.randint(2, 9)]}"
        else:
            query = f"{rng.choice(hostile)} {rng.randrange(10**6)}"
        if query not in seen:
            seen.add(query)
            pool.append(query)
    return pool


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def start_and_ready(
    content: Path, data: Path, slugs: list[str], figures: Figures, kind: str
) -> Server:
    """Start a server; record first comparison page and whole library ready."""
    server = Server(content, data)
    try:
        first = server.wait(f"/compare/{slugs[len(slugs) // 2]}")
        figures.put(f"{kind} start to first comparison page", f"{first:.2f} s")
        server.wait(f"/category/{CATEGORIES[0].lower()}")
        server.wait("/search?q=latency")
        ready = server.wait(f"/compare/{slugs[len(slugs) // 3]}")
        figures.put(f"{kind} start to whole library ready", f"{ready:.2f} s")
    except BaseException:
        server.stop()
        raise
    return server


PARTS = ("start", "pages", "listings", "search", "workers", "reload", "check")


def measure(content: Path, n: int, args: argparse.Namespace) -> Figures:
    figures = Figures(n)
    rng = random.Random(18)
    slugs = slugs_of(content)
    only = set(args.only or PARTS)
    print(f"--- {len(slugs)} comparisons in {content}, load {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="nicepick-scale-") as tmp:
        data = args.data or Path(tmp) / "data"
        if only == {"search"}:  # the quick loop for search work, with the server's CPU
            search_only(content, data, n, figures, args)
            return figures
        if args.reload_only:
            reload_figures(content, data, slugs, figures)
            print(f"  load average after: {load_average()}", flush=True)
            return figures
        if args.data is None:  # a given data folder is warm already: no cold start
            server = start_and_ready(content, data, slugs, figures, "cold")
            figures.put("RSS, library loaded (cold)", f"{rss_mb(server.process.pid):.0f} MB")
            server.stop()
        if only & {"start", "pages", "listings", "search"}:
            server = start_and_ready(content, data, slugs, figures, "warm")
            try:
                served_pages(server, n, slugs, figures, rng, only, args)
            finally:
                server.stop()
        if args.workers or "workers" in (args.only or ()):
            workers(content, data, slugs, figures, args)
        if "reload" in only:
            reload_figures(content, data, slugs, figures)
    if not args.skip_check and "check" in only:
        check_figures(content, figures)
    print(f"  load average after: {load_average()}", flush=True)
    return figures


def check_figures(content: Path, figures: Figures) -> None:
    """``nicepick check`` twice on a data folder of its own: cold (empty), then warm.

    Its own folder, so a kept ``--data`` never makes the cold run a warm one. CPU is the
    check's user + system time, worker processes included.
    """
    with tempfile.TemporaryDirectory(prefix="nicepick-check-") as data:
        for kind in ("cold", "warm"):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            load = load_average()
            began = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "app", "check", str(content)],
                cwd=ROOT,
                env=site_env(Path(data), content=content),
                stdout=subprocess.DEVNULL,
                check=False,
            )
            wall = time.perf_counter() - began
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            figures.put(f"nicepick check ({kind})", f"{wall:.2f} s ({cpu:.2f} s CPU)")
            print(f"  check {kind}: {wall:.2f} s wall, {cpu:.2f} s CPU, load {load}", flush=True)


def measure_check(content: Path, n: int, args: argparse.Namespace) -> Figures:
    """``--only-check``: the check figures alone, no server."""
    figures = Figures(n)
    print(f"--- {n} comparisons in {content}, load {load_average()}", flush=True)
    check_figures(content, figures)
    return figures


def served_pages(
    server: Server,
    n: int,
    slugs: list[str],
    figures: Figures,
    rng: random.Random,
    only: set[str],
    args: argparse.Namespace,
) -> None:
    """First renders of comparison pages, listings and searches, and RSS before and after."""
    figures.put("RSS, library loaded", f"{rss_mb(server.process.pid):.0f} MB")
    shown = rng.sample(slugs, min(len(slugs), args.pages)) if "pages" in only else []
    renders = [server.timed(f"/compare/{slug}")[0] for slug in shown[: args.timed]]
    if renders:
        figures.put("comparison first render", summary(renders))
    listings = listing_paths(slugs, n, rng) if "listings" in only else []
    listed = [server.timed(path) for path in listings]
    bad = [path for path, (_ms, status) in zip(listings, listed, strict=True) if status != 200]
    if bad:
        print(f"  listings not 200: {bad[:5]}", flush=True)
    if listed:
        figures.put("listing first render", summary([ms for ms, _ in listed]))
    queries = search_queries(n, args.queries, rng) if "search" in only else []
    searched = [server.timed(f"/search?q={httpx.QueryParams({'q': q})['q']}")[0] for q in queries]
    if searched:
        figures.put("search, distinct queries", summary(searched))
        slowest = sorted(zip(searched, queries, strict=True), reverse=True)[:3]
        print("  slowest queries: " + "; ".join(f"{q[:30]!r} {ms:.0f} ms" for ms, q in slowest))
    for slug in shown[args.timed :]:
        server.client.get(f"/compare/{slug}")
    served = len(shown) + len(listings) + len(queries)
    figures.put(f"RSS after {served:,} distinct pages", f"{rss_mb(server.process.pid):.0f} MB")


def search_only(
    content: Path, data: Path, n: int, figures: Figures, args: argparse.Namespace
) -> None:
    """Start a server on ``data`` (warm if it was used before), wait for the search index, then
    time distinct queries only: the quick loop for search work."""
    slugs = slugs_of(content)
    rng = random.Random(18)
    warm = (data / "parse-cache.marshal").exists()  # a given but empty folder starts cold
    server = start_and_ready(content, data, slugs, figures, "warm" if warm else "cold")
    try:
        rng.sample(slugs, min(len(slugs), args.pages))  # the same queries as the full run
        listing_paths(slugs, n, rng)
        queries = search_queries(n, args.queries, rng)
        figures.put("load average before search", load_average())
        searched: list[float] = []
        spent: list[float] = []
        for q in queries:
            before = cpu_ms(server.process.pid)
            searched.append(server.timed(f"/search?{httpx.QueryParams({'q': q})}")[0])
            spent.append(cpu_ms(server.process.pid) - before)
        figures.put("search, distinct queries", summary(searched))
        figures.put("search, server CPU per request", summary(spent))
        slowest = sorted(zip(searched, queries, strict=True), reverse=True)[:5]
        print("  slowest queries: " + "; ".join(f"{q[:30]!r} {ms:.0f} ms" for ms, q in slowest))
        costliest = sorted(zip(spent, queries, strict=True), reverse=True)[:5]
        print("  most server CPU: " + "; ".join(f"{q[:30]!r} {ms:.1f} ms" for ms, q in costliest))
        figures.put("load average after search", load_average())
    finally:
        server.stop()


def workers(
    content: Path, data: Path, slugs: list[str], figures: Figures, args: argparse.Namespace
) -> None:
    """RSS and PSS of each worker of ``--workers 2`` after the library loaded and pages served."""
    server = Server(content, data, "--workers", "2")
    try:
        server.wait(f"/category/{CATEGORIES[0].lower()}")
        for slug in random.Random(2).sample(slugs, min(len(slugs), args.pages)):
            server.client.get(f"/compare/{slug}")
        pids = children(server.process.pid)
        per = ", ".join(f"RSS {rss_mb(p):.0f} / PSS {pss_mb(p):.0f} MB" for p in pids)
        figures.put("--workers 2, each worker", per or "no workers found")
    finally:
        server.stop()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def edit_shows(server: Server, path: Path, slug: str, change: tuple[str, str]) -> float:
    """Seconds from writing one changed file to its page showing the change (a marker put
    after ``change[0]``'s first occurrence, and in ``change[1]``'s place in the page)."""
    original = path.read_text(encoding="utf-8")
    marker = f"edited{random.randrange(10**9)}"
    after, shown = change
    began = time.perf_counter()
    path.write_text(original.replace(after, after + shown.format(marker), 1), encoding="utf-8")
    try:
        while time.perf_counter() - began < 120:
            if marker in server.client.get(f"/compare/{slug}").text:
                return time.perf_counter() - began
            time.sleep(0.02)
        return float("inf")
    finally:
        path.write_text(original, encoding="utf-8")
        while marker in server.client.get(f"/compare/{slug}").text:  # the undo is seen too
            time.sleep(0.05)


# What an editor changes: the title (only its page and the lists that show it), a tag
# (which lists and related links hold the page), and a pick no option has (the file stops
# parsing: its page shows the error, with the line).
EDITS = {"title": ("title: ", "{} "), "tag": ("tags: [", "{}, "), "broken": ("pick: ", "{}")}
EDITED_FILES = 5


def reload_figures(content: Path, data: Path, slugs: list[str], figures: Figures) -> None:
    """Under ``--reload``: CPU while nothing changes, and seconds from writing a changed file
    to its page showing the change, over a few files per kind of edit."""
    server = Server(content, data, "--reload")
    try:
        server.wait(f"/compare/{slugs[0]}")
        server.wait(f"/category/{CATEGORIES[0].lower()}")
        server.wait("/search?q=latency")  # the search index is built (or opened) by now
        time.sleep(2)
        began, cpu = time.perf_counter(), cpu_seconds(server.process.pid)
        time.sleep(5)
        idle = (cpu_seconds(server.process.pid) - cpu) / (time.perf_counter() - began)
        figures.put("serve --reload: CPU while idle", f"{idle * 100:.1f}% of a core")
        rng = random.Random(7)
        for kind, change in EDITS.items():
            seconds = []
            for slug in rng.sample(slugs, EDITED_FILES):
                server.wait(f"/compare/{slug}")
                seconds.append(edit_shows(server, content / f"{slug}.md", slug, change))
            figures.put(
                f"serve --reload: {kind} edit shows",
                f"median {percentile(seconds, 0.5):.2f} s, max {max(seconds):.2f} s "
                f"(n={len(seconds)})",
            )
            began = time.perf_counter()
            server.client.get(f"/search?q={kind}{rng.randrange(10**6)}")
            figures.put(
                f"serve --reload: first search after {kind} edits",
                f"{time.perf_counter() - began:.2f} s",
            )
        comings_and_goings(server, content, slugs, rng, figures)
    finally:
        server.stop()


def _until(server: Server, path: str, done: Callable[[httpx.Response], bool]) -> float:
    """Seconds until ``path``'s answer satisfies ``done`` (inf after two minutes)."""
    began = time.perf_counter()
    while time.perf_counter() - began < 120:
        if done(server.client.get(path)):
            return time.perf_counter() - began
        time.sleep(0.02)
    return float("inf")


def _shows(marker: str, response: httpx.Response) -> bool:
    return marker in response.text


def _gone(marker: str, response: httpx.Response) -> bool:
    return marker not in response.text


def comings_and_goings(
    server: Server, content: Path, slugs: list[str], rng: random.Random, figures: Figures
) -> None:
    """Seconds from adding a file to its page answering, from removing it to its page
    answering 404, and from re-dating a file (with a marker in its title) to its page
    showing it: the edits that change which pages exist or their place in the lists."""
    added, removed, redated = [], [], []
    for slug in rng.sample(slugs, EDITED_FILES):
        path = content / f"{slug}.md"
        original = path.read_text(encoding="utf-8")
        first = original.split("options: [", 1)[1].split(",", 1)[0]
        name = f"Added{rng.randrange(10**9)}"
        new_slug = slug.replace(first.lower(), name.lower(), 1)
        new_path = content / f"{new_slug}.md"
        began = time.perf_counter()
        new_path.write_text(re.sub(rf"\b{first}\b", name, original), encoding="utf-8")
        added.append(
            time.perf_counter()
            - began
            + _until(server, f"/compare/{new_slug}", lambda r: r.status_code == 200)
        )
        began = time.perf_counter()
        new_path.unlink()
        removed.append(
            time.perf_counter()
            - began
            + _until(server, f"/compare/{new_slug}", lambda r: r.status_code == 404)
        )
        marker = f"redated{rng.randrange(10**9)}"
        day = f"published: 20{rng.randrange(10, 24)}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}"
        began = time.perf_counter()
        path.write_text(
            re.sub(r"published: \S+", day, original.replace("title: ", f"title: {marker} ", 1)),
            encoding="utf-8",
        )
        try:
            redated.append(
                time.perf_counter()
                - began
                + _until(server, f"/compare/{slug}", partial(_shows, marker))
            )
        finally:
            path.write_text(original, encoding="utf-8")
            _until(server, f"/compare/{slug}", partial(_gone, marker))
    for kind, seconds in (("add", added), ("remove", removed), ("re-date", redated)):
        figures.put(
            f"serve --reload: {kind} edit shows",
            f"median {percentile(seconds, 0.5):.2f} s, max {max(seconds):.2f} s (n={len(seconds)})",
        )


def measure_cpu(content: Path, n: int, args: argparse.Namespace) -> Figures:
    """CPU per request in one process (``time.process_time`` around each TestClient call):
    what a request costs, which a loaded machine does not inflate the way it does wall time.
    Includes the test client's own ~1 ms; the library is loaded and indexed first."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    figures = Figures(n)
    rng = random.Random(18)
    slugs = slugs_of(content)
    data = args.data or Path(tempfile.mkdtemp(prefix="nicepick-scale-cpu-"))
    settings = Settings(
        content_dir=content,
        data_dir=data,
        templates_dir=ROOT / "templates",
        static_dir=ROOT / "static",
        site_url="http://127.0.0.1",
        redirect_host=False,
        _env_file=None,
    )
    began = time.perf_counter()
    cpu_began = time.process_time()
    app = create_app(settings)
    with TestClient(app) as client:
        client.get(f"/category/{CATEGORIES[0].lower()}")
        client.get("/search?q=latency")
        client.get(f"/compare/{slugs[0]}")
        figures.put(
            "in-process: library ready (wall / CPU)",
            f"{time.perf_counter() - began:.1f} s / {time.process_time() - cpu_began:.1f} s",
        )
        figures.put("in-process: RSS, library loaded", f"{rss_mb(os.getpid()):.0f} MB")

        def cpu(path: str) -> float:
            before = time.process_time()
            client.get(path)
            return (time.process_time() - before) * 1000

        shown = rng.sample(slugs, min(len(slugs), args.timed))
        listings = listing_paths(slugs, n, rng)
        if set(args.only or PARTS) != {"search"}:
            figures.put(
                "in-process CPU: comparison first render",
                summary([cpu(f"/compare/{s}") for s in shown]),
            )
            figures.put("in-process CPU: listing first render", summary([cpu(p) for p in listings]))
        queries = search_queries(n, args.queries, rng)
        figures.put("load average before search", load_average())
        walls: list[float] = []
        timed: list[tuple[float, str]] = []
        for q in queries:
            began_wall = time.perf_counter()
            timed.append((cpu(f"/search?{httpx.QueryParams({'q': q})}"), q))
            walls.append((time.perf_counter() - began_wall) * 1000)
        figures.put("in-process CPU: search, distinct queries", summary([ms for ms, _ in timed]))
        figures.put("in-process wall: search, distinct queries", summary(walls))
        figures.put("load average after search", load_average())
        slowest = sorted(timed, reverse=True)[:5]
        print("  slowest queries: " + "; ".join(f"{q[:30]!r} {ms:.0f} ms" for ms, q in slowest))
        figures.put("in-process: RSS after those pages", f"{rss_mb(os.getpid()):.0f} MB")
    return figures


def write_table(results: list[Figures], *, record: bool) -> None:
    """Print the table (one column per size); with ``record``, append it to RESULTS.md."""
    keys = list(dict.fromkeys(key for figures in results for key in figures.values))
    sizes = " | ".join(f"{figures.n:,}" for figures in results)
    lines = [f"| figure | {sizes} |", "|---|" + "---|" * len(results)]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(f.values.get(key, "") for f in results) + " |")
    print("\n".join(lines))
    if record:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        header = (
            f"\n## Scale (bench/scale.py), {stamp}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, load average after: {load_average()}\n\n"
        )
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(header + "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument(
        "--content", type=Path, nargs="*", help="folders made by bench.generate, one per --n"
    )
    parser.add_argument(
        "--pages", type=int, default=10_000, help="distinct comparison pages served"
    )
    parser.add_argument("--timed", type=int, default=1_000, help="of which timed one by one")
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--workers", action="store_true", help="also measure --workers 2")
    parser.add_argument("--record", action="store_true", help="append the table to RESULTS.md")
    parser.add_argument("--cpu", action="store_true", help="in-process CPU per request instead")
    parser.add_argument("--data", type=Path, help="a data folder to keep (warm: no cold start)")
    parser.add_argument("--skip-check", action="store_true", help="no nicepick check timings")
    parser.add_argument("--only-check", action="store_true", help="nicepick check timings alone")
    parser.add_argument(
        "--reload-only", action="store_true", help="only the serve --reload figures"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=PARTS,
        help="over HTTP, only these parts (start: warm start and RSS loaded; workers: --workers 2)",
    )
    args = parser.parse_args()
    results = []
    for position, n in enumerate(args.n):
        run = measure_check if args.only_check else measure_cpu if args.cpu else measure
        if args.content and position < len(args.content):
            results.append(run(args.content[position], n, args))
            continue
        with tempfile.TemporaryDirectory(prefix="nicepick-content-") as tmp:
            # ~20,000 options at 100,000, as issue 18 sets the scale: a tool in ~10 comparisons.
            generate(Path(tmp), n, options=max(n // 5, 50))
            results.append(run(Path(tmp), n, args))
    write_table(results, record=args.record)


if __name__ == "__main__":
    main()
