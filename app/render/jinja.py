"""The Jinja environment our templates render in: autoescaped, strict, with Markdown filters."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from app.content.model import slugify
from app.render import template_cache
from app.render.markup import markdown_to_html


@lru_cache(maxsize=4096)
def _cached_markdown(source: str, inline: bool) -> Markup:
    return markdown_to_html(source, inline=inline)


def build_environment(
    templates_dir: Path, *, auto_reload: bool, bytecode_dir: Path | None = None
) -> Environment:
    """Our templates' environment; with ``bytecode_dir``, compiled templates are kept there
    between starts (``app.render.template_cache``)."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        auto_reload=auto_reload,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    if bytecode_dir is not None:
        template_cache.attach(env, bytecode_dir)
    env.filters["markdown"] = lambda text: _cached_markdown(text or "", False)
    env.filters["markdown_inline"] = lambda text: _cached_markdown(text or "", True)
    env.filters["slugify"] = slugify
    return env
