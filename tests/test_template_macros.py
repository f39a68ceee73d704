"""The macros every template calls as globals (``pager``, ``cards``): loaded once, and
reloaded with their template when the environment reloads templates (live preview)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from app.render.jinja import Cards, build_environment


def touch_later(path: Path) -> None:
    """A change the loader's mtime check cannot miss, however fast the test writes."""
    later = path.stat().st_mtime + 5
    os.utime(path, (later, later))


def test_global_macros_follow_their_template_when_templates_reload(tmp_path: Path) -> None:
    pager = tmp_path / "_pager.html"
    card = tmp_path / "_card.html"
    pager.write_text("{% macro pager(page, base) %}page {{ page }} of {{ base }}{% endmacro %}")
    card.write_text("{% macro card(c, level=3) %}<h{{ level }}>{{ c.title }}{% endmacro %}")
    (tmp_path / "list.html").write_text('{{ pager.pager(2, "/tag/x") }}; {{ cards.card(c, 2) }}')
    env = build_environment(tmp_path, auto_reload=True)
    page = SimpleNamespace(slug="a-vs-b", content_hash="1", title="A <b> B")
    assert env.get_template("list.html").render(c=page) == "page 2 of /tag/x; <h2>A &lt;b&gt; B"
    pager.write_text("{% macro pager(page, base) %}p{{ page }}{% endmacro %}")
    card.write_text("{% macro card(c, level=3) %}{{ c.title }}!{% endmacro %}")
    touch_later(pager)
    touch_later(card)
    assert env.get_template("list.html").render(c=page) == "p2; A &lt;b&gt; B!"


def test_a_card_is_made_once_per_comparison_version_and_level(tmp_path: Path) -> None:
    (tmp_path / "_card.html").write_text(
        "{% macro card(c, level=3) %}<h{{ level }}>{{ c.title }}{% endmacro %}"
    )
    cards = build_environment(tmp_path, auto_reload=False).globals["cards"]
    assert isinstance(cards, Cards)
    page = SimpleNamespace(slug="a-vs-b", content_hash="1", title="A vs B")
    first = cards.card(page)
    assert cards.card(page) is first  # the same markup, not made again
    assert cards.card(page, 2) == "<h2>A vs B"
    # Another version of the file (another digest): its own card.
    edited = SimpleNamespace(slug="a-vs-b", content_hash="2", title="A vs B, edited")
    assert cards.card(edited) == "<h3>A vs B, edited"
    assert cards.card(page) is first
