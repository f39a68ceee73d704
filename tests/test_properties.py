"""Property tests: whatever an editor saves, the parser answers with a comparison or located
problems, never with another exception; valid comparisons always render."""

from __future__ import annotations

import string
import tempfile
from functools import cache
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.content.library import Library
from app.content.model import Comparison, Problem
from app.content.parse import parse_text
from app.pages.renderer import PageRenderer
from app.render.assets import Assets
from app.render.jinja import page_environment
from app.render.page_cache import PageCache
from app.settings import Settings
from app.site import Site
from tests.conftest import GOOD

PROPERTY = settings(max_examples=150, deadline=None)


@cache
def renderer() -> PageRenderer:
    """Built on first use, in a folder of its own (hypothesis runs many examples per test)."""
    root = Path(tempfile.mkdtemp(prefix="nicepick-properties-"))
    (root / "content").mkdir()
    settings = Settings(content_dir=root / "content", data_dir=root / "var", _env_file=None)
    env = page_environment(settings, asset_url=Assets(settings.static_dir).url)
    return PageRenderer(Site(settings), env=env, cache=PageCache())


GOOD_LINES = GOOD.splitlines()


def check_outcome(text: str, comparison: Comparison | None, problems: list[Problem]) -> None:
    """A comparison without errors, or no comparison and at least one located error."""
    errors = [p for p in problems if p.severity == "error"]
    if comparison is None:
        assert errors, "rejected without saying why"
    else:
        assert not errors
        assert comparison.pick in [option.name for option in comparison.options]
    line_count = max(1, len(text.splitlines()))
    for problem in problems:
        assert problem.path == "content/x.md"
        assert 1 <= problem.line <= line_count + 1, problem
        assert problem.column >= 1, problem
        assert problem.message.strip()
        assert str(problem).startswith(f"content/x.md:{problem.line}:")


def parse(text: str) -> tuple[Comparison | None, list[Problem]]:
    comparison, problems = parse_text(text, path="content/x.md", slug="x")
    check_outcome(text, comparison, problems)
    if comparison is not None:
        html = renderer().comparison(comparison, early=True)  # uncached, like a first render
        assert b"</html>" in html
    return comparison, problems


@PROPERTY
@given(st.text())
def test_any_text_parses_or_reports_located_problems(text: str) -> None:
    parse(text)


@PROPERTY
@given(st.text(alphabet=string.printable + "#-:*`[]{}|>\u00e9\u202e\u05d0\U0001f600"))
def test_markdownish_text_after_front_matter_markers(body: str) -> None:
    parse(f"---\n{body}\n---\n{body}\n")


# Edits to a valid file: drop, duplicate or replace lines with anything, the way a half-saved
# or badly merged file looks.
line_edit = st.tuples(
    st.sampled_from(["drop", "dup", "replace", "insert"]),
    st.integers(min_value=0, max_value=len(GOOD_LINES) - 1),
    st.text(max_size=80),
)


@PROPERTY
@given(st.lists(line_edit, min_size=1, max_size=6))
def test_edited_good_file_parses_or_reports_located_problems(
    edits: list[tuple[str, int, str]],
) -> None:
    lines = list(GOOD_LINES)
    for action, index, text in edits:
        index %= max(1, len(lines))
        if not lines:
            lines = [text]
        elif action == "drop":
            del lines[index]
        elif action == "dup":
            lines.insert(index, lines[index])
        elif action == "replace":
            lines[index] = text
        else:
            lines.insert(index, text)
    parse("\n".join(lines) + "\n")


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.dates(),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=8,
)
FIELDS = ["title", "category", "summary", "options", "pick", "tags", "published", "updated"]


@PROPERTY
@given(st.dictionaries(st.sampled_from(FIELDS + ["draft", "aliases", "extra"]), yaml_values))
def test_any_front_matter_values_parse_or_report_located_problems(
    overrides: dict[str, object],
) -> None:
    meta: dict[str, object] = {
        "title": "Vim vs Emacs",
        "category": "Dev Tools",
        "summary": "Two editors that outlived their rivals.",
        "options": ["Vim", "Emacs"],
        "pick": "Vim",
        "published": "2026-01-15",
    }
    meta.update(overrides)
    body = GOOD.split("---\n", 2)[2]
    front = yaml.safe_dump(meta, allow_unicode=True, default_flow_style=None)
    parse(f"---\n{front}---\n{body}")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-16")))
def test_any_bytes_on_disk_load_without_raising(tmp_path: Path, data: bytes) -> None:
    folder = tmp_path / "content"
    folder.mkdir(exist_ok=True)
    (folder / "x.md").write_bytes(data)
    (folder / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    library = Library.load(folder)
    assert "vim-vs-emacs" in library.comparisons
    for problem in library.problems:
        assert problem.line >= 1 and problem.column >= 1
