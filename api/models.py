"""Request and response bodies (Pydantic v2).  Requests refuse unknown fields, so a typo in
a field name is a 422 naming it rather than a silently ignored value."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProblemBody(Response):
    """RFC 9457 problem details."""

    type: str = Field("about:blank", examples=["about:blank"])
    title: str = Field(examples=["Conflict"])
    status: int = Field(examples=[409])
    detail: str = Field(examples=["alert 'ALT-PAY00000042' was decided meanwhile by bob"])


class Liveness(Response):
    status: str = Field(examples=["ok"])


class Check(Response):
    ok: bool | None = Field(description="None: not configured (embedded mode has no broker)")
    detail: str = Field("", examples=["", "cannot reach Kafka at 127.0.0.1:9092 within 2s"])


class Readiness(Response):
    ready: bool = Field(examples=[True])
    database: Check
    broker: Check
    detector: Check


class Me(Response):
    username: str = Field(examples=["checkout-eu"])
    role: str = Field(examples=["analyst"])


# --------------------------------------------------------------------------- alerts

Action = Literal["approve", "block", "investigate"]
Status = Literal["PENDING_REVIEW", "INVESTIGATING", "APPROVED", "BLOCKED"]
Severity = Literal["LOW", "MEDIUM", "HIGH"]
Sort = Literal["score_desc", "score_asc", "time_desc", "time_asc"]

_ALERT_ID = Field(examples=["ALT-PAY00000042"])
_DATASET = Field(
    examples=["live"],
    description="where the alert comes from: live (the Kafka topics), a replayed dataset's "
    "name, or ? for alerts written before alerts named their dataset",
)


class AlertSummary(Response):
    alert_id: str = _ALERT_ID
    event_ts: datetime
    customer_id: str = Field(examples=["C00017"])
    amount: float = Field(examples=[412.0])
    currency: str | None = Field(examples=["EUR"])
    score: int = Field(examples=[95])
    severity: Severity
    status: Status
    rule_ids: list[str] = Field(examples=[["VELOCITY_HIGH", "NEW_DEVICE", "PAYMENT_FAILED"]])
    country: str | None = Field(examples=["FR"])
    device: str | None = Field(examples=["mobile"])
    device_id: str | None = Field(examples=["D0042"])
    decided_by: str | None = Field(examples=[None])
    row_version: int = Field(examples=[1], description="the version to send in If-Match")
    dataset: str = _DATASET


class DatasetOut(Response):
    name: str = Field(examples=["live"], description="the value of the alerts' dataset filter")
    alerts: int = Field(examples=[1583])
    last_alert_at: datetime | None = Field(description="when its newest alert was written")


class Counts(Response):
    matching: int = Field(description="alerts matching the filters", examples=[1234])
    capped: bool = Field(
        description="more than 10,000 match a rule/score/date/customer filter: `matching` "
        "reads 10,001 (narrow the filter for an exact count)"
    )
    total_alerts: int = Field(examples=[20817])
    high: int = Field(examples=[4211])
    pending: int = Field(examples=[18002])
    payments_scored: int = Field(examples=[761234])
    alert_rate: float | None = Field(
        description="alerts / payments scored, in [0, 1]; null when no payment count is known",
        examples=[0.027],
    )


class AlertPage(Response):
    items: list[AlertSummary]
    next: str | None = Field(
        description="cursor of the next page (pass it as `cursor` with the same filters and "
        "sort); null on the last page",
        examples=["eyJxIjoiNmQ…"],
    )
    counts: Counts


class ReasonOut(Response):
    rule_id: str = Field(examples=["VELOCITY_HIGH"])
    points: int = Field(examples=[45])
    values: dict[str, Any] = Field(examples=[{"payments": 3, "span_min": 6.0}])
    detail_en: str = Field(examples=["3 payments in 6.0 min"])
    detail_fr: str = Field(examples=["3 paiements en 6.0 min"])


class DecisionOut(Response):
    at: datetime
    actor: str = Field(examples=["alice"])
    action: str = Field(examples=["BLOCK"], description="APPROVE, BLOCK, INVESTIGATE or CONFLICT")
    from_status: str | None = Field(examples=["PENDING_REVIEW"])
    to_status: str | None = Field(examples=["BLOCKED"])
    note: str | None = Field(examples=["card reported stolen"])


class AlertDetail(Response):
    alert_id: str = _ALERT_ID
    payment_id: str = Field(examples=["PAY00000042"])
    event_ts: datetime
    alert_ts: datetime
    customer_id: str
    session_id: str | None
    device: str | None
    device_id: str | None
    utm_source: str | None
    country: str | None
    unknown_customer: bool | None = Field(
        description="true: the shop's customer reference did not list this customer when the "
        "payment was scored (scored as a new customer); false: it did, or it lists nobody; "
        "null: not checked (alerts from before this field, the Flink job)",
        examples=[False],
    )
    amount: float
    currency: str | None
    score: int
    severity: Severity
    ruleset_version: str = Field(examples=["3"])
    dataset: str = _DATASET
    status: Status
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    notes: str | None
    row_version: int = Field(description="also the ETag; send it back in If-Match")
    created_at: datetime
    updated_at: datetime
    reasons: list[ReasonOut]
    decisions: list[DecisionOut] = Field(description="oldest first, lost races included")


_NOTE = Field(None, max_length=2000, examples=["customer confirmed by phone"])


class DecisionIn(Request):
    action: Action = Field(examples=["block"])
    note: str | None = _NOTE


class BulkItem(Request):
    # A dataset's alert ids name it: "ALT:" + payment id (64) + "@" + dataset name (80).
    alert_id: str = Field(max_length=160, examples=["ALT-PAY00000042"])
    row_version: int | None = Field(
        None, ge=1, description="the version you saw; null: whatever it is now"
    )


class BulkIn(Request):
    """Exactly one of `alerts`, `customer_id`, `device_id`."""

    action: Action
    note: str | None = _NOTE
    alerts: list[BulkItem] | None = Field(None, max_length=5000)
    customer_id: str | None = Field(None, max_length=128, examples=["C00017"])
    device_id: str | None = Field(None, max_length=128, examples=[None])

    @model_validator(mode="after")
    def _one_target(self) -> BulkIn:
        given = [n for n in ("alerts", "customer_id", "device_id") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of alerts, customer_id or device_id"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class ConflictOut(Response):
    alert_id: str
    status: str = Field(description="the status now", examples=["APPROVED"])
    winner: str = Field(description="who decided meanwhile", examples=["bob"])


class BulkOut(Response):
    action: str = Field(examples=["BLOCK"])
    updated: list[str]
    conflicts: list[ConflictOut]
    missing: list[str]
    errors: list[str]


# --------------------------------------------------------------------------- stats


class Stats(Response):
    total_alerts: int = Field(examples=[20817])
    high: int = Field(examples=[4211])
    pending: int = Field(examples=[18002])
    payments_scored: int = Field(examples=[761234])
    alert_rate: float | None = Field(description="alerts / payments scored, never above 1")
    by_severity: dict[str, int] = Field(examples=[{"HIGH": 4211, "MEDIUM": 16606}])
    by_status: dict[str, int] = Field(examples=[{"PENDING_REVIEW": 18002, "BLOCKED": 2815}])
    by_rule: dict[str, int] = Field(examples=[{"VELOCITY_HIGH": 3120, "NEW_DEVICE": 9021}])
    by_day: dict[str, int] = Field(examples=[{"2025-11-20": 311, "2025-11-21": 298}])


# --------------------------------------------------------------------------- scoring

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"


class ScoreIn(Request):
    """One payment, in the payments topic's own format (`detector/codec.py`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "payment_id": "PAY-CHK-000123",
                    "customer_id": "C00017",
                    "session_id": "S-8812",
                    "attempt_ts": "2026-01-05T03:12:09.000Z",
                    "amount": 412.0,
                    "currency": "EUR",
                    "result": "success",
                    "device": "mobile",
                    "device_id": "D0042",
                    "utm_source": "direct",
                    "payment_country": "FR",
                    "method": "card",
                    "customer_country": "FR",
                    "customer_tz": "Europe/Paris",
                    "customer_signup_ts": "2026-01-04T21:00:00.000Z",
                    "dry_run": True,
                }
            ]
        },
    )

    payment_id: str = Field(pattern=_ID)
    customer_id: str = Field(pattern=_ID)
    session_id: str | None = Field(None, pattern=_ID)
    attempt_ts: str = Field(max_length=40, description="ISO-8601; UTC when no zone is given")
    amount: float = Field(gt=0, le=100_000)
    currency: str = Field("EUR", max_length=8)
    result: Literal["success", "failed"] = "success"
    device: str | None = Field(None, max_length=32)
    device_id: str | None = Field(None, pattern=_ID)
    utm_source: str | None = Field(None, max_length=200)
    payment_country: str | None = Field(None, max_length=2)
    method: str | None = Field(None, max_length=32)
    customer_country: str | None = Field(None, max_length=2)
    customer_tz: str | None = Field(None, max_length=64)
    customer_signup_ts: str | None = Field(None, max_length=40)
    dry_run: bool = Field(
        True,
        description="true: score only, nothing is written; false: also hand the payment to "
        "the stream, so the detector records it (state, alert) like any other payment",
    )


