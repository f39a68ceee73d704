"""Signed form tokens: which page a form came from, and when that page was rendered.

Comparison pages are cached bytes, so the token cannot be minted per request. We sign per
*render window*: the page cache key carries the current window (``window()``: the hour), so a
page is re-rendered, with a fresh token, at least once an hour, and the token records the
start of that window. A cached page therefore never serves a token older than one window,
well inside the one-day limit, and no request rewrites cached bytes. Stamping the window's
start rather than the render moment makes the bytes identical on every worker and instance,
so one page has one ETag and conditional GETs keep answering 304. The cost: the "too fast"
check (``feedback_min_seconds``) only catches bots that post within seconds of a window's
start; the honeypot and the rate limit cover the rest. (The alternative, fetching a token
with a small extra request, would leave readers without JavaScript with no token at all.)

The secret is ``settings.secret_key`` or, when unset, a random key generated once and kept in
``data_dir/secret_key`` (mode 0600) so restarts and several workers sign alike. That file is
shared only by the processes of one data folder, so a generated key is allowed only with the
embedded SQLite database inside that folder. On any other database (PostgreSQL), instances on
other hosts would each generate their own key and refuse every note posted from a page another
instance rendered: there ``load_secret`` raises ``SecretKeyRequired`` and the server does not
start, as Django refuses to start without ``SECRET_KEY`` and Rails without
``secret_key_base`` in production (both generate one only for local development).

Exported pages (``nicepick build``) are files nobody re-renders, so their tokens cannot age out
after a day: the build stamps each form with the build time, an expiry ``EXPORT_VALID_SECONDS``
later (over a year, stated in the build's summary), and the site's origin. The endpoint accepts
such a token until that expiry, and only when the origin is its own ``NICEPICK_SITE_URL``: a
token from another site's build is refused even when both were signed with one key. The
honeypot, the rate limit and the cross-site check apply to these notes as to any other.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeSerializer

from app.atomic import write_atomic
from app.feedback.meter_file import plain_sqlite_path

log = logging.getLogger(__name__)

WINDOW_SECONDS = 3600
MAX_AGE_SECONDS = 24 * 3600
# How long a form exported by ``nicepick build`` is accepted: a year and a month, so a yearly
# rebuild never leaves a page online with a dead form.
EXPORT_VALID_SECONDS = 400 * 24 * 3600
_SALT = "nicepick.feedback-form"


def window(now: float | None = None) -> int:
    """The render window a moment falls in; part of the comparison page's cache key."""
    return int((time.time() if now is None else now) // WINDOW_SECONDS)


def window_start(number: int) -> float:
    """The first moment of a render window: the time its pages' tokens carry."""
    return float(number * WINDOW_SECONDS)


def site_origin(site_url: str) -> str:
    """``scheme://host[:port]`` of the site, the origin an exported token names."""
    parts = urlsplit(site_url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class SecretKeyRequired(RuntimeError):
    """The database is shared with other instances and no NICEPICK_SECRET_KEY is set."""


def _only_this_folder(database_url: str, data_dir: Path) -> bool:
    """True when the database is a SQLite file inside ``data_dir`` (or in memory)."""
    plain = plain_sqlite_path(database_url)
    if plain is not None:  # what make_url reads from it, without importing SQLAlchemy
        return Path(plain).resolve().is_relative_to(data_dir.resolve())
    # Here, not at the top: SQLAlchemy's import is most of a quick build's start
    # (app/commands/quick.py), which reaches here with the default SQLite file.
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return False
    if not url.database or url.database == ":memory:":
        return True
    return Path(url.database).resolve().is_relative_to(data_dir.resolve())


def load_secret(configured: str | None, data_dir: Path, *, database_url: str | None = None) -> str:
    """The configured secret, else the persisted one, generated on first use.

    ``SecretKeyRequired`` when none is configured and ``database_url`` is shared beyond this
    data folder (see the module docstring).
    """
    if configured:
        return configured
    if database_url is not None and not _only_this_folder(database_url, data_dir):
        raise SecretKeyRequired(
            "set NICEPICK_SECRET_KEY (e.g. `openssl rand -hex 32`) to one value on every "
            "instance: with a database other than the embedded SQLite file, instances must share "
            "the key that signs form tokens, or each refuses the notes posted through the others"
        )
    path = data_dir / "secret_key"
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        # Written whole, then linked into place (O_EXCL semantics: when several workers
        # start together exactly one key wins); a full disk leaves no empty key file behind.
        write_atomic(path, (secret + "\n").encode("ascii"), mode=0o600, exclusive=True)
    except FileExistsError:
        secret = path.read_text(encoding="ascii").strip()
        if secret:
            return secret
        raise RuntimeError(f"{path} is empty; delete it or set NICEPICK_SECRET_KEY") from None
    log.info("generated a new secret key in %s", path)
    return secret


@dataclass(frozen=True, slots=True)
class PageStamp:
    """What a valid token says: the page, its version, and when it was rendered."""

    slug: str
    rendered_at: float
    page_hash: str
    page_updated: date | None


class TokenError(ValueError):
    """A token we refuse; the message is shown to the reader as it is."""


class FormTokens:
    def __init__(self, secret: str, *, min_seconds: float, site: str = "") -> None:
        self._serializer = URLSafeSerializer(secret, salt=_SALT)
        self.min_seconds = min_seconds
        self.site = site  # the origin exported tokens must name (see the module docstring)

    def issue(
        self,
        slug: str,
        *,
        page_hash: str,
        page_updated: date | None,
        now: float | None = None,
        valid_for: float | None = None,
    ) -> str:
        """A token for ``slug`` rendered at ``now``; ``valid_for`` makes it an exported
        page's token, accepted that many seconds by this site only."""
        moment = round(time.time() if now is None else now, 3)
        payload: dict[str, object] = {
            "s": slug,
            "t": moment,
            "h": page_hash,
            "u": page_updated.isoformat() if page_updated else None,
        }
        if valid_for is not None:
            payload["x"] = round(moment + valid_for, 3)
            payload["o"] = self.site
        token: str = self._serializer.dumps(payload)
        return token

    def check(self, token: str, *, slug: str, now: float | None = None) -> PageStamp:
        """The stamp inside a token for ``slug``, or TokenError saying what is wrong."""
        moment = time.time() if now is None else now
        try:
            payload = self._serializer.loads(token)
            stamp = PageStamp(
                slug=str(payload["s"]),
                rendered_at=float(payload["t"]),
                page_hash=str(payload["h"]),
                page_updated=date.fromisoformat(payload["u"]) if payload["u"] else None,
            )
            expires = float(payload["x"]) if "x" in payload else None
            site = str(payload.get("o", ""))
        except (BadSignature, KeyError, TypeError, ValueError):
            raise TokenError(
                "This form could not be verified. Please send your note again."
            ) from None
        if stamp.slug != slug:
            raise TokenError("This form belongs to another page. Please send it from this page.")
        if expires is not None and site != self.site:
            raise TokenError(
                "This form belongs to another website. Please send your note from our own page."
            )
        age = moment - stamp.rendered_at
        if expires is not None:
            if moment > expires:
                raise TokenError(
                    "This copy of the page is too old to take notes. Your text is kept below: "
                    "please send it from the current page."
                )
        elif age > MAX_AGE_SECONDS:
            raise TokenError(
                "This page was open for more than a day. Your text is kept below: "
                "please send it again."
            )
        if self.min_seconds and age < self.min_seconds:
            raise TokenError(
                "That was faster than a person can type. Please wait a few seconds "
                "and send it again."
            )
        return stamp
