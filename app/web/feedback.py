"""POST /compare/{slug}/feedback: read the form, hand it to the feedback service, answer.

Browsers get pages, never JSON: 303 back to the page on success, the page re-rendered with
422 (text kept, errors by each field), 429 over the rate limit, 503 (text kept, "try again")
while the database is away, 413 for bodies over 64 KB,
400 for bodies that are not UTF-8, 404 for an unknown page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.feedback.service import Feedback
from app.web.client import client_address
from app.web.deps import SiteDep
from app.web.pages import NotFound
from app.web.redirects import redirect
from app.web.responses import page

router = APIRouter()

MAX_BODY = 64 * 1024


class BadBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def get_feedback(request: Request) -> Feedback:  # no thread hop (deps.py)
    feedback: Feedback = request.app.state.feedback
    return feedback


FeedbackDep = Annotated[Feedback, Depends(get_feedback)]


async def read_form(request: Request) -> dict[str, str]:
    """The url-encoded body as fields; BadBody for a large, binary or foreign body."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BadBody(413, "Your note is too large to send (the limit is 64 KB).")
    body = bytearray()
    async for chunk in request.stream():  # also enforced when no length is declared
        body += chunk
        if len(body) > MAX_BODY:
            raise BadBody(413, "Your note is too large to send (the limit is 64 KB).")
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


@router.post("/compare/{slug}/feedback", include_in_schema=False)
async def post_feedback(
    request: Request, slug: str, site: SiteDep, feedback: FeedbackDep
) -> Response:
    comparison = site.library.comparisons.get(slug)
    if comparison is None or not site.is_visible(comparison):
        raise NotFound(slug)
    try:
        fields = await read_form(request)
    except BadBody as error:
        body = site.render("error.html", status=error.status, message=error.message)
        return page(request, body, status_code=error.status)
    client = client_address(request, site.settings.trusted_proxies)
    outcome = await feedback.submit(comparison, fields, client=client)
    if outcome.status == "limited":
        message = (
            "You have sent several notes in a short time. Please wait a few minutes "
            "before sending another; your earlier notes reached the editors."
        )
        body = site.render("error.html", status=429, message=message)
        return page(request, body, status_code=429)
    if outcome.status == "invalid":
        body = await run_in_threadpool(site.comparison_page, comparison, feedback_form=outcome.form)
        return page(request, body, status_code=422)
    if outcome.status == "unavailable":
        # The database is away: the same page, the reader's text kept, "try again" on top.
        body = await run_in_threadpool(site.comparison_page, comparison, feedback_form=outcome.form)
        response = page(request, body, status_code=503)
        response.headers["Retry-After"] = "30"
        return response
    target = f"/compare/{comparison.slug}?thanks=1#feedback"
    return redirect(site.settings.site_url, target, status_code=303)
