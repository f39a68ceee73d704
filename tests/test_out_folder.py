"""Emptying a build's folder for a full build: the build's files go, nothing else does."""

from __future__ import annotations

from pathlib import Path

from app.commands.manifest import UNFINISHED
from app.commands.out_folder import empty_for_full_build


def test_after_a_stopped_build_its_entries_go_with_their_compressed_copies(
    tmp_path: Path,
) -> None:
    # An outside review: the .gz and .br copies of a build's top-level files stayed, and
    # nginx's gzip_static served a sitemap part that was gone; so did a kind of page this
    # build has none of (tag/), published forever.
    out = tmp_path / "site"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/gh-pages\n")
    (out / "CNAME").write_text("nicepick.example\n")
    (out / UNFINISHED).touch()
    for name in ("index.html", "index.html.gz", "page-3.json.gz", "page-3.json.br"):
        (out / name).write_text("a build's")
    (out / "sitemap-2.xml.br").write_text("a build's")
    (out / "compare" / "a").mkdir(parents=True)
    (out / "compare" / "a" / "index.html").write_text("a build's")
    (out / "tag" / "x").mkdir(parents=True)
    (out / "tag" / "x" / "index.html").write_text("a build's")
    (out / "notes.txt.gz").write_text("the user's own")
    empty_for_full_build(out, precompress=True, tops=lambda: {"index.html", "compare"})
    assert sorted(path.name for path in out.iterdir()) == [
        ".git",
        UNFINISHED,
        "CNAME",
        "notes.txt.gz",
    ]
    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/gh-pages\n"
