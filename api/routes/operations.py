"""A customer's timeline, the pipeline, Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response as RawResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.models import (
    ActiveRulesetOut,
    DeadLetterOut,
    PipelineOut,
    ProblemBody,
    TimelineEntryOut,
    TimelineOut,
)
from api.security import Caller, Context
from desk import customers, stream_health

router = APIRouter(tags=["operations"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemBody},
    403: {"model": ProblemBody},
}


@router.get(
    "/api/customers/{customer_id}/timeline",
    response_model=TimelineOut,
    summary="What one customer did: clicks, orders, payments, alerts, decisions",
    responses=_ERRORS,
)
def timeline(
    customer_id: str,
    who: Caller,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=customers.MAX_ENTRIES)] = 200,
) -> TimelineOut:
    t = customers.customer_timeline(ctx, who, customer_id, ctx.event_reader(), limit)
    return TimelineOut(
        customer_id=t.customer_id,
        entries=[TimelineEntryOut.model_validate(e) for e in t.entries],
        source=t.source,
        problem=t.problem,
    )


@router.get(
    "/api/pipeline",
    response_model=PipelineOut,
    summary="Lag per partition, throughput, dead letters, rule set, detector",
    responses=_ERRORS,
)
def pipeline(who: Caller, ctx: Context) -> PipelineOut:
    p = stream_health.pipeline_view(ctx, who, ctx.settings, ctx.throughput)
    return PipelineOut(
        mode=p.mode,
        consumer_group=p.consumer_group,
        committed=p.committed,
        lag=p.lag,
        events_per_s=p.events_per_s,
        dead_letters=p.dead_letters,
        recent_dead_letters=[DeadLetterOut.model_validate(d) for d in p.recent_dead_letters],
        ruleset=ActiveRulesetOut.model_validate(p.ruleset) if p.ruleset else None,
        detector_members=p.detector_members,
        problem=p.problem,
    )


@router.get(
    "/metrics", summary="Prometheus metrics of this API process", response_class=RawResponse
)
def metrics(request: Request) -> RawResponse:
    registry = request.app.state.metrics.registry
    return RawResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
