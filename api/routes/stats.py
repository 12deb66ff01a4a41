"""The queue's figures and counts by severity, status, rule and day."""

from __future__ import annotations

from fastapi import APIRouter

from api.models import ProblemBody, Stats
from api.security import Caller, Context
from desk import alert_feed as feed

router = APIRouter(tags=["alerts"])


@router.get(
    "/api/stats",
    response_model=Stats,
    summary="Queue figures and counts",
    responses={401: {"model": ProblemBody}, 403: {"model": ProblemBody}},
)
def stats(who: Caller, ctx: Context) -> Stats:
    s = feed.stats(ctx, who, ctx.payments)
    h = s.header
    return Stats(
        total_alerts=h.total_alerts,
        high=h.high,
        pending=h.pending,
        payments_scored=h.payments_scored,
        alert_rate=h.alert_rate,
        by_severity=s.by_severity,
        by_status=s.by_status,
        by_rule=s.by_rule,
        by_day=s.by_day,
    )
