"""Comparison files for the discovery tests: valid Markdown from a few keyword arguments."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.content.model import slugify


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
        f"{body}\n\n" + "\n".join(sections) + "\n## Verdict\nPick by the shape of your workload.\n\n"
        f"{cases}\n## Bottom line\n{pick} is the safer default.\n"
    )


def write(folder: Path, options: Sequence[str], **kwargs: str | Sequence[str]) -> str:
    """Write the comparison into ``folder``; return its slug."""
    slug = slugify(" vs ".join(options))
    text = comparison_md(options, **kwargs)  # type: ignore[arg-type]
    (folder / f"{slug}.md").write_text(text, encoding="utf-8")
    return slug
