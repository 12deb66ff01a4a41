"""A customer's or a session's history as one time-ordered list, for the analyst.

Behavioural events come from an :class:`EventReader`: the MongoDB archive when one is
configured (``settings.mongo_url``, see :mod:`db.archive`), else the dataset file the embedded
detector replays (:class:`DatasetEvents`); :func:`event_reader_for` picks one.  Without either
the relational store has no clickstream, so the ``sessions`` rows stand in for it
(``session_start`` / ``session_end``).  Orders, payments, alerts and analyst decisions always
come from the relational store.  Every source returns its latest ``limit``
rows; the merge keeps the latest ``limit`` entries overall, oldest first.

Times are event times (the shop's clock), except for decisions, which happen when an analyst
takes them.  At equal times, entries sort as a story reads: clicks, then the payment, its
alert, and the decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from data_gen.readers import read_dataset
from db.archive import EventArchive
from db.models import Alert, AlertDecision, Order, PaymentRow, WebSession
from detector.common.settings import Settings

DEFAULT_LIMIT = 200
ORDER = "order"
PAYMENT = "payment"
ALERT = "alert"
DECISION = "decision"
SESSION_START = "session_start"
SESSION_END = "session_end"
# Rank at equal times; behavioural event types (page_view, add_to_cart, ...) rank 1.
_RANK = {SESSION_START: 0, ORDER: 2, PAYMENT: 3, ALERT: 4, DECISION: 5, SESSION_END: 6}
# Kinds the relational store provides; anything else is a behavioural (clickstream) event.
CONTEXT_KINDS = frozenset(_RANK)
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

    @property
    def is_behaviour(self) -> bool:
        return self.kind not in CONTEXT_KINDS

    @property
    def summary(self) -> str:
        """One line for a table: the detail's values, ids first."""
        d = self.detail
        parts = [str(d[k]) for k in ("alert_id", "payment_id", "order_id", "product_id") if k in d]
        if "amount" in d and isinstance(d["amount"], int | float) and d["amount"] == d["amount"]:
            parts.append(f"{d['amount']:.2f} {d.get('currency') or ''}".strip())
        for k in ("result", "score", "severity", "status", "action", "actor", "note", "device",
                  "country", "utm_source"):  # fmt: skip
            if k in d:
                parts.append(f"{k}={d[k]}")
        return " · ".join(parts)


class EventReader(Protocol):
    """Where behavioural events come from (:class:`db.archive.EventArchive`,
    :class:`DatasetEvents`)."""

    @property
    def source(self) -> str: ...

    def customer_events(self, customer_id: str, limit: int = ...) -> list[dict[str, Any]]: ...

    def session_events(self, session_id: str, limit: int = ...) -> list[dict[str, Any]]: ...


READ_TIMEOUT_MS = 1_500


def event_reader_for(settings: Settings, replay_dir: Path | None = None) -> EventReader | None:
    """The MongoDB archive when configured, else the dataset being replayed, else None."""
    if settings.mongo_url:
        return _archive(settings.mongo_url, settings.mongo_db)
    if replay_dir is not None and replay_dir.exists():
        return DatasetEvents(replay_dir)
    return None


@lru_cache(maxsize=2)
def _archive(url: str, db_name: str) -> EventArchive:
    # An analyst waits on this read: an archive that is down must not hold the alert detail
    # for the writers' 5 s (the relational part is shown with the error meanwhile).
    return EventArchive(url, db_name, timeout_ms=READ_TIMEOUT_MS)


