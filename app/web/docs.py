"""``/docs``: the API's OpenAPI schema in Swagger UI, served from our own origin.

FastAPI's built-in page loads Swagger UI from a CDN and starts it with an inline script; the
site must work offline and its CSP allows no inline script. So the Swagger UI files come from
the ``swagger-ui-py`` package (a maintained bundle of the upstream dist) and our own
``static/docs.js`` starts it.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from app.web.deps import PagesDep
from app.web.responses import page

router = APIRouter()

_SWAGGER_DIR = Path(swagger_ui.__file__).resolve().parent / "static"
# Only the two files the page loads: nothing else in that folder is reachable.
_SWAGGER_FILES = {"swagger-ui-bundle.js", "swagger-ui.css"}


@router.get("/docs", include_in_schema=False)
def docs(request: Request, pages: PagesDep) -> Response:
    return page(request, pages.docs())


@router.get("/docs/assets/{name}", include_in_schema=False)
def docs_asset(name: str) -> Response:
    if name not in _SWAGGER_FILES:
        return Response("not found\n", status_code=404, media_type="text/plain")
    # The package version pins these bytes, so a day of caching is safe and cheap.
    return FileResponse(_SWAGGER_DIR / name, headers={"Cache-Control": "public, max-age=86400"})
