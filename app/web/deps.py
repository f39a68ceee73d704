"""Request dependencies as ``Annotated`` aliases, so routes declare what they use.

Each is ``async def`` although it only reads ``app.state``: FastAPI runs a plain ``def``
dependency in a worker thread, one thread hop per dependency per request (a third of a
feedback POST's time under load was spent on those hops).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.pages.renderer import PageRenderer
from app.settings import Settings
from app.site import Site
from app.surfaces.service import Surfaces


async def get_site(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.site.settings
    return settings


SiteDep = Annotated[Site, Depends(get_site)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_surfaces(request: Request) -> Surfaces:
    surfaces: Surfaces = request.app.state.surfaces
    return surfaces


SurfacesDep = Annotated[Surfaces, Depends(get_surfaces)]


async def get_pages(request: Request) -> PageRenderer:
    pages: PageRenderer = request.app.state.pages
    return pages


PagesDep = Annotated[PageRenderer, Depends(get_pages)]
