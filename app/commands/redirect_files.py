"""The export's redirects in the three forms static hosts understand.

- ``_redirects``: ``from to 301`` lines, read by Netlify and Cloudflare Pages (Cloudflare
  applies them before any file; Netlify serves a file at the old path first, which is the
  HTML page below, so the reader still lands on the page).
- ``nginx-redirects.map``: a ``map $uri $nicepick_redirect`` block that
  ``docs/nginx-export.conf`` includes at the ``http`` level and answers with ``return 301``.
- an HTML page at each old path (``compare/old/index.html``): a meta refresh and a canonical
  link to the page, ``noindex``, for hosts that read no redirect file at all (GitHub Pages,
  a bucket). Search engines treat an immediate meta refresh as a permanent redirect.

Sources are paths without a query; targets are paths on the same site, so the folder works
on whatever host it is published to.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from html import escape
from pathlib import PurePosixPath

from app.commands.files import output_name

REDIRECTS = "_redirects"
NGINX_MAP = "nginx-redirects.map"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Moved to {target_text}</title>
<meta name="robots" content="noindex">
<meta http-equiv="refresh" content="0; url={target}">
<link rel="canonical" href="{canonical}">
</head>
<body>
<p>This page has moved to <a href="{target}">{target_text}</a>.</p>
</body>
</html>
"""


def redirect_page(target: str, site_url: str) -> bytes:
    """The HTML stand-in for a redirect to ``target`` (a path on the site)."""
    return _PAGE.format(
        target=escape(target, quote=True),
        target_text=escape(target),
        canonical=escape(site_url + target, quote=True),
    ).encode("utf-8")


def nginx_map(redirects: Sequence[tuple[str, str]]) -> str:
    """``map $uri $nicepick_redirect { ... }`` for ``include`` in nginx's ``http`` block."""
    lines = [
        "# Written by `nicepick build`: old addresses and their pages (docs/nginx-export.conf).",
        "map $uri $nicepick_redirect {",
        '    default "";',
    ]
    lines += [f"    {_nginx_word(source)} {_nginx_word(target)};" for source, target in redirects]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _nginx_word(path: str) -> str:
    # Slugs are [a-z0-9-]; quote anyway, so a path can never end the block or start a comment.
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_redirects(
    redirects: Sequence[tuple[str, str]],
    *,
    site_url: str,
    write: Callable[[str, bytes], None],
    stood_in: Collection[str] = (),
) -> list[tuple[str, str]]:
    """Write all three forms for ``redirects`` (``(source, target)`` paths) with ``write``
    (a file's name in OUT, as the manifest names it: no Path per file, 10,000 of them cost
    ~0.3 s of each build); return the ones written (sources with a query have no file to
    stand in for them). ``stood_in``: sources whose HTML stand-in is written already (by
    the process that met the redirect)."""
    kept = kept_redirects(redirects)
    lines = "".join(f"{source} {target} 301\n" for source, target in kept)
    write(REDIRECTS, lines.encode("utf-8"))
    write(NGINX_MAP, nginx_map(kept).encode("utf-8"))
    for source, target in kept:
        if source not in stood_in:
            write(stand_in_name(source), redirect_page(target, site_url))
    return kept


def kept_redirects(redirects: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The redirects ``write_redirects`` writes, in its order: each once, sorted, those whose
    source has a file to stand in for it (a path, no query) other than its target's own.

    The server answers ``/x/`` with a 301 to ``/x``, and a page's text may link ``/x/``; but
    both are the file ``x/index.html``, which a static host serves for either spelling (the
    page's canonical link names one). Written, the stand-in replaced the page with a
    redirect to itself, followed forever; and for a file (``/feed.xml/``) it needed a folder
    where the file is, and the build stopped. No such redirect is written."""
    return sorted(
        {
            (source, target)
            for source, target in redirects
            if "?" not in source
            and source.startswith("/")
            and source.rstrip("/") != target
            and stand_in_name(source) != output_name(target)
        }
    )


def stand_in_name(source: str) -> str:
    """The HTML stand-in's file for a redirect's source path (``/compare/a`` ->
    ``compare/a/index.html``), as a Path join would name it."""
    folder = source.strip("/")
    name = f"{folder}/index.html" if folder else "index.html"
    if "//" in name or "/./" in name or name.startswith("./"):
        return PurePosixPath(name).as_posix()  # Path joins drop these
    return name
