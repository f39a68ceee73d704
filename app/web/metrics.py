"""``GET /metrics``: the Prometheus exposition, for the addresses in ``NICEPICK_METRICS_ALLOW``.

Everyone else gets the site's 404, as for a page that does not exist: the figures (request
rates, the outbox's backlog) are for the operator, and a 403 would tell a scanner there is
something to get. The client address is the one the trusted-proxy rule gives
(``app/web/client.py``): behind a proxy, the scraper's own address, never a header a
stranger set. What a scrape contains is ``app/web/exposition.py``'s.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from app.web.client import client_address, in_networks
from app.web.deps import ExpositionDep, SettingsDep

router = APIRouter()
# Prometheus's text format, the one ``generate_latest`` writes.
# https://prometheus.io/docs/instrumenting/exposition_formats/
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics", include_in_schema=False)
def metrics_page(request: Request, settings: SettingsDep, exposition: ExpositionDep) -> Response:
    """The exposition for allowed clients; the 404 page for anyone else. A plain ``def``: a
    scrape reads the workers' files and the database, in a thread."""
    address = client_address(request, settings.trusted_proxies)
    if not in_networks(address, settings.metrics_allow):
        raise HTTPException(status_code=404)
    return Response(
        exposition.render(),
        media_type=TEXT_FORMAT,
        headers={"Cache-Control": "no-store"},
    )
