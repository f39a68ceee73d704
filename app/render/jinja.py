"""The Jinja environment our templates render in: autoescaped, strict, with Markdown filters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup

from app.content.model import slugify
from app.render import template_cache
from app.render.markup import cached_markdown
from app.settings import Settings


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
    env.filters["markdown"] = lambda text: cached_markdown(text or "", False)
    env.filters["markdown_inline"] = lambda text: cached_markdown(text or "", True)
    env.filters["slugify"] = slugify
    # The pager's and the cards' macros for every template, not an ``{% import %}`` in
    # each: that statement runs on every render (a set difference over a ChainMap of the
    # globals, ~10 % of an option page, of which an export renders 20,000).
    env.globals["pager"] = TemplateMacros(env, "_pager.html")
    env.globals["cards"] = Cards(env)
    return env


class TemplateMacros:
    """The macros of one template by attribute (``pager.pager(page, base)``), from the
    environment's current copy of it: reloaded with it under ``auto_reload``."""

    def __init__(self, env: Environment, name: str) -> None:
        self._env = env
        self._name = name

    def __getattr__(self, macro: str) -> Any:
        return getattr(self._env.get_template(self._name).module, macro)


class Carded(Protocol):
    """What a card is kept by: its comparison's slug and file digest."""

    @property
    def slug(self) -> str: ...

    @property
    def content_hash(self) -> str: ...


class Cards:
    """``cards.card(c, level=3)``: a comparison's card (``_card.html``), made once per
    comparison, heading level and copy of the template. A card shows its comparison's own
    fields alone, so one card serves every list it is in: an export of 10,000 comparisons
    shows ~100,000 cards (related links, listings, option pages)."""

    MOST = 20_000  # cards kept (~0.6 KB each); past that the memo starts again

    def __init__(self, env: Environment) -> None:
        self._env = env
        self._template: Template | None = None
        self._made: dict[tuple[str, str, int], Markup] = {}

    def card(self, comparison: Carded, level: int = 3) -> Markup:
        template = self._env.get_template("_card.html")
        if template is not self._template:  # the first, or reloaded (``auto_reload``)
            self._template, self._made = template, {}
        # The file's digest names every field the card shows; the slug, which the file's
        # name gives, is apart.
        key = (comparison.slug, comparison.content_hash, level)
        made = self._made.get(key)
        if made is None:
            if len(self._made) >= self.MOST:
                self._made = {}
            # A template's macros are attributes its module gets when it is rendered.
            card = template.module.card  # type: ignore[attr-defined]
            made = self._made[key] = card(comparison, level)
        return made


def page_environment(settings: Settings, *, asset_url: Callable[[str], str]) -> Environment:
    """The environment every page renders in: our templates, plus what ``base.html`` and the
    feedback form read from the settings (site name and URL, drafts, live preview)."""
    env = build_environment(
        settings.templates_dir,
        auto_reload=settings.reload,
        bytecode_dir=settings.data_dir / "template-cache",
    )
    endpoint = settings.feedback_endpoint

    def feedback_action(slug: str) -> str:
        """Where a page's feedback form posts: the running server, absolute when pages are
        exported (``NICEPICK_FEEDBACK_ENDPOINT``), since static hosts cannot take a POST."""
        # "#feedback": the answer to a post without JavaScript (a 422, 429 or 503 page)
        # opens at the form and its error summary, not at the top of a long page.
        path = f"/compare/{slug}/feedback#feedback"
        return endpoint.rstrip("/") + path if endpoint else path

    def request_action() -> str:
        """Where the "ask for a comparison" forms go: like ``feedback_action``, the running
        server's ``/request``, absolute when pages are exported."""
        return endpoint.rstrip("/") + "/request" if endpoint else "/request"

    # Without JavaScript, an exported search page's form goes to the server taking the notes.
    search_action = endpoint.rstrip("/") + "/search" if endpoint else "/search"

    env.globals.update(
        site_name=settings.site_name,
        site_url=settings.site_url,
        feedback_to=settings.feedback_to,
        asset=asset_url,
        show_drafts=settings.drafts,
        preview=settings.reload,  # base.html adds the live-preview script only then
        feedback_action=feedback_action,
        request_action=request_action,
        can_ask=True,  # False in an export without an endpoint (app/commands/export.py)
        search_action=search_action,
        has_page=lambda _slug: True,  # whether a plain page exists: the renderer knows
    )
    return env
