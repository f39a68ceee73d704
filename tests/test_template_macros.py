"""The macros every template calls as globals (``pager``, ``cards``): loaded once, and
reloaded with their template when the environment reloads templates (live preview)."""

from __future__ import annotations

import os
from pathlib import Path

from app.render.jinja import build_environment


def test_global_macros_follow_their_template_when_templates_reload(tmp_path: Path) -> None:
    pager = tmp_path / "_pager.html"
    pager.write_text("{% macro pager(page, base) %}page {{ page }} of {{ base }}{% endmacro %}")
    (tmp_path / "_card.html").write_text(
        "{% macro card(c, level=3) %}<h{{ level }}>{{ c }}{% endmacro %}"
    )
    (tmp_path / "list.html").write_text(
        '{{ pager.pager(2, "/tag/x") }}; {{ cards.card("<b>", 2) }}'
    )
    env = build_environment(tmp_path, auto_reload=True)
    assert env.get_template("list.html").render() == "page 2 of /tag/x; <h2>&lt;b&gt;"
    pager.write_text("{% macro pager(page, base) %}p{{ page }}{% endmacro %}")
    later = pager.stat().st_mtime + 5  # a change the loader's mtime check cannot miss
    os.utime(pager, (later, later))
    assert env.get_template("list.html").render() == "p2; <h2>&lt;b&gt;"
