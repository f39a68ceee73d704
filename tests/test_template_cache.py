"""Compiled templates kept between starts: reused when nothing changed, never a failed page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from jinja2 import Environment
from jinja2.bccache import bc_magic

from app.render.jinja import build_environment
from app.render.template_cache import compile_fingerprint


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "hello.html").write_text("Hello {{ name }}!", encoding="utf-8")
    return folder


def render(templates: Path, kept: Path) -> str:
    env = build_environment(templates, auto_reload=False, bytecode_dir=kept)
    return env.get_template("hello.html").render(name="<Ada>")


def test_compiled_templates_are_kept_and_an_edited_template_is_compiled_again(
    templates: Path, tmp_path: Path
) -> None:
    kept = tmp_path / "var" / "template-cache"
    assert render(templates, kept) == "Hello &lt;Ada&gt;!"
    assert len(list(kept.iterdir())) == 1  # the compiled code, for the next start
    (templates / "hello.html").write_text("Hi {{ name }}.", encoding="utf-8")
    assert render(templates, kept) == "Hi &lt;Ada&gt;."


def test_a_damaged_cache_file_means_compiling(templates: Path, tmp_path: Path) -> None:
    kept = tmp_path / "template-cache"
    render(templates, kept)
    (cached,) = kept.iterdir()
    # Cut just after Jinja's header: the checksum that follows cannot be read.
    cached.write_bytes(cached.read_bytes()[: len(bc_magic) + 3])
    assert render(templates, kept) == "Hello &lt;Ada&gt;!"


def test_a_cache_folder_that_cannot_be_made_or_written_means_compiling(
    templates: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    in_the_way = tmp_path / "template-cache"
    in_the_way.write_text("a file where the folder should be", encoding="utf-8")
    assert render(templates, in_the_way) == "Hello &lt;Ada&gt;!"

    gone = tmp_path / "gone"
    env = build_environment(templates, auto_reload=False, bytecode_dir=gone)
    shutil.rmtree(gone)  # writing the compiled code now fails
    assert env.get_template("hello.html").render(name="Ada") == "Hello Ada!"
    assert "compiling templates" in caplog.text


def test_compiled_code_is_kept_apart_per_jinja_options() -> None:
    ours = Environment(trim_blocks=True, autoescape=True)
    assert compile_fingerprint(ours) == compile_fingerprint(
        Environment(trim_blocks=True, autoescape=True)
    )
    assert compile_fingerprint(ours) != compile_fingerprint(Environment(autoescape=True))
    assert compile_fingerprint(ours) != compile_fingerprint(Environment(trim_blocks=True))
