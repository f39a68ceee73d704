"""GET and POST /request: a reader asks for a comparison we have not written.

The same protections as a disagreement note (``app/web/notes.py``): the body read within
its limits, the cross-site rule, the form token, the honeypot and the rate limit, each
answered with the page re-rendered and the reader's text kept (403, 422, 429, 503), and a
303 to the thanks notice once the request is committed with its outbox row.
"""

from __future__ import annotations

import logging
import math

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.feedback.ratelimit import client_key
from app.feedback.request_form import RequestForm
from app.logs import request_id as current_request_id
from app.pages import request as request_page
from app.web.client import client_address
from app.web.deps import FeedbackDep, PagesDep, SiteDep
from app.web.notes import CROSS_SITE_MESSAGE, BadBody, cross_site, read_form, resend_in
from app.web.redirects import redirect
from app.web.responses import page

log = logging.getLogger(__name__)

router = APIRouter()


def _answer(
    request: Request,
    site: SiteDep,
    pages: PagesDep,
    feedback: FeedbackDep,
    form: RequestForm,
    *,
    status_code: int = 200,
    thanks: bool = False,
    nonce: str | None = None,
) -> Response:
    context = request_page.build(
        form,
        feedback.request_view(),
        thanks=thanks,
        site_url=site.settings.site_url,
        nonce=nonce,
    )
    # A one-off render (a form with the reader's text, or prefilled names): never cached.
    return page(request, pages.render(context), status_code=status_code)


@router.get("/request", include_in_schema=False)
async def request_form(
    request: Request, site: SiteDep, pages: PagesDep, feedback: FeedbackDep
) -> Response:
    query = request.query_params
    form = RequestForm.from_fields(
        {"first": query.get("first", ""), "second": query.get("second", "")}
    )
    return _answer(request, site, pages, feedback, form, thanks=query.get("thanks") == "1")


@router.post("/request", include_in_schema=False)
async def post_request(
    request: Request, site: SiteDep, pages: PagesDep, feedback: FeedbackDep
) -> Response:
    try:
        fields = await read_form(request)
    except BadBody as error:
        return page(request, pages.error(error.status, error.message), status_code=error.status)
    nonce = fields.get("nonce") or None
    refused = cross_site(request, site.settings.site_url)
    if refused is not None:
        log.info("comparison request refused as cross-site: %s", refused)
        form = RequestForm.from_fields(fields)
        form.errors = {"form": CROSS_SITE_MESSAGE.replace("note", "request")}
        return _answer(request, site, pages, feedback, form, status_code=403, nonce=nonce)
    client = client_key(
        client_address(request, site.settings.trusted_proxies),
        ipv6_prefix=site.settings.feedback_rate_ipv6_prefix,
    )
    outcome = await feedback.submit_request(
        fields, client=client, request_id=current_request_id.get()
    )
    if outcome.status == "limited":
        wait = feedback.rate_limit.period
        outcome.form.errors = {
            "form": (
                "You have sent several notes and requests in a short time. Your text is kept "
                f"below: please send it again in {resend_in(wait)}."
            )
        }
        response = _answer(
            request, site, pages, feedback, outcome.form, status_code=429, nonce=outcome.nonce
        )
        response.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
        return response
    if outcome.status == "invalid":
        return _answer(
            request, site, pages, feedback, outcome.form, status_code=422, nonce=outcome.nonce
        )
    if outcome.status == "unavailable":
        response = _answer(
            request, site, pages, feedback, outcome.form, status_code=503, nonce=outcome.nonce
        )
        response.headers["Retry-After"] = "30"
        return response
    return redirect(site.settings.site_url, "/request?thanks=1#request-form", status_code=303)
