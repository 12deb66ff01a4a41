"""The alert queue: list (filters, sort, cursor, counts), one alert, decisions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.models import (
    AlertDetail,
    AlertPage,
    BulkIn,
    BulkOut,
    ConflictOut,
    DatasetOut,
    DecisionIn,
    DecisionOut,
    ProblemBody,
    ReasonOut,
    Severity,
    Sort,
    Status,
)
from api.problems import Problem
from api.responses import OrjsonResponse
from api.security import Caller, Context, Credentials, caller
from desk import RULE_IDS, ApiRuntime, DbError
from desk import alert_feed as feed
from desk import queue as q

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemBody, "description": "no valid token"},
    403: {"model": ProblemBody, "description": "the account's role may not do this"},
}


def _list(values: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(v for v in values or () if v)


class AlertQuery(BaseModel):
    """The list's query parameters, declared once (FastAPI reads them into this model)."""

    status: list[Status] = Field(default_factory=list, description="any of these")
    severity: list[Severity] = Field(default_factory=list)
    rule: list[str] = Field(default_factory=list, description=f"any of {', '.join(RULE_IDS)}")
    score_min: int | None = Field(None, ge=0, le=10_000)
    score_max: int | None = Field(None, ge=0, le=10_000)
    since: datetime | None = Field(None, alias="from", description="event time >=")
    until: datetime | None = Field(None, alias="to", description="event time <")
    customer: str | None = Field(None, max_length=128)
    country: list[str] = Field(default_factory=list)
    device: list[str] = Field(default_factory=list)
    dataset: list[str] = Field(
        default_factory=list,
        description="any of these: a replayed dataset's name, or live for the Kafka topics' "
        "alerts (GET /api/alerts/datasets lists them)",
    )
    sort: Sort = "score_desc"
    cursor: str | None = Field(None, max_length=512)
    limit: int = Field(q.PAGE_SIZE, ge=1, le=feed.MAX_LIMIT)

    def filters(self) -> feed.AlertFilters:
        for name, value in (("from", self.since), ("to", self.until)):
            if value is not None and value.tzinfo is None:
                raise Problem(400, f"{name}: give a time zone (e.g. 2026-01-05T00:00:00Z)")
        return feed.AlertFilters(
            status=_list(self.status),
            severity=_list(self.severity),
            rule_ids=_list(self.rule),
            score_min=self.score_min,
            score_max=self.score_max,
            event_from=self.since,
            event_to=self.until,
            customer_id=(self.customer or "").strip() or None,
            country=_list(self.country),
            device=_list(self.device),
            dataset=_list(self.dataset),
        )


@router.get(
    "",
    response_model=AlertPage,
    summary="Alerts, filtered and sorted, a page at a time",
    responses={**_ERRORS, 400: {"model": ProblemBody, "description": "bad cursor"}},
)
async def list_alerts(
    request: Request,
    credentials: Credentials,
    ctx: Context,
    query: Annotated[AlertQuery, Query()],
) -> Any:
    # The token check and the page in one worker thread (one hop instead of two).
    return await run_in_threadpool(_list_alerts, request, credentials, ctx, query)


def _list_alerts(
    request: Request, credentials: Any, ctx: ApiRuntime, query: AlertQuery
) -> OrjsonResponse:
    who = caller(request, credentials)
    try:
        filters = query.filters()
        # One page and the header: reads that need no transaction.
        page = feed.alert_list(
            ctx, who, filters, query.sort, query.cursor, query.limit, ctx.payments
        )
    except DbError as exc:
        raise Problem(400, str(exc)) from None
    h = page.header
    # AlertPage's fields, serialized once (see api/responses.py): the rows are
    # desk.queue.AlertSummary dataclasses, field for field the API's AlertSummary.
    return OrjsonResponse(
        {
            "items": page.rows,
            "next": page.next_cursor,
            "counts": {
                "matching": page.matching,
                "capped": page.capped,
                "total_alerts": h.total_alerts,
                "high": h.high,
                "pending": h.pending,
                "payments_scored": h.payments_scored,
                "alert_rate": h.alert_rate,
            },
        }
    )


