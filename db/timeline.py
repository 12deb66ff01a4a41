"""A customer's or a session's history as one time-ordered list, for the analyst.

Behavioural events come from the MongoDB archive when one is configured (``settings.mongo_url``,
see :mod:`db.archive`); without it the relational store has no clickstream, so the ``sessions``
rows stand in for it (``session_start`` / ``session_end``).  Payments, alerts and analyst
decisions always come from the relational store.  Every source returns its latest ``limit``
rows; the merge keeps the latest ``limit`` entries overall, oldest first.

Times are event times (the shop's clock), except for decisions, which happen when an analyst
takes them.  At equal times, entries sort as a story reads: clicks, then the payment, its
alert, and the decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Alert, AlertDecision, PaymentRow, WebSession

DEFAULT_LIMIT = 200
PAYMENT = "payment"
ALERT = "alert"
DECISION = "decision"
SESSION_START = "session_start"
SESSION_END = "session_end"
# Rank at equal times; behavioural event types (page_view, add_to_cart, ...) rank 1.
_RANK = {SESSION_START: 0, PAYMENT: 2, ALERT: 3, DECISION: 4, SESSION_END: 5}
_EVENT_DETAIL = (
    "event_id",
    "product_id",
    "amount",
    "payment_id",
    "order_id",
    "device",
    "device_id",
    "country",
    "utm_source",
)


@dataclass(frozen=True)
class TimelineEntry:
    ts: datetime
    kind: str  # a behavioural event type, or payment, alert, decision, session_start/_end
    session_id: str | None
    detail: dict[str, Any]

    @property
    def order_key(self) -> tuple[datetime, int, str]:
        return (self.ts, _RANK.get(self.kind, 1), _tiebreak(self))


class EventReader(Protocol):
    """What the timeline needs from an archive (:class:`db.archive.EventArchive` has it)."""

    def customer_events(self, customer_id: str, limit: int = ...) -> list[dict[str, Any]]: ...

    def session_events(self, session_id: str, limit: int = ...) -> list[dict[str, Any]]: ...


def customer_timeline(
    customer_id: str,
    *,
    sessions_factory: sessionmaker[Session],
    archive: EventReader | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[TimelineEntry]:
    """The customer's latest ``limit`` entries, oldest first."""
    return _timeline(
        sessions_factory,
        limit,
        events=(lambda: archive.customer_events(customer_id, limit)) if archive else None,
        payment_filter=PaymentRow.customer_id == customer_id,
        alert_filter=Alert.customer_id == customer_id,
        session_filter=WebSession.customer_id == customer_id,
    )


def session_timeline(
    session_id: str,
    *,
    sessions_factory: sessionmaker[Session],
    archive: EventReader | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[TimelineEntry]:
    """The session's latest ``limit`` entries, oldest first."""
    return _timeline(
        sessions_factory,
        limit,
        events=(lambda: archive.session_events(session_id, limit)) if archive else None,
        payment_filter=PaymentRow.session_id == session_id,
        alert_filter=Alert.session_id == session_id,
        session_filter=WebSession.session_id == session_id,
    )


def _timeline(
    sessions_factory: sessionmaker[Session],
    limit: int,
    *,
    events: Callable[[], list[dict[str, Any]]] | None,
    payment_filter: ColumnElement[bool],
    alert_filter: ColumnElement[bool],
    session_filter: ColumnElement[bool],
) -> list[TimelineEntry]:
    if limit < 1:
        return []
    entries: list[TimelineEntry] = []
    if events is not None:
        entries.extend(_event_entry(doc) for doc in events())
    with sessions_factory() as session:
        if events is None:
            entries.extend(_session_entries(session, session_filter, limit))
        entries.extend(_payment_entries(session, payment_filter, limit))
        entries.extend(_alert_entries(session, alert_filter, limit))
    entries.sort(key=lambda e: e.order_key)
    return entries[-limit:]


# --------------------------------------------------------------------------- sources


def _event_entry(doc: dict[str, Any]) -> TimelineEntry:
    detail = {k: doc[k] for k in _EVENT_DETAIL if doc.get(k) is not None}
    return TimelineEntry(doc["event_timestamp"], doc["event_type"], doc.get("session_id"), detail)


def _session_entries(
    session: Session, where: ColumnElement[bool], limit: int
) -> list[TimelineEntry]:
    rows = session.scalars(
        select(WebSession).where(where).order_by(WebSession.start_ts.desc()).limit(limit)
    )
    out = []
    for ws in rows:
        detail = _present(
            device=ws.device,
            device_id=ws.device_id,
            country=ws.country,
            utm_source=ws.utm_source,
            utm_campaign=ws.utm_campaign,
        )
        out.append(TimelineEntry(ws.start_ts, SESSION_START, ws.session_id, detail))
        if ws.end_ts is not None:
            out.append(TimelineEntry(ws.end_ts, SESSION_END, ws.session_id, {}))
    return out


def _payment_entries(
    session: Session, where: ColumnElement[bool], limit: int
) -> list[TimelineEntry]:
    rows = session.scalars(
        select(PaymentRow).where(where).order_by(PaymentRow.attempt_ts.desc()).limit(limit)
    )
    return [
        TimelineEntry(
            p.attempt_ts,
            PAYMENT,
            p.session_id,
            _present(
                payment_id=p.payment_id,
                amount=p.amount,
                currency=p.currency,
                result=p.result,
                decline_reason=p.decline_reason,
                method=p.method,
                device=p.device,
                payment_country=p.payment_country,
                order_id=p.order_id,
            ),
        )
        for p in rows
    ]


def _alert_entries(session: Session, where: ColumnElement[bool], limit: int) -> list[TimelineEntry]:
    alerts = list(
        session.scalars(select(Alert).where(where).order_by(Alert.event_ts.desc()).limit(limit))
    )
    out = [
        TimelineEntry(
            a.event_ts,
            ALERT,
            a.session_id,
            _present(
                alert_id=a.alert_id,
                payment_id=a.payment_id,
                score=a.score,
                severity=a.severity,
                status=a.status,
                amount=a.amount,
                rules=[r.get("rule_id") for r in a.reasons or ()],
            ),
        )
        for a in alerts
    ]
    if not alerts:
        return out
    session_of = {a.alert_id: a.session_id for a in alerts}
    decisions = session.scalars(
        select(AlertDecision)
        .where(AlertDecision.alert_id.in_(session_of))
        .order_by(AlertDecision.at.desc(), AlertDecision.id.desc())
        .limit(limit)
    )
    out.extend(
        TimelineEntry(
            d.at,
            DECISION,
            session_of[d.alert_id],
            _present(
                alert_id=d.alert_id,
                action=d.action,
                from_status=d.from_status,
                to_status=d.to_status,
                actor=d.actor,
                note=d.note,
                decision_id=d.id,
            ),
        )
        for d in decisions
    )
    return out


def _present(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != ""}


def _tiebreak(entry: TimelineEntry) -> str:
    d = entry.detail
    key = d.get("event_id") or d.get("payment_id") or d.get("alert_id") or entry.session_id
    if entry.kind == DECISION:
        return f"{key}:{d.get('decision_id', 0):012d}"
    return str(key or "")
