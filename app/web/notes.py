"""POST /compare/{slug}/feedback: read the form, hand it to the feedback service, answer.

Browsers get pages, never JSON: 303 back to the page on success, the page re-rendered with
422 (text kept, errors by each field), 429 over the rate limit and 503 when the store fails
(away, locked, corrupt), both with the text kept, when to try again and ``Retry-After``;
413 for bodies over 64 KB, 400 for bodies that are not UTF-8, 404 for an unknown page, 403
(text kept) for a post another website made a reader's browser send (``cross_site``). A GET
on the form's address (a reload after a refused post) is sent to the form on its page.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.feedback.form import FeedbackForm
from app.feedback.ratelimit import client_key
from app.logs import request_id as current_request_id
from app.web.client import client_address
from app.web.deps import FeedbackDep, PagesDep, SiteDep
from app.web.pages import NotFound
from app.web.redirects import redirect
from app.web.responses import page

log = logging.getLogger(__name__)

router = APIRouter()

CROSS_SITE_MESSAGE = (
    "This note was sent from another website, so we did not accept it. If you wrote it, "
    "your text is kept below: please send it again from this page."
)
_DEFAULT_PORTS = {"http": 80, "https": 443}

MAX_BODY = 64 * 1024


class BadBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_form(request: Request) -> dict[str, str]:
    """The url-encoded body as fields; BadBody for a large, binary or foreign body."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BadBody(413, "Your note is too large to send (the limit is 64 KB).")
    body = bytearray()
    try:
        async for chunk in request.stream():  # also enforced when no length is declared
            body += chunk
            if len(body) > MAX_BODY:
                raise BadBody(413, "Your note is too large to send (the limit is 64 KB).")
    except ClientDisconnect:
        # Gone, or cut off by the body deadline (app/web/server.py): nobody reads this answer.
        raise BadBody(408, "Your note took too long to arrive; please send it again.") from None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadBody(415, "Please send the form from the page.")
    try:
        text = bytes(body).decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadBody(400, "Your note could not be read: it was not sent as UTF-8 text.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)  # the first of repeated fields wins
    return fields


@lru_cache(maxsize=8)
def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` as browsers write an Origin header (RFC 6454 section 6.1):
    lower case, the default port left out; None for a URL with no valid host and port (a
    client's Host header such as ``x:abc`` or ``[``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _loopback(host: str) -> bool:
    """Whether a Host header names this machine (``localhost:8000``, ``127.0.0.1``, ``[::1]``):
    a local run reached by another loopback name than its site URL's."""
    try:
        name = urlsplit(f"//{host}").hostname
    except ValueError:  # "[" and the like: no host at all
        return False
    if not name:
        return False
    return name == "localhost" or name.endswith(".localhost") or name in ("::1", "127.0.0.1")


def cross_site(request: Request, site_url: str) -> str | None:
    """Why this POST is refused as cross-site, or None to accept it.

    Modelled on Django's CsrfViewMiddleware (``_origin_verified``) and Rails'
    ``forgery_protection_origin_check``: an ``Origin`` header must be our own, meaning the
    origin of ``site_url`` (where readers and exported pages are) or the origin the request
    itself was sent to when that is a loopback name (``http://127.0.0.1:8000`` and
    ``localhost`` on a local run). Any other Host is not trusted: a page whose name an
    attacker points at our address (DNS rebinding) posts with its own Host and Origin, which
    agree (an outside review). Without ``Origin`` (old browsers, some privacy
    settings), ``Sec-Fetch-Site`` decides: ``cross-site`` and ``same-site`` (another
    subdomain) are refused; ``same-origin``, ``none`` or no header at all are accepted, as
    Django accepts a POST without Origin. The form token cannot do this job: it is public,
    in every cached page.
    """
    origin = request.headers.get("origin")
    if origin is not None:
        own = {origin_of(site_url)}
        host = request.headers.get("host")
        if host and _loopback(host):
            own.add(origin_of(f"{request.scope.get('scheme', 'http')}://{host}"))
        own.discard(None)
        if origin.strip().lower() in own:
            return None
        return f"Origin {origin[:200]!r} is not {' or '.join(sorted(o for o in own if o))}"
    fetch_site = request.headers.get("sec-fetch-site", "").strip().lower()
    if fetch_site in ("cross-site", "same-site"):
        return f"Sec-Fetch-Site: {fetch_site} without an Origin header"
    return None


def resend_in(wait: timedelta) -> str:
    """``a minute`` or ``N minutes``, rounded up: when a limited reader may send again."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"


def limited_message(wait: timedelta) -> str:
    """What a reader over the rate limit is told: that the text is kept, and when to resend."""
    when = resend_in(wait)
    return (
        "You have sent several notes in a short time, so this one was not sent yet. Your text "
        f"is kept below: please send it again in {when}. Your earlier notes reached the editors."
    )


@router.get("/compare/{slug}/feedback", include_in_schema=False)
async def feedback_address(slug: str, site: SiteDep) -> Response:
    """A reload or a shared link of the form's address (after a rejected post) goes to the
    form on its page."""
    comparison = site.library.comparisons.get(slug)
    if comparison is None or not site.is_visible(comparison):
        raise NotFound(slug)
    target = f"/compare/{comparison.slug}#feedback"
    return redirect(site.settings.site_url, target, status_code=303)


@router.post("/compare/{slug}/feedback", include_in_schema=False)
async def post_feedback(
    request: Request, slug: str, site: SiteDep, pages: PagesDep, feedback: FeedbackDep
) -> Response:
    comparison = site.library.comparisons.get(slug)
    if comparison is None or not site.is_visible(comparison):
        raise NotFound(slug)
    try:
        fields = await read_form(request)
    except BadBody as error:
        body = pages.error(error.status, error.message)
        return page(request, body, status_code=error.status)
    refused = cross_site(request, site.settings.site_url)
    if refused is not None:
        log.info("note for %s refused as cross-site: %s", comparison.slug, refused)
        form = FeedbackForm.from_fields(fields)
        form.errors = {"form": CROSS_SITE_MESSAGE}
        body = await run_in_threadpool(
            pages.comparison, comparison, form=form, nonce=fields.get("nonce") or None
        )
        return page(request, body, status_code=403)
    client = client_key(
        client_address(request, site.settings.trusted_proxies),
        ipv6_prefix=site.settings.feedback_rate_ipv6_prefix,
    )
    outcome = await feedback.submit(
        comparison, fields, client=client, request_id=current_request_id.get()
    )
    if outcome.status == "limited":
        # The whole window is the honest upper bound: the oldest counted note leaves it then.
        wait = feedback.rate_limit.period
        outcome.form.errors["form"] = limited_message(wait)
        body = await run_in_threadpool(
            pages.comparison, comparison, form=outcome.form, nonce=outcome.nonce
        )
        response = page(request, body, status_code=429)
        response.headers["Retry-After"] = str(int(wait.total_seconds()))
        return response
    # A re-rendered form keeps the reader's nonce, so sending it again is the same sending:
    # had a 503 come after the note was in fact stored, the resend finds that note.
    if outcome.status == "invalid":
        body = await run_in_threadpool(
            pages.comparison, comparison, form=outcome.form, nonce=outcome.nonce
        )
        return page(request, body, status_code=422)
    if outcome.status == "unavailable":
        # The store failed: the same page, the reader's text kept, "try again" on top.
        body = await run_in_threadpool(
            pages.comparison, comparison, form=outcome.form, nonce=outcome.nonce
        )
        response = page(request, body, status_code=503)
        response.headers["Retry-After"] = "30"
        return response
    # "stored" includes a resend of a form stored before: it gets the very same answer.
    target = f"/compare/{comparison.slug}?thanks=1#feedback"
    return redirect(site.settings.site_url, target, status_code=303)