def _detail(d: q.AlertDetail) -> AlertDetail:
    return AlertDetail(
        **d.fields,
        reasons=[ReasonOut.model_validate(r) for r in d.reasons],
        decisions=[DecisionOut.model_validate(x) for x in d.decisions],
    )


def _etag(version: int) -> str:
    return f'"{version}"'


@router.get(
    "/datasets",
    response_model=list[DatasetOut],
    summary="The datasets that have alerts: live first, then the most recently scored",
    responses=_ERRORS,
)
def list_datasets(who: Caller, ctx: Context) -> list[DatasetOut]:
    return [DatasetOut.model_validate(d) for d in feed.alert_datasets(ctx, who)]


@router.get(
    "/{alert_id}",
    response_model=AlertDetail,
    summary="One alert, every field",
    responses={**_ERRORS, 404: {"model": ProblemBody}},
)
def get_alert(alert_id: str, who: Caller, ctx: Context, response: Response) -> AlertDetail:
    d = feed.read_alert(ctx, who, alert_id)
    if d is None:
        raise Problem(404, f"alert {alert_id[:80]!r} not found")
    response.headers["ETag"] = _etag(d.row_version)
    return _detail(d)


def _if_match(value: str | None) -> int | None:
    """The row version an If-Match names; None for ``*`` (any version)."""
    if value is None:
        raise Problem(
            428,
            "If-Match is required: send the ETag of the alert you decided on "
            '(If-Match: "3"), or * to decide whatever it is now',
        )
    text = value.strip()
    if text == "*":
        return None
    text = text.removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 9:
        raise Problem(400, f'If-Match: expected an ETag such as "3", got {value[:40]!r}')
    return int(text)


@router.post(
    "/{alert_id}/decision",
    response_model=AlertDetail,
    summary="Approve, block or investigate one alert (If-Match: its ETag)",
    responses={
        **_ERRORS,
        404: {"model": ProblemBody},
        409: {"model": ProblemBody, "description": "decided meanwhile: `winner` says by whom"},
        428: {"model": ProblemBody, "description": "If-Match missing"},
    },
)
def decide(
    alert_id: str,
    body: DecisionIn,
    who: Caller,
    ctx: Context,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> AlertDetail:
    version = _if_match(if_match)
    result = feed.decide_one(
        ctx,
        who,
        alert_id,
        feed.to_action(body.action),
        version,
        body.note,
    )
    if result.missing:
        raise Problem(404, f"alert {alert_id[:80]!r} not found")
    if result.conflicts:
        c = result.conflicts[0]
        raise Problem(
            409,
            f"alert {alert_id!r} was decided meanwhile by {c.actor} (status now {c.status}); "
            "nothing was changed: read it again and decide on what you see",
            winner=c.actor,
            status_now=c.status,
        )
    if result.errors:
        raise Problem(500, "the decision could not be stored; nothing was changed")
    d = feed.read_alert(ctx, who, alert_id)
    assert d is not None
    response.headers["ETag"] = _etag(d.row_version)
    return _detail(d)


@router.post(
    "/decisions",
    response_model=BulkOut,
    summary="Decide many: a list of alerts, or every open alert of a customer or device",
    responses=_ERRORS,
)
def decide_bulk(body: BulkIn, who: Caller, ctx: Context) -> BulkOut:
    action = feed.to_action(body.action)
    try:
        if body.alerts:
            seen = [(a.alert_id, a.row_version) for a in body.alerts]
            result = feed.decide_ids(ctx, who, seen, action, body.note)
        else:
            result = q.decide_open_of(
                ctx,
                action,
                who,
                body.note,
                customer_id=body.customer_id,
                device_id=body.device_id,
            )
    except DbError as exc:
        raise Problem(400, str(exc)) from None
    return BulkOut(
        action=result.action,
        updated=list(result.updated),
        conflicts=[
            ConflictOut(alert_id=c.alert_id, status=c.status, winner=c.actor)
            for c in result.conflicts
        ],
        missing=list(result.missing),
        errors=list(result.errors),
    )
