"""Synchronous scoring for the checkout."""

from __future__ import annotations

from fastapi import APIRouter

from api.models import ProblemBody, ReasonOut, ScoreIn, ScoreOut
from api.problems import Problem
from api.security import Caller, Context
from desk import scoring

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
def score(body: ScoreIn, who: Caller, ctx: Context) -> ScoreOut:
    message = body.model_dump(exclude={"dry_run"})
    try:
        result = ctx.scorer.score(who, message, dry_run=body.dry_run)
    except scoring.BadPayment as exc:
        raise Problem(422, f"payment: {exc.detail}", reason=exc.reason) from None
    except scoring.StreamUnavailable as exc:
        raise Problem(503, str(exc)) from None
    v = result.verdict
    alert_id = result.existing_alert or (f"ALT-{v.payment_id}" if v.is_alert else None)
    return ScoreOut(
        payment_id=v.payment_id,
        score=v.score,
        severity=v.severity,
        is_alert=v.is_alert,
        reasons=[ReasonOut.model_validate(r.to_dict()) for r in v.reasons],
        ruleset_version=v.ruleset_version,
        known_customer=result.known_customer,
        dry_run=body.dry_run,
        recorded=result.recorded,
        alert_id=alert_id,
    )
