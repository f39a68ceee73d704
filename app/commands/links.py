"""Same-site links in an exported file: how the export finds pages no route table lists.

Markup, styles, the sitemap and the social card ``meta`` tags hold links; each is resolved
against the page's URL and kept when it names a page a static host can serve (a path, with
``?page=N`` kept and other queries dropped; no form targets, no JSON API).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

# href/src/action values, absolute URLs in meta content (social cards), sitemap <loc>s, CSS url().
# One pattern per attribute, each starting with a literal: the regex engine then jumps from one
# occurrence of it to the next, where one alternation tries every byte (six times faster).
_ATTRIBUTES = tuple(
    re.compile(pattern)
    for pattern in (
        rb"href\s*=\s*[\"']([^\"'<>\s]+)[\"']",
        rb"src\s*=\s*[\"']([^\"'<>\s]+)[\"']",
        rb"action\s*=\s*[\"']([^\"'<>\s]+)[\"']",
        rb"content\s*=\s*[\"'](https?://[^\"'<>\s]+)[\"']",
    )
)
_LOC = re.compile(rb"<loc>([^<]+)</loc>")
_CSS_URL = re.compile(rb"url\(\s*[\"']?([^\"')]+)[\"']?\s*\)")
_LINKS = (*_ATTRIBUTES, _LOC, _CSS_URL)
# What each type of file can link with. Markup never holds a ``<loc>`` (escaped, a text's is
# ``&lt;loc&gt;``) nor a style (the CSP allows none inline): a ``url(`` there is prose or
# code, not a link; skipping both patterns spares a third of the scan of every page.
_BY_TYPE = (("text/html", _ATTRIBUTES), ("text/css", (_CSS_URL,)))


# The sitemap and its parts (app/surfaces/feeds.py) are ours: ``<loc>`` elements and nothing
# else that links. Looking for attributes too cost ~25 ms of each build that renders the
# sitemap again (a tag edit), scanning 2.7 MB that hold none.
_SITEMAP = re.compile(r"/sitemap(?:-[0-9]+)?\.xml")


def patterns_for(content_type: str, url: str = "") -> tuple[re.Pattern[bytes], ...]:
    """The link patterns worth looking for in a file of this ``Content-Type`` at ``url``."""
    if _SITEMAP.fullmatch(url) and content_type.startswith("application/xml"):
        return (_LOC,)
    for prefix, patterns in _BY_TYPE:
        if content_type.startswith(prefix):
            return patterns
    return _LINKS


# A path ``urljoin`` and ``urlsplit`` give back as it is: no query, fragment, escape, entity,
# backslash or blank to read, and (checked apart) no dot segment or empty one. Most links are
# such paths (a sitemap's 30,000, after the site's URL): parsing each cost ~10x more.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")
# The pages that come in pages of their own (?page=N, app/commands/routes.py), and their twins.
_PAGINATED = re.compile(r"/(?:\.json)?|/(?:category|tag|option)/[^/]+?(?:\.json)?")


def links(
    body: bytes,
    url: str,
    base: str,
    memo: dict[bytes, str | None] | None = None,
    patterns: tuple[re.Pattern[bytes], ...] = _LINKS,
) -> list[str]:
    """Same-site URLs a file links to, as paths (with ``?page=N`` kept, other queries dropped).

    ``memo`` keeps what each absolute link (``/x`` or the base URL's) resolved to: pages
    share most of their links (navigation, assets), so each is parsed once per build.
    ``patterns``: what to look for (``patterns_for`` the file's type), by default all.
    """
    found = []
    base_bytes = base.encode()
    # Each distinct link once: a page repeats its navigation and cards' links many times.
    for raw_bytes in dict.fromkeys(raw for link in patterns for raw in link.findall(body)):
        absolute = raw_bytes.startswith(b"/") and not raw_bytes.startswith(b"//")
        if memo is not None and absolute and raw_bytes in memo:
            known = memo[raw_bytes]
            if known is not None:
                found.append(known)
            continue
        resolved = _resolve(raw_bytes, url, base)
        if memo is not None and (absolute or raw_bytes.startswith(base_bytes)):
            memo[raw_bytes] = resolved
        if resolved is not None:
            found.append(resolved)
    return found


def _resolve(raw_bytes: bytes, url: str, base: str) -> str | None:
    raw = raw_bytes.decode("utf-8", "replace").replace("&amp;", "&")
    if raw.startswith(base + "/") or raw == base:
        raw = raw[len(base) :] or "/"
    elif raw.startswith(("//", "#", "mailto:", "data:")) or ":" in raw.split("/", 1)[0]:
        return None
    if _PLAIN_PATH.fullmatch(raw) and "/." not in raw and "//" not in raw:
        return _servable(raw)
    target = urlsplit(urljoin(url, raw))
    if target.scheme or target.netloc:
        return None
    page = parse_qs(target.query).get("page", [""])[0]
    if target.query and not page.isdigit():
        return None  # search queries and the like exist only on a running server
    path = _servable(target.path or "/")
    if path is None or not page or not _PAGINATED.fullmatch(path):
        # Elsewhere the server ignores ?page=N, as a static host ignores every query: the
        # page itself, not a copy of it at x/page-N/ (one of which an edited-out link left).
        return path
    return f"{path}?page={page}"


# Answered by a running server alone, whatever a page's text links: the health checks (a
# copy would say "ok" forever), the metrics (served only to ``NICEPICK_METRICS_ALLOW``), and
# the comparison request form, whose token is a server page's (valid a day), not an export's.
_SERVER_ONLY = frozenset({"/healthz", "/readyz", "/metrics", "/request"})


def _servable(path: str) -> str | None:
    """``path``, unless a static host cannot serve it."""
    if path.endswith("/feedback") or path.startswith("/api/"):
        return None  # form targets answer POST only; the JSON API belongs to the server
    if path.rstrip("/") in _SERVER_ONLY:
        return None
    return path
