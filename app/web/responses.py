"""Responses for rendered pages: the cached bytes go out as they are."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

HTML = "text/html; charset=utf-8"


def page(request: Request, body: bytes, *, status_code: int = 200) -> Response:
    """An HTML page from bytes the site rendered once."""
    return Response(content=body, status_code=status_code, media_type=HTML)
