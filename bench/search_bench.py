"""Search latency over 10,000 synthetic comparisons: index build time, then p50/p99 per query.

Generates the content in a temporary folder, loads it the way the server does, and times
``SearchIndex.search`` alone and the whole search page (search + template), over a mix of
common words, prefixes, rare words, several-word and hostile queries.

    python -m bench.search_bench [--n 10000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

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


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(words)).capitalize() + "."


def comparison(number: int, rng: random.Random) -> tuple[str, str]:
    a = f"{rng.choice(NAMES)}{number}"
    b = f"{rng.choice(NAMES)}x{number}"
    tags = rng.sample(VOCABULARY, 3)
    options = "".join(
        f"## {name}\n{sentence(rng, 40)}\n\n### Pros\n"
        + "".join(f"- {sentence(rng, 14)}\n" for _ in range(4))
        + "### Cons\n"
        + "".join(f"- {sentence(rng, 14)}\n" for _ in range(3))
        + "\n"
        for name in (a, b)
    )
    published = date(2023, 1, 1) + timedelta(days=number % 900)
    text = (
        f"---\ntitle: {a} vs {b}\ncategory: {CATEGORIES[number % len(CATEGORIES)]}\n"
        f"summary: {sentence(rng, 12)}\noptions: [{a}, {b}]\npick: {a}\n"
        f"tags: [{', '.join(tags)}]\npublished: {published.isoformat()}\n---\n"
        f"{sentence(rng, 60)}\n\n{options}## Verdict\n{sentence(rng, 30)}\n\n"
        f"### Use {a} if\n{sentence(rng, 12)}\n\n### Use {b} if\n{sentence(rng, 12)}\n\n"
        f"## Bottom line\n{sentence(rng, 20)}\n"
    )
    return f"{a}-vs-{b}".lower(), text


def queries(rng: random.Random, count: int) -> list[str]:
    pool: list[str] = []
    for _ in range(count):
        kind = rng.randrange(6)
        if kind == 0:
            pool.append(rng.choice(VOCABULARY))  # common word: thousands of matches
        elif kind == 1:
            pool.append(rng.choice(VOCABULARY)[:3])  # short prefix
        elif kind == 2:
            pool.append(f"{rng.choice(NAMES)}{rng.randrange(10_000)}")  # one page's name
        elif kind == 3:
            pool.append(" ".join(rng.sample(VOCABULARY, 3)))  # several words, all required
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    args = parser.parse_args()

    from app.content.library import Library
    from app.search import SearchIndex
    from app.settings import Settings
    from app.site import Site
    from app.surfaces import Surfaces

    rng = random.Random(5)
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="nicepick-search-bench-") as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        for number in range(args.n):
            slug, text = comparison(number, rng)
            (content / f"{slug}.md").write_text(text, encoding="utf-8")

        started = time.perf_counter()
        library = Library.load(content)
        elapsed = time.perf_counter() - started
        print(f"loaded {len(library.comparisons)} comparisons in {elapsed:.2f} s")
        started = time.perf_counter()
        index = SearchIndex(library.comparisons.values())
        print(f"built the FTS5 index in {time.perf_counter() - started:.2f} s")

        now = datetime.now(UTC)
        workload = queries(rng, args.queries)
        raw: list[float] = []
        hits = 0
        for text in workload:
            started = time.perf_counter()
            results = index.search(text, now=now)
            raw.append(time.perf_counter() - started)
            hits += bool(results.hits)
        report("SearchIndex.search", raw)
        print(f"  {hits}/{len(workload)} queries found something")

        settings = Settings(
            content_dir=content,
            data_dir=Path(tmp) / "var",
            templates_dir=root / "templates",
            static_dir=root / "static",
            _env_file=None,  # type: ignore[call-arg]
        )
        site = Site(settings)
        site.library = library
        site.loaded.set()
        surfaces = Surfaces(site)
        surfaces.searcher.index_for(library.version, library.comparisons.values())
        page: list[float] = []
        for text in workload:
            started = time.perf_counter()
            surfaces.search_page(text, 1)
            page.append(time.perf_counter() - started)
        report("search page (search+render)", page)
        index.close()


if __name__ == "__main__":
    main()
