"""Synchronous scoring for the checkout."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.models import ProblemBody, ScoreIn, ScoreOut
from api.problems import Problem
from api.responses import OrjsonResponse
from api.security import Context, Credentials, caller
from desk import ApiRuntime, scoring

router = APIRouter(tags=["scoring"])


@router.post(
    "/api/score",
    response_model=ScoreOut,
    summary="Score one payment now, with the active rule set and the customer's state",
    responses={
        401: {"model": ProblemBody},
        403: {"model": ProblemBody},
        422: {"model": ProblemBody, "description": "the payment cannot be scored"},
        503: {"model": ProblemBody, "description": "dry_run false: the stream is unavailable"},
    },
)
async def score(body: ScoreIn, request: Request, credentials: Credentials, ctx: Context) -> Any:
    # The token check and the score in one worker thread: each hop costs the event loop
    # about as much as a database round trip.
    return await run_in_threadpool(_score, body, request, credentials, ctx)


def _score(body: ScoreIn, request: Request, credentials: Any, ctx: ApiRuntime) -> OrjsonResponse:
    who = caller(request, credentials)
    message = body.model_dump(exclude={"dry_run"})
    try:
        result = ctx.scorer.score(who, message, dry_run=body.dry_run)
    except scoring.BadPayment as exc:
        raise Problem(422, f"payment: {exc.detail}", reason=exc.reason) from None
    except scoring.StreamUnavailable as exc:
        raise Problem(503, str(exc)) from None
    v = result.verdict
    # ScoreOut's fields, serialized once (see api/responses.py).
    return OrjsonResponse(
        {
            "payment_id": v.payment_id,
            "score": v.score,
            "severity": v.severity,
            "is_alert": v.is_alert,
            "reasons": [r.to_dict() for r in v.reasons],
            "ruleset_version": v.ruleset_version,
            "known_customer": result.known_customer,
            "dry_run": body.dry_run,
            "recorded": result.recorded,
            "alert_id": result.alert_id,
        }
    )
