"""Comparison files for the discovery tests: valid Markdown from a few keyword arguments."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.content.model import slugify
from app.settings import Settings
from tests.conftest import ROOT


def comparison_md(
    options: Sequence[str],
    *,
    pick: str | None = None,
    title: str | None = None,
    category: str = "Dev Tools",
    tags: Sequence[str] = ("tooling",),
    published: str = "2025-03-01",
    body: str = "Both are widely used in production.",
    extra_front: str = "",
) -> str:
    """A comparison that passes the parser; ``body`` lands in the intro."""
    title = title or " vs ".join(options)
    pick = pick or options[0]
    sections = []
    for name in options:
        sections.append(
            f"## {name}\n{name} is a tool with a long history of releases.\n\n"
            f"### Pros\n- {name} handles large inputs with steady memory use\n"
            f"### Cons\n- {name} has a configuration format with sharp edges\n"
        )
    cases = "\n".join(f"### Use {name} if\nYou already run {name} elsewhere.\n" for name in options)
    return (
        "---\n"
        f"title: {title}\n"
        f"category: {category}\n"
        f"summary: A head-to-head of {', '.join(options)} with a clear pick.\n"
        f"options: [{', '.join(options)}]\n"
        f"pick: {pick}\n"
        f"tags: [{', '.join(tags)}]\n"
        f"published: {published}\n"
        f"{extra_front}"
        "---\n"
        f"{body}\n\n"
        + "\n".join(sections)
        + "\n## Verdict\nPick by the shape of your workload.\n\n"
        f"{cases}\n## Bottom line\n{pick} is the safer default.\n"
    )


def write(folder: Path, options: Sequence[str], **kwargs: str | Sequence[str]) -> str:
    """Write the comparison into ``folder``; return its slug."""
    slug = slugify(" vs ".join(options))
    text = comparison_md(options, **kwargs)  # type: ignore[arg-type]
    (folder / f"{slug}.md").write_text(text, encoding="utf-8")
    return slug


def site_settings(content: Path, data: Path, **overrides: object) -> Settings:
    """Settings for a module's own content folder (the shared fixture is per test)."""
    values: dict[str, object] = {
        "content_dir": content,
        "data_dir": data,
        "templates_dir": ROOT / "templates",
        "static_dir": ROOT / "static",
        "site_url": "https://nicepick.test",
        "redirect_host": False,
        "feedback_min_seconds": 0,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def standard_library(folder: Path) -> None:
    """A small site: shared options, shared tags, one category, a draft and a future page."""
    write(folder, ["Nginx", "Caddy"], category="Web Servers", tags=["reverse-proxy", "https"],
          pick="Caddy", published="2025-01-10", extra_front="updated: 2025-06-01\n")  # fmt: skip
    write(folder, ["Nginx", "Apache"], category="Web Servers", tags=["reverse-proxy"],
          published="2025-01-11")  # fmt: skip
    write(folder, ["Nginx", "HAProxy"], category="Load Balancers", tags=["load-balancing"],
          published="2025-01-12")  # fmt: skip
    write(folder, ["Traefik", "Envoy"], category="Load Balancers", tags=["reverse-proxy"],
          published="2025-01-13")  # fmt: skip
    write(folder, ["Lighttpd", "Caddy"], category="Web Servers", tags=["static"],
          pick="Caddy", published="2025-01-14")  # fmt: skip
    write(folder, ["Postgres", "MySQL"], category="Databases", tags=["sql"],
          published="2025-01-15")  # fmt: skip
    write(folder, ["Nginx", "Hiddendraft"], category="Web Servers", tags=["reverse-proxy"],
          extra_front="draft: true\n", pick="Hiddendraft")  # fmt: skip
    write(folder, ["Nginx", "Futurepage"], category="Web Servers", tags=["reverse-proxy"],
          published="2099-01-01", pick="Futurepage")  # fmt: skip


PUBLISHED = {
    "nginx-vs-caddy",
    "nginx-vs-apache",
    "nginx-vs-haproxy",
    "traefik-vs-envoy",
    "lighttpd-vs-caddy",
    "postgres-vs-mysql",
}
HIDDEN = {"nginx-vs-hiddendraft", "nginx-vs-futurepage"}
