"""Search latency over 10,000 synthetic comparisons: index build time, then p50/p99 per query.

Generates the content in a temporary folder, loads it the way the server does, and times
``SearchIndex.search`` with its result cache off (every query ranked afresh) and on, then the
whole ``GET /search`` over HTTP to ``nicepick serve`` (one worker, one keep-alive connection),
over a mix of common words, prefixes, rare
words, several-word and hostile queries.

Two corpora: ``zipf`` draws text from a few thousand words with Zipf frequencies, as prose does
(a handful of words on every page, most on few); ``uniform`` draws from 60 words only, so every
query word is on most pages and bm25 must score nearly all 10,000: the worst case.

    python -m bench.search_bench [--n 10000] [--queries 2000] [--corpus zipf|uniform|both]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from bench.common import free_port, site_env, start_server

VOCABULARY = (
    "latency throughput replication schema index cache shard queue consumer partition commit "
    "snapshot backup restore cluster failover memory disk network protocol plugin module config "
    "runtime compiler kernel thread process lock journal proxy certificate storage bucket stream "
    "vector embedding tokenizer quantization distillation pruning gradient optimizer scheduler "
    "container orchestration registry deployment rollback migration transaction isolation"
).split()
NAMES = (
    "Nginx Caddy Apache Traefik Envoy HAProxy Postgres MySQL SQLite Redis Valkey Kafka Pulsar "
    "RabbitMQ NATS Rclone Rsync Restic Borg ZFS Btrfs Docker Podman Kubernetes Nomad Terraform "
    "Pulumi Ansible Salt Vim Emacs Helix Neovim Git Mercurial Fossil PyTorch JAX TensorFlow"
).split()
CATEGORIES = ["Databases", "Messaging", "Dev Tools", "Web Servers", "Machine Learning", "Storage"]
SYLLABLES = "ka lo mi ne ru sa te vo pi da fe gu ho ji ze bu ca ri to ma".split()
ZIPF_WORDS = 4_000


class Words:
    """A vocabulary and how often each word is drawn: uniform, or Zipf (rank r has weight 1/r)."""

    def __init__(self, corpus: str) -> None:
        rng = random.Random(11)
        words = list(VOCABULARY)
        if corpus == "zipf":
            seen = set(words)
            while len(words) < ZIPF_WORDS:
                word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
                if word not in seen:
                    seen.add(word)
                    words.append(word)
            rng.shuffle(words)  # the 60 real words land at random ranks
        self.words = words
        weights = [1 / rank for rank in range(1, len(words) + 1)] if corpus == "zipf" else None
        self.cumulative = list(itertools.accumulate(weights)) if weights else None

    def pick(self, rng: random.Random, k: int = 1) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cumulative, k=k)

    def sample(self, rng: random.Random, k: int) -> list[str]:
        chosen: list[str] = []
        while len(chosen) < k:
            chosen.extend(word for word in self.pick(rng) if word not in chosen)
        return chosen


def sentence(rng: random.Random, words: int, vocabulary: Words) -> str:
    return " ".join(vocabulary.pick(rng, words)).capitalize() + "."


def comparison(number: int, rng: random.Random, vocabulary: Words) -> tuple[str, str]:
    a = f"{rng.choice(NAMES)}{number}"
    b = f"{rng.choice(NAMES)}x{number}"
    tags = vocabulary.sample(rng, 3)
    options = "".join(
        f"## {name}\n{sentence(rng, 40, vocabulary)}\n\n### Pros\n"
        + "".join(f"- {sentence(rng, 14, vocabulary)}\n" for _ in range(4))
        + "### Cons\n"
        + "".join(f"- {sentence(rng, 14, vocabulary)}\n" for _ in range(3))
        + "\n"
        for name in (a, b)
    )
    published = date(2023, 1, 1) + timedelta(days=number % 900)
    text = (
        f"---\ntitle: {a} vs {b}\ncategory: {CATEGORIES[number % len(CATEGORIES)]}\n"
        f"summary: {sentence(rng, 12, vocabulary)}\noptions: [{a}, {b}]\npick: {a}\n"
        f"tags: [{', '.join(tags)}]\npublished: {published.isoformat()}\n---\n"
        f"{sentence(rng, 60, vocabulary)}\n\n{options}"
        f"## Verdict\n{sentence(rng, 30, vocabulary)}\n\n"
        f"### Use {a} if\n{sentence(rng, 12, vocabulary)}\n\n"
        f"### Use {b} if\n{sentence(rng, 12, vocabulary)}\n\n"
        f"## Bottom line\n{sentence(rng, 20, vocabulary)}\n"
    )
    return f"{a}-vs-{b}".lower(), text


def queries(rng: random.Random, count: int, vocabulary: Words) -> list[str]:
    pool: list[str] = []
    for _ in range(count):
        kind = rng.randrange(6)
        if kind == 0:
            pool.append(vocabulary.pick(rng)[0])  # a word, drawn as often as it is written
        elif kind == 1:
            pool.append(vocabulary.pick(rng)[0][:3])  # short prefix
        elif kind == 2:
            pool.append(f"{rng.choice(NAMES)}{rng.randrange(10_000)}")  # one page's name
        elif kind == 3:
            pool.append(" ".join(vocabulary.sample(rng, 3)))  # several words, all required
        elif kind == 4:
            pool.append(rng.choice(NAMES).lower()[:4])  # prefix of an option name
        else:
            pool.append(rng.choice(['NEAR("a" b', "x" * 3000, "'; DROP TABLE docs", "* AND OR"]))
    return pool


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(label: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    print(
        f"{label:<28} n={len(ms):>5}  p50={percentile(ms, 0.50):7.2f} ms  "
        f"p99={percentile(ms, 0.99):7.2f} ms  max={max(ms):7.2f} ms  "
        f"mean={statistics.fmean(ms):6.2f} ms"
    )


def run(corpus: str, n: int, count: int) -> None:
    """Generate one corpus, then time the index alone (cold and cached) and the whole request."""
    from app.content.library import Library
    from app.search.index import SearchIndex

    rng = random.Random(5)
    vocabulary = Words(corpus)
    print(f"--- corpus {corpus}: {len(vocabulary.words)} words, {n} comparisons")
    with tempfile.TemporaryDirectory(prefix="nicepick-search-bench-") as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        for number in range(n):
            slug, text = comparison(number, rng, vocabulary)
            (content / f"{slug}.md").write_text(text, encoding="utf-8")

        started = time.perf_counter()
        library = Library.load(content)
        elapsed = time.perf_counter() - started
        print(f"loaded {len(library.comparisons)} comparisons in {elapsed:.2f} s")
        started = time.perf_counter()
        cold = SearchIndex(library.comparisons.values(), cache_size=0)
        print(f"built the FTS5 index in {time.perf_counter() - started:.2f} s")
        cached = SearchIndex(library.comparisons.values())

        now = datetime.now(UTC)
        workload = queries(rng, count, vocabulary)
        print(f"  {len(set(workload))} distinct queries of {len(workload)}")
        for label, index in (("search, no result cache", cold), ("search, result cache", cached)):
            samples: list[float] = []
            hits = capped = 0
            for text in workload:
                started = time.perf_counter()
                results = index.search(text, now=now)
                samples.append(time.perf_counter() - started)
                hits += bool(results.hits)
                capped += results.capped
            report(label, samples)
            index.close()
        print(f"  {hits}/{len(workload)} found something, {capped} were over the rank limit")
        # This process's own library would otherwise stall the client in garbage collections
        # (60-70 ms each) and charge them to the server's answers.
        del library, cold, cached, index
        gc.collect()

        # The whole request as a reader's browser makes it: a real server, one keep-alive
        # connection (FastAPI's TestClient would add ~1.5 ms of its own thread hand-offs).
        port = free_port()
        server = start_server(
            site_env(Path(tmp) / "var", content=content),
            port,
            args=("--log-level", "warning"),
            log=Path(tmp) / "server.log",
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                client.get("/search", params={"q": "warm"})  # waits for the index build
                page: list[float] = []
                for text in workload:
                    started = time.perf_counter()
                    response = client.get("/search", params={"q": text})
                    page.append(time.perf_counter() - started)
                    assert response.status_code == 200, (text, response.status_code)
            report("GET /search over HTTP", page)
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--corpus", choices=["zipf", "uniform", "both"], default="both")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for corpus in ("zipf", "uniform") if args.corpus == "both" else (args.corpus,):
        run(corpus, args.n, args.queries)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
