"""Hugo on equivalent content: the same N synthetic comparisons as Markdown pages, one layout.

Only this generator is kept; the Hugo site lives in a temp folder. Returns pages per second
of ``hugo --quiet`` (Debian's package, ``apt-get install hugo``), or None without Hugo.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import settle_disk
from bench.generate import comparison_markdown

_LAYOUT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{{ .Title }}</title><link rel="stylesheet" href="/site.css"></head>
<body><header><a href="/">Nice Pick</a></header><main><h1>{{ .Title }}</h1>
<p>{{ .Params.summary }}</p><p>Our pick: {{ .Params.pick }}</p>{{ .Content }}
<p>{{ range .Params.tags }}<a href="/tags/{{ . | urlize }}">{{ . }}</a> {{ end }}</p>
</main></body></html>"""
_LIST = """<!doctype html><html><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><h1>{{ .Title }}</h1><ul>{{ range .Paginator.Pages }}<li><a href="{{ .RelPermalink }}">
{{ .Title }}</a> {{ .Params.summary }}</li>{{ end }}</ul></body></html>"""


def hugo_pages_per_second(n: int) -> tuple[float, int, float] | None:
    """(pages/s, pages, seconds) for building ``n`` comparisons with Hugo, or None."""
    hugo = shutil.which("hugo")
    if hugo is None:
        return None
    with tempfile.TemporaryDirectory(prefix="nicepick-hugo-") as folder:
        root = Path(folder)
        (root / "layouts/_default").mkdir(parents=True)
        (root / "layouts/_default/single.html").write_text(_LAYOUT)
        (root / "layouts/_default/list.html").write_text(_LIST)
        (root / "layouts/index.html").write_text(_LIST)
        (root / "config.toml").write_text(
            'baseURL = "https://example.org/"\ntitle = "Nice Pick"\n'
            'paginate = 24\n[taxonomies]\n  tag = "tags"\n  category = "categories"\n'
        )
        content = root / "content/compare"
        content.mkdir(parents=True)
        rng = random.Random(6)
        for number in range(n):
            slug, text = comparison_markdown(number, rng)
            # Same front matter and body; Hugo wants "categories" as a list.
            text = text.replace("category: ", "categories: [", 1).replace(
                "\nsummary:", "]\nsummary:", 1
            )
            (content / f"{slug}.md").write_text(text, encoding="utf-8")
        settle_disk(root / "content")
        started = time.perf_counter()
        subprocess.run([hugo, "--quiet", "-s", str(root)], check=True)
        seconds = time.perf_counter() - started
        pages = sum(1 for _ in (root / "public").rglob("*.html"))
    return pages / seconds, pages, seconds
