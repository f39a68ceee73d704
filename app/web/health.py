"""Probes for load balancers and orchestrators: liveness stays in pages.py, readiness is here.

``/healthz`` answers 200 while the process serves pages (pages need no database). ``/readyz``
answers 200 only when this instance can also take notes: the database answers, its schema is
the one this code expects, a write transaction can start, and the data folder takes a new
file (``Feedback.ready``); 503 with the reason otherwise.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from app.web.deps import FeedbackDep

router = APIRouter()


@router.get("/readyz", include_in_schema=False)
async def readyz(feedback: FeedbackDep) -> Response:
    ready, reason = await feedback.db.run(feedback.ready)
    headers = {"Cache-Control": "no-store"}
    return Response(
        f"{reason}\n", status_code=200 if ready else 503, media_type="text/plain", headers=headers
    )
