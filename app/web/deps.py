"""Request dependencies as ``Annotated`` aliases, so routes declare what they use.

The only reader of ``app.state``: ``app/main.py`` fills it, routes and responses ask here.

Each is ``async def`` although it only reads ``app.state``: FastAPI runs a plain ``def``
dependency in a worker thread, one thread hop per dependency per request (figures in
``bench/RESULTS.md``, "Figures behind design choices").
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from app.feedback.service import Feedback
from app.pages.renderer import PageRenderer
from app.render.assets import Assets
from app.settings import Settings
from app.site import Site
from app.surfaces.service import Surfaces
from app.web.exposition import Exposition


def site_of(app: FastAPI) -> Site:
    """The running site of ``app``, for code that drives the app from outside (the export)."""
    site: Site = app.state.site
    return site


async def get_site(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def settings_of(request: Request) -> Settings:
    """The settings of the app serving ``request``, for code outside a route's signature."""
    settings: Settings = request.app.state.site.settings
    return settings


async def get_settings(request: Request) -> Settings:
    return settings_of(request)


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


async def get_assets(request: Request) -> Assets:
    assets: Assets = request.app.state.assets
    return assets


AssetsDep = Annotated[Assets, Depends(get_assets)]


def pages_of(app: FastAPI) -> PageRenderer:
    """The page renderer of ``app``, for the export (it tells the templates what a static
    copy can offer)."""
    pages: PageRenderer = app.state.pages
    return pages


def feedback_of(app: FastAPI) -> Feedback:
    """The feedback service of ``app``, for the export (its forms' tokens)."""
    feedback: Feedback = app.state.feedback
    return feedback


async def get_feedback(request: Request) -> Feedback:
    feedback: Feedback = request.app.state.feedback
    return feedback


FeedbackDep = Annotated[Feedback, Depends(get_feedback)]


async def get_exposition(request: Request) -> Exposition:
    exposition: Exposition = request.app.state.exposition
    return exposition


ExpositionDep = Annotated[Exposition, Depends(get_exposition)]