class ScoreOut(Response):
    payment_id: str = Field(examples=["PAY-CHK-000123"])
    score: int = Field(examples=[95])
    severity: str = Field(examples=["HIGH"])
    is_alert: bool = Field(examples=[True])
    reasons: list[ReasonOut]
    ruleset_version: str = Field(examples=["3"])
    known_customer: bool = Field(description="the detector has seen this customer before")
    dry_run: bool
    recorded: bool = Field(description="handed to the stream (dry_run false)")
    alert_id: str | None = Field(
        description="the alert this payment raises (or already raised); null when none",
        examples=["ALT-PAY-CHK-000123"],
    )


# --------------------------------------------------------------------------- rule sets


class RulesetInfoOut(Response):
    version: int = Field(examples=[3])
    label: str = Field(examples=["tuning"])
    fingerprint: str = Field(examples=["9f2c…"])
    author: str = Field(examples=["rose"])
    note: str = Field(examples=["fewer night alerts"])
    created_at: datetime
    active: bool


class RulesetOut(RulesetInfoOut):
    body: dict[str, Any] = Field(description="the rule set, as a rule file holds it")


class PublishIn(Request):
    ruleset: dict[str, Any] = Field(
        description="a rule set as in a rule file; anything left out keeps its default",
        examples=[
            {
                "alert_threshold": 60,
                "high_threshold": 85,
                "rules": {
                    "VELOCITY_HIGH": {"points": 45, "params": {"window_minutes": 15}},
                    "MOBILE_DEVICE": {"enabled": False},
                },
            }
        ],
    )
    note: str = Field("", max_length=500, examples=["fewer mobile alerts"])


