"""Liveness, readiness and who am I."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.models import Check, Liveness, Me, Readiness
from api.security import Caller, Context
from desk import pipeline, stream_health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Liveness, summary="Liveness: the process answers")
def health() -> Liveness:
    return Liveness(status="ok")


@router.get(
    "/ready",
    response_model=Readiness,
    summary="Readiness: database, broker and detector",
    responses={503: {"model": Readiness, "description": "a dependency is not ready"}},
)
def ready(ctx: Context) -> JSONResponse:
    h = pipeline.health(ctx.settings, ctx.engine, detector_alive=False)
    if ctx.settings.embedded:
        detector = Check(ok=None, detail="embedded mode: no stream detector to wait for")
    else:
        members = stream_health.detector_members(ctx.settings)
        detector = Check(
            ok=bool(members),
            detail=f"{members} consumer(s) in group {ctx.settings.consumer_group!r}"
            if members is not None
            else "the broker did not describe the detector's consumer group",
        )
    body = Readiness(
        ready=h.database_ok and h.broker_ok is not False and detector.ok is not False,
        database=Check(ok=h.database_ok, detail=h.database_error),
        broker=Check(ok=h.broker_ok, detail=h.broker_error),
        detector=detector,
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)


@router.get("/api/me", response_model=Me, summary="The account the token acts as")
def me(who: Caller) -> Me:
    return Me(username=who.username, role=who.role)
