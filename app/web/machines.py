"""Machine-read routes: sitemap, robots.txt, Atom feed and social cards."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.web.deps import SurfacesDep
from app.web.pages import NotFound

router = APIRouter()

XML = "application/xml; charset=utf-8"
_CACHE = {"Cache-Control": "public, max-age=300"}


@router.get("/sitemap.xml", include_in_schema=False)
def sitemap(surfaces: SurfacesDep) -> Response:
    return Response(surfaces.sitemap(), media_type=XML, headers=_CACHE)


@router.get("/sitemap-{number:int}.xml", include_in_schema=False)
def sitemap_part(number: int, surfaces: SurfacesDep) -> Response:
    body = surfaces.sitemap_part(number)
    if body is None:
        raise NotFound(f"sitemap-{number}.xml")
    return Response(body, media_type=XML, headers=_CACHE)


@router.get("/robots.txt", include_in_schema=False)
def robots(surfaces: SurfacesDep) -> Response:
    return Response(surfaces.robots(), media_type="text/plain; charset=utf-8", headers=_CACHE)


@router.get("/feed.xml", include_in_schema=False)
def feed(surfaces: SurfacesDep) -> Response:
    return Response(surfaces.feed(), media_type="application/atom+xml", headers=_CACHE)


@router.get("/og/{slug}.png", include_in_schema=False)
def card(slug: str, surfaces: SurfacesDep) -> Response:
    body = surfaces.card(slug)
    if body is None:
        raise NotFound(slug)
    return Response(body, media_type="image/png", headers={"Cache-Control": "public, max-age=3600"})