@dataclass(frozen=True)
class DatasetEvents:
    """A dataset's events file as an :class:`EventReader` (read once per file version)."""

    path: Path
    source: str = "replayed dataset file"

    def customer_events(self, customer_id: str, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
        return list(self._index()[1].get(customer_id, ()))[-limit:]

    def session_events(self, session_id: str, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
        return list(self._index()[0].get(session_id, ()))[-limit:]

    def _index(self) -> tuple[dict[str, tuple[dict[str, Any], ...]], ...]:
        return _dataset_index(str(self.path), self.path.stat().st_mtime_ns)


@lru_cache(maxsize=2)
def _dataset_index(path: str, stamp: int) -> tuple[dict[str, tuple[dict[str, Any], ...]], ...]:
    """(events by session, events by customer), each oldest first."""
    cols = ["event_id", "session_id", "customer_id", "event_type", "event_timestamp",
            "product_id", "amount"]  # fmt: skip
    ev = read_dataset(path).events(columns=cols)
    by_session: dict[str, list[dict[str, Any]]] = {}
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for row in ev.itertuples(index=False):
        doc = {k: v for k, v in zip(cols, row, strict=True) if v is not None and v == v}
        doc["event_timestamp"] = row.event_timestamp.to_pydatetime()
        by_session.setdefault(row.session_id, []).append(doc)
        by_customer.setdefault(row.customer_id, []).append(doc)
    return (
        {k: tuple(v) for k, v in by_session.items()},
        {k: tuple(v) for k, v in by_customer.items()},
    )


@dataclass(frozen=True)
class DatasetPayments:
    """A dataset's payments file, by customer: a replayed dataset's payment history is
    readable at once, without loading the dataset into the ``payments`` table."""

    path: Path

    def customer_payments(self, customer_id: str) -> tuple[dict[str, Any], ...]:
        """The customer's payments, oldest first (attempt_ts as an aware datetime)."""
        return _payments_index(str(self.path), self.path.stat().st_mtime_ns).get(customer_id, ())


@lru_cache(maxsize=2)
def _payments_index(path: str, stamp: int) -> dict[str, tuple[dict[str, Any], ...]]:
    cols = ["payment_id", "customer_id", "attempt_ts", "amount", "currency", "method", "result",
            "payment_country", "device"]  # fmt: skip
    pay = read_dataset(path).payments
    frame = pay[cols].copy()
    frame["attempt_ts"] = pd.to_datetime(frame["attempt_ts"], utc=True)
    frame = frame.sort_values(["attempt_ts", "payment_id"], kind="stable")
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.itertuples(index=False):
        doc = {k: (v if v == v and v != "" else None) for k, v in zip(cols, row, strict=True)}
        doc["attempt_ts"] = row.attempt_ts.to_pydatetime()
        out.setdefault(str(row.customer_id), []).append(doc)
    return {k: tuple(v) for k, v in out.items()}


def customer_timeline(
    customer_id: str,
    *,
    sessions_factory: Callable[[], Session],
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
        order_filter=Order.customer_id == customer_id,
    )


def session_timeline(
    session_id: str,
    *,
    sessions_factory: Callable[[], Session],
    archive: EventReader | None = None,
    limit: int = DEFAULT_LIMIT,
    dataset: str | None = None,
) -> list[TimelineEntry]:
    """The session's latest ``limit`` entries, oldest first; with ``dataset``, only that
    dataset's alerts (two datasets may both have a session of this id)."""
    alert_filter = Alert.session_id == session_id
    if dataset is not None:
        alert_filter = and_(alert_filter, Alert.dataset == dataset)
    return _timeline(
        sessions_factory,
        limit,
        events=(lambda: archive.session_events(session_id, limit)) if archive else None,
        payment_filter=PaymentRow.session_id == session_id,
        alert_filter=alert_filter,
        session_filter=WebSession.session_id == session_id,
        order_filter=Order.session_id == session_id,
    )


def _timeline(
    sessions_factory: Callable[[], Session],
    limit: int,
    *,
    events: Callable[[], list[dict[str, Any]]] | None,
    payment_filter: ColumnElement[bool],
    alert_filter: ColumnElement[bool],
    session_filter: ColumnElement[bool],
    order_filter: ColumnElement[bool],
) -> list[TimelineEntry]:
    if limit < 1:
        return []
    entries: list[TimelineEntry] = []
    if events is not None:
        entries.extend(_event_entry(doc) for doc in events())
    with sessions_factory() as session:
        if events is None:
            entries.extend(_session_entries(session, session_filter, limit))
        entries.extend(_order_entries(session, order_filter, limit))
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


def _order_entries(session: Session, where: ColumnElement[bool], limit: int) -> list[TimelineEntry]:
    rows = session.scalars(select(Order).where(where).order_by(Order.order_ts.desc()).limit(limit))
    return [
        TimelineEntry(
            o.order_ts,
            ORDER,
            o.session_id,
            _present(
                order_id=o.order_id, amount=o.total_amount, currency=o.currency, status=o.status
            ),
        )
        for o in rows
    ]


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
