"""Probes for load balancers and orchestrators: liveness stays in pages.py, readiness is here.

``/healthz`` answers 200 while the process serves pages (pages need no database). ``/readyz``
answers 200 only when this instance can also take notes: the database answers and its schema
is the one this code expects; 503 with the reason otherwise.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.db import Database

router = APIRouter()


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    db: Database = request.app.state.db
    ready, reason = await db.run(db.ready)
    headers = {"Cache-Control": "no-store"}
    return Response(
        f"{reason}\n", status_code=200 if ready else 503, media_type="text/plain", headers=headers
    )
