"""Write N synthetic comparisons that pass the parser, about the size of a real page.

Each file compares two made-up tools in one of a few categories, with tags shared across
files so category and tag listings are realistic in count and size.

    python -m bench.generate OUT [--n 10000] [--options 2000]

By default every comparison names two tools of its own (``Tool12a``, ``Tool12b``): the content the
static export has been measured on against Hugo since the first bench. ``--options P`` draws
both from one pool of ``P`` tools instead, so an option is named by about ``2n/P`` comparisons, as
in a real library; issue 18's scale figures use ``P = n/5`` (100,000 comparisons over 20,000
options).
"""

from __future__ import annotations

import argparse
import random
from datetime import date, timedelta
from pathlib import Path

CATEGORIES = ["Databases", "Messaging", "Dev Tools", "Web Servers", "Machine Learning", "Storage"]
TAGS = [f"topic-{n}" for n in range(200)]
WORDS = (
    "latency throughput replication schema index cache shard queue consumer partition "
    "commit snapshot backup restore cluster failover memory disk network protocol "
    "plugin module config runtime compiler kernel thread process lock journal"
).split()


def _sentence(rng: random.Random, words: int = 14) -> str:
    chosen = [rng.choice(WORDS) for _ in range(words)]
    return " ".join(chosen).capitalize() + f" at {rng.randint(2, 900)} ms."


def option_names(number: int, pool: int | None) -> tuple[str, str]:
    """The two tools comparison ``number`` compares: its own pair, or two of ``pool`` tools.

    From a pool, comparison k pairs tool ``k % pool`` with the one ``k // pool + 1`` places
    after it, so no pair (in either order) comes twice while ``n / pool`` stays under half the
    pool.
    """
    if pool is None:
        return f"Tool{number}a", f"Tool{number}b"
    first = number % pool
    second = (first + number // pool + 1) % pool
    return f"Tool{first}", f"Tool{second}"


def comparison_markdown(
    number: int, rng: random.Random, *, pool: int | None = None
) -> tuple[str, str]:
    """The slug and Markdown text of synthetic comparison ``number``."""
    a, b = option_names(number, pool)
    slug = f"{a.lower()}-vs-{b.lower()}"
    published = date(2024, 1, 1) + timedelta(days=number % 700)
    tags = rng.sample(TAGS, 3)
    options = []
    for name in (a, b):
        pros = "\n".join(f"- {_sentence(rng)}" for _ in range(4))
        cons = "\n".join(f"- {_sentence(rng)}" for _ in range(3))
        options.append(
            f"## {name}\n{_sentence(rng, 30)} {_sentence(rng, 20)}\n\n"
            f"### Pros\n{pros}\n### Cons\n{cons}\n### Related\n- {tags[0]}\n"
        )
    text = (
        "---\n"
        f"title: {a} vs {b}\n"
        f"category: {CATEGORIES[number % len(CATEGORIES)]}\n"
        f"summary: {_sentence(rng, 12)}\n"
        f"options: [{a}, {b}]\n"
        f"pick: {a}\n"
        f"tags: [{', '.join(tags)}]\n"
        f"published: {published.isoformat()}\n"
        "---\n"
        f"{_sentence(rng, 40)} {_sentence(rng, 30)}\n\n" + "\n".join(options) + "\n## Verdict\n"
        f"{_sentence(rng, 25)}\n\n"
        f"### Use {a} if\n{_sentence(rng)}\n\n"
        f"### Use {b} if\n{_sentence(rng)}\n\n"
        f"## Bottom line\n{_sentence(rng, 20)}\n"
    )
    return slug, text


def generate(out: Path, n: int, *, seed: int = 6, options: int | None = None) -> list[str]:
    """Write ``n`` comparisons into ``out`` (over ``options`` shared tools if given)."""
    if options is not None and n > options * (options // 2 - 1):
        raise ValueError(f"{options} options cannot make {n} distinct pairs this way")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    slugs = []
    for number in range(n):
        slug, text = comparison_markdown(number, rng, pool=options)
        (out / f"{slug}.md").write_text(text, encoding="utf-8")
        slugs.append(slug)
    return slugs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--options", type=int, help="draw options from a pool of this many")
    args = parser.parse_args()
    generate(args.out, args.n, options=args.options)
    pool = f" over {args.options} options" if args.options else ""
    print(f"wrote {args.n} comparisons{pool} to {args.out}")


if __name__ == "__main__":
    main()