class RollbackIn(Request):
    note: str = Field("", max_length=500, examples=["v4 doubled the alert rate"])


class Published(Response):
    version: int = Field(examples=[5], description="the new active version")


# --------------------------------------------------------------------------- customers


class TimelineEntryOut(Response):
    ts: datetime
    kind: str = Field(examples=["payment"], description="event type, payment, alert, decision…")
    session_id: str | None
    detail: dict[str, Any]


class TimelineOut(Response):
    customer_id: str
    entries: list[TimelineEntryOut] = Field(description="oldest first")
    source: str = Field(description="where behavioural events were looked for")
    problem: str = Field(description="why that source gave nothing; empty when it answered")


# --------------------------------------------------------------------------- pipeline


class DeadLetterOut(Response):
    id: int
    received_at: datetime
    source_topic: str
    partition: int
    offset: int
    reason: str = Field(examples=["invalid_json"])
    detail: str
    payload: str


class ActiveRulesetOut(Response):
    version: int
    label: str
    author: str
    created_at: datetime
    fingerprint: str


class PipelineOut(Response):
    mode: str = Field(examples=["kafka"], description="kafka or embedded")
    consumer_group: str = Field(examples=["fraud-detector"])
    committed: dict[str, int] = Field(examples=[{"payments[0]": 2534}])
    lag: dict[str, int] | None = Field(examples=[{"payments[0]": 0}])
    events_per_s: float | None = Field(
        description="offsets consumed per second since the last call"
    )
    dead_letters: int
    recent_dead_letters: list[DeadLetterOut]
    ruleset: ActiveRulesetOut | None
    detector_members: int | None = Field(description="consumers in the detector's group")
    problem: str
