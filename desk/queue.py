"""The alert queue page's service layer: header numbers, one filtered page, one alert's detail,
the customer's history, the session timeline and the analyst actions.  No Streamlit here.

Everything the analyst acts on is named by **alert id** and carries the ``row_version`` the
analyst saw, so a decision taken meanwhile by someone else is reported as a conflict and
never overwritten (see :func:`db.alerts.decide`).  Actions take the signed-in
:class:`~desk.auth.Principal`; the decision is recorded under its account name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from db import alerts, timeline
from db.alerts import count_decided, versions_of
from db.archive import ArchiveError
from db.errors import AlertNotFound, DbError, DecisionConflict
from db.models import LIVE_DATASET, Alert, AlertDecision, PaymentRow
from db.timeline import DatasetPayments, EventReader, TimelineEntry
from desk import datasets
from desk.auth import Permission, Principal, authorize
from desk.handle import Handle
from desk.runtime import Runtime

log = logging.getLogger(__name__)

PAGE_SIZE = 50
# Filters the overview cannot count (rule, score, dates, customer) are counted up to here: an
# exact count of a broad filter over millions of alerts is a full join, for a number nobody
# pages through.  Simple filters (status, severity, country, device) stay exact.
COUNT_CAP = 10_000
HISTORY_LIMIT = 50
OPEN_STATUSES: tuple[str, ...] = ("PENDING_REVIEW", "INVESTIGATING")
MAX_BULK = 5000  # one click never decides more than this many alerts


# --------------------------------------------------------------------------- header


@dataclass(frozen=True)
class QueueStats:
    total_alerts: int
    high: int
    pending: int
    payments_scored: int
    payments_known: bool  # False: neither the detector nor the payments table knows

    @property
    def alert_rate(self) -> float | None:
        """Alerts / payments scored, in [0, 1]; None when no payment count is known."""
        if not self.payments_known or self.payments_scored <= 0:
            return None
        return min(1.0, self.total_alerts / self.payments_scored)


def payments_scored(status_payments_total: int, payments_rows: int, total_alerts: int) -> int:
    """The denominator of the alert rate.

    The detector's ``payments_total`` counts payments scored since this process started; the
    ``payments`` table counts a loaded dataset's payments.  Either may under-count (a restart
    resets the first; a replay does not fill the second), so take the larger.  Every alert is
    a scored payment, so the number of alerts is a floor too: the rate never exceeds 100 %.
    """
    return max(status_payments_total, payments_rows, total_alerts)


@dataclass(frozen=True)
class Overview:
    """Alert counts per (status, severity, country, device): one grouped scan of the alerts
    table gives the header cards, the country/device filter options and, for filters on
    those four columns only, the matching count.  Hashable, so it can be cached."""

    groups: tuple[tuple[str, str, str | None, str | None, int], ...]
    dataset: tuple[str, ...] = ()  # the datasets counted (empty: every alert)

    @property
    def total(self) -> int:
        return sum(g[4] for g in self.groups)

    @property
    def high(self) -> int:
        return sum(g[4] for g in self.groups if g[1] == "HIGH")

    @property
    def pending(self) -> int:
        return sum(g[4] for g in self.groups if g[0] == "PENDING_REVIEW")

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(sorted({g[2] for g in self.groups if g[2] is not None}))

    @property
    def devices(self) -> tuple[str, ...]:
        return tuple(sorted({g[3] for g in self.groups if g[3] is not None}))

    def matching(self, f: alerts.AlertFilters) -> int | None:
        """The number of alerts matching ``f``, or None when ``f`` filters on anything but
        status, severity, country and device (then the database must count)."""
        if (
            f.rule_ids
            or f.score_min is not None
            or f.score_max is not None
            or f.event_from is not None
            or f.event_to is not None
            or f.customer_id
            or f.dataset != self.dataset
        ):
            return None
        return sum(
            n
            for status, sev, country, device, n in self.groups
            if (not f.status or status in f.status)
            and (not f.severity or sev in f.severity)
            and (not f.country or country in f.country)
            and (not f.device or device in f.device)
        )


def overview(session: Session, dataset: str | None = None) -> Overview:
    """The grouped count of the alerts of ``dataset`` (None: of every dataset)."""
    scope = (dataset,) if dataset is not None else ()
    return Overview(tuple(alerts.count_groups(session, dataset)), scope)


ESTIMATE_ABOVE = 1_000_000


def payments_rows(session: Session, estimate_above: int = ESTIMATE_ABOVE) -> int:
    """Rows of the loaded ``payments`` table (:func:`db.alerts.payment_rows`: estimated
    above ``estimate_above``).  The table changes only when a dataset is loaded, so callers
    may cache the answer too."""
    return alerts.payment_rows(session, estimate_above)


def queue_stats(
    session: Session,
    status_payments_total: int = 0,
    payments_in_table: int | None = None,
    ov: Overview | None = None,
) -> QueueStats:
    """The header numbers; what is not given (the table's payments, the overview) is read."""
    ov = overview(session) if ov is None else ov
    rows = payments_rows(session) if payments_in_table is None else payments_in_table
    return QueueStats(
        total_alerts=ov.total,
        high=ov.high,
        pending=ov.pending,
        payments_scored=payments_scored(status_payments_total, rows, ov.total),
        payments_known=status_payments_total > 0 or rows > 0,
    )


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Facets:
    """Values the filter widgets offer, read from the alerts themselves."""

    countries: tuple[str, ...]
    devices: tuple[str, ...]
    score_max: int
    first_day: date | None
    last_day: date | None


def facets(session: Session, ov: Overview | None = None) -> Facets:
    """The filter widgets' values, over the overview's datasets."""
    ov = overview(session) if ov is None else ov
    top, first, last = alerts.score_and_time_range(session, ov.dataset)
    return Facets(
        countries=ov.countries,
        devices=ov.devices,
        score_max=int(top or 0),
        first_day=first.date() if first else None,
        last_day=last.date() if last else None,
    )


def build_filters(
    *,
    status: Iterable[str] = (),
    severity: Iterable[str] = (),
    rule_ids: Iterable[str] = (),
    score_range: tuple[int, int] | None = None,
    score_bounds: tuple[int, int] | None = None,
    day_range: Sequence[date] = (),
    customer: str = "",
    country: Iterable[str] = (),
    device: Iterable[str] = (),
    dataset: str | None = None,
) -> alerts.AlertFilters:
    """Widget values → :class:`AlertFilters`.  A score range equal to the slider's bounds
    means "any"; days are UTC calendar days, both ends included."""
    score_min = score_max = None
    if score_range is not None:
        lo, hi = score_range
        bounds = score_bounds or (None, None)
        score_min = None if lo == bounds[0] else int(lo)
        score_max = None if hi == bounds[1] else int(hi)
    event_from = event_to = None
    days = [d for d in day_range if d is not None]
    if days:
        event_from = datetime.combine(days[0], time.min, tzinfo=UTC)
        event_to = datetime.combine(days[-1], time.min, tzinfo=UTC) + timedelta(days=1)
    return alerts.AlertFilters(
        status=tuple(status),
        severity=tuple(severity),
        rule_ids=tuple(rule_ids),
        score_min=score_min,
        score_max=score_max,
        event_from=event_from,
        event_to=event_to,
        customer_id=customer.strip() or None,
        country=tuple(country),
        device=tuple(device),
        dataset=(dataset,) if dataset else (),
    )


# --------------------------------------------------------------------------- one page


@dataclass(frozen=True)
class AlertSummary:
    alert_id: str
    event_ts: datetime
    customer_id: str
    amount: float
    currency: str | None
    score: int
    severity: str
    status: str
    rule_ids: tuple[str, ...]
    country: str | None
    device: str | None
    device_id: str | None
    decided_by: str | None
    row_version: int
    dataset: str = LIVE_DATASET

    @classmethod
    def of(cls, a: Alert | Row[Any]) -> AlertSummary:
        """Of an alert, or of a row of its :data:`db.alerts.SUMMARY_COLUMNS`."""
        return cls(
            alert_id=a.alert_id,
            event_ts=a.event_ts,
            customer_id=a.customer_id,
            amount=float(a.amount),
            currency=a.currency,
            score=a.score,
            severity=a.severity,
            status=a.status,
            rule_ids=tuple(str(r.get("rule_id", "")) for r in a.reasons or ()),
            country=a.country,
            device=a.device,
            device_id=a.device_id,
            decided_by=a.decided_by,
            row_version=a.row_version,
            dataset=a.dataset,
        )


@dataclass(frozen=True)
class QueuePage:
    rows: tuple[AlertSummary, ...]
    total: int  # alerts matching the filters (COUNT_CAP + 1 when capped)
    page: int  # 1-based, clamped to the last page
    page_size: int
    # More than COUNT_CAP alerts match a filter counted the bounded way: the count reads "more
    # than", and paging stops at the cap (narrow the filters to see the rest).
    capped: bool = False

    @property
    def pages(self) -> int:
        shown = min(self.total, COUNT_CAP) if self.capped else self.total
        return max(1, -(-shown // self.page_size))


def queue_page(
    session: Session,
    filters: alerts.AlertFilters,
    sort: alerts.AlertSort = "score_desc",
    page: int = 1,
    page_size: int = PAGE_SIZE,
    ov: Overview | None = None,
) -> QueuePage:
    """The matching count and one page of rows (the page is clamped to the last one, so a
    filter that shrinks the result never shows an empty page).  With an overview, simple
    filters are counted from it instead of the table."""
    known = ov.matching(filters) if ov is not None else None
    total = alerts.count_alerts(session, filters, cap=COUNT_CAP) if known is None else known
    capped = known is None and total > COUNT_CAP
    last = max(1, -(-(COUNT_CAP if capped else total) // page_size))
    page = min(max(1, page), last)
    exact = None if capped else total
    rows = alerts.list_alerts(session, filters, sort, page, page_size, exact) if total else []
    return QueuePage(tuple(AlertSummary.of(a) for a in rows), total, page, page_size, capped)


# --------------------------------------------------------------------------- detail


@dataclass(frozen=True)
class ReasonLine:
    rule_id: str
    points: int
    values: dict[str, Any]
    detail_en: str
    detail_fr: str


@dataclass(frozen=True)
class Decision:
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None


@dataclass(frozen=True)
class AlertDetail:
    fields: dict[str, Any]  # every column of the alert, in table order
    reasons: tuple[ReasonLine, ...]
    decisions: tuple[Decision, ...]  # oldest first, conflicts included

    @property
    def alert_id(self) -> str:
        return str(self.fields["alert_id"])

    @property
    def row_version(self) -> int:
        return int(self.fields["row_version"])


def alert_detail(session: Session, alert_id: str) -> AlertDetail | None:
    alert = alerts.get_alert(session, alert_id)
    if alert is None:
        return None
    fields = {c.key: getattr(alert, c.key) for c in Alert.__table__.columns if c.key != "reasons"}
    reasons = tuple(
        ReasonLine(
            rule_id=str(r.get("rule_id", "")),
            points=int(r.get("points", 0)),
            values=dict(r.get("values") or {}),
            detail_en=str(r.get("detail_en", "")),
            detail_fr=str(r.get("detail_fr", "")),
        )
        for r in alert.reasons or ()
    )
    return AlertDetail(fields, reasons, tuple(_decisions(alerts.alert_history(session, alert_id))))


def _decisions(rows: Iterable[AlertDecision]) -> list[Decision]:
    return [Decision(r.at, r.actor, r.action, r.from_status, r.to_status, r.note) for r in rows]


@dataclass(frozen=True)
class PastPayment:
    payment_id: str
    attempt_ts: datetime
    amount: float
    currency: str | None
    method: str | None
    result: str
    country: str | None
    device: str | None


@dataclass(frozen=True)
class CustomerHistory:
    customer_id: str
    payments: tuple[PastPayment, ...]  # newest first; empty when no payments table is loaded
    payments_loaded: bool  # the payments table holds rows at all
    alerts: tuple[AlertSummary, ...]  # the customer's other earlier alerts, newest first


def customer_history(
    session: Session,
    customer_id: str,
    before: datetime,
    exclude_alert_id: str | None = None,
    limit: int = HISTORY_LIMIT,
    *,
    exclude_payment_id: str | None = None,
    dataset: str | None = None,
    payments_file: DatasetPayments | None = None,
) -> CustomerHistory:
    """What the customer did up to ``before`` (the alert's event time, inclusive), without
    the alert itself and its own payment (the detail shows those already).

    ``dataset``: only that dataset's alerts (another dataset's customer of the same id is
    someone else); ``payments_file``: the payments are read from the replayed dataset's
    file instead of the ``payments`` table, which holds only loaded datasets."""
    if payments_file is not None:
        payments = [
            PastPayment(
                p["payment_id"],
                p["attempt_ts"],
                float(p["amount"]),
                p["currency"],
                p["method"],
                str(p["result"]),
                p["payment_country"],
                p["device"],
            )
            for p in reversed(payments_file.customer_payments(customer_id))
            if p["attempt_ts"] <= before and p["payment_id"] != exclude_payment_id
        ][:limit]
        loaded = True
    else:
        rows = alerts.payments_before(session, customer_id, before, limit, exclude_payment_id)
        payments = [_past(p) for p in rows]
        loaded = bool(payments) or alerts.payments_loaded(session)
    earlier = alerts.alerts_before(session, customer_id, before, limit, exclude_alert_id, dataset)
    return CustomerHistory(
        customer_id=customer_id,
        payments=tuple(payments),
        payments_loaded=loaded,
        alerts=tuple(AlertSummary.of(a) for a in earlier),
    )


def _past(p: PaymentRow) -> PastPayment:
    return PastPayment(
        p.payment_id,
        p.attempt_ts,
        float(p.amount),
        p.currency,
        p.method,
        p.result,
        p.payment_country,
        p.device,
    )


# --------------------------------------------------------------------------- timeline


@dataclass(frozen=True)
class SessionTimeline:
    """A session's story for the alert detail (built by :mod:`db.timeline`, the one timeline
    implementation): clicks when an event source has them, then orders, payments, alerts
    and decisions from the relational store."""

    session_id: str
    events: tuple[TimelineEntry, ...]
    source: str  # where behavioural events were looked for
    problem: str = ""  # why that source gave nothing (e.g. the archive is unreachable)

    @property
    def has_clickstream(self) -> bool:
        return any(e.is_behaviour for e in self.events)


def session_timeline(
    rt: Runtime, session_id: str, reader: EventReader | None = None, dataset: str | None = None
) -> SessionTimeline:
    """``reader``: where behavioural events are read; by default the runtime's
    (:func:`db.timeline.event_reader_for`: the archive, else the files of the alert's
    ``dataset``, whichever dataset is replayed now).
    When it fails, the relational store's story is still told, and the failure with it: an
    archive that is down must not hide the payments and decisions of an alert."""
    sessions = rt.sessions
    if reader is None:
        files = datasets.dataset_dir(rt, dataset) if dataset is not None else rt.replay_dir
        reader = timeline.event_reader_for(rt.settings, files)
    problem = ""
    try:
        entries = timeline.session_timeline(
            session_id, sessions_factory=sessions, archive=reader, dataset=dataset
        )
    except (ArchiveError, OSError) as exc:
        log.warning("session %s: events from %s failed: %s", session_id, reader, exc)
        problem = str(exc)
        entries = timeline.session_timeline(session_id, sessions_factory=sessions, dataset=dataset)
    source = reader.source if reader is not None else "relational store (no events table)"
    return SessionTimeline(session_id, tuple(entries), source, problem)


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Conflict:
    alert_id: str
    status: str
    actor: str  # who decided meanwhile ("?" when unknown)


@dataclass(frozen=True)
class ActionResult:
    action: str
    updated: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    missing: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not (self.conflicts or self.missing or self.errors)


def decide_many(
    rt: Handle,
    seen: Iterable[tuple[str, int]],
    action: alerts.Action,
    who: Principal | None,
    note: str | None = None,
) -> ActionResult:
    """Decide on each ``(alert_id, row_version seen)``, one transaction per alert, so that
    one conflict neither blocks nor rolls back the others.  Conflicting alerts are left
    untouched (their losing attempt is in the audit trail).  Raises :class:`Refused` unless
    ``who`` may decide; the decision is recorded under ``who``'s account name."""
    return decide_as(rt, seen, action, authorize(rt, who, Permission.DECIDE), note)


def decide_as(
    rt: Handle,
    seen: Iterable[tuple[str, int]],
    action: alerts.Action,
    me: Principal,
    note: str | None,
) -> ActionResult:
    """:func:`decide_many` for ``me``, a principal the caller has just authorized
    (:func:`~desk.auth.authorize` with :attr:`Permission.DECIDE`)."""
    actor = me.username
    note = (note or "").strip() or None
    updated: list[str] = []
    conflicts: list[Conflict] = []
    missing: list[str] = []
    errors: list[str] = []
    for alert_id, version in seen:
        with rt.sessions() as session:
            try:
                alerts.decide(session, alert_id, action, actor, note, version, me.role)
                session.commit()
                updated.append(alert_id)
            except DecisionConflict as exc:
                session.rollback()
                conflicts.append(Conflict(alert_id, exc.status, _decided_by(rt, alert_id)))
            except AlertNotFound:
                session.rollback()
                missing.append(alert_id)
            except (DbError, SQLAlchemyError) as exc:
                session.rollback()
                log.exception("decision %s on %s by %s failed", action, alert_id, actor)
                errors.append(f"{alert_id}: {exc}")
    return ActionResult(action, tuple(updated), tuple(conflicts), tuple(missing), tuple(errors))


def _decided_by(rt: Handle, alert_id: str) -> str:
    with rt.sessions() as session:
        return alerts.decided_by(session, alert_id) or "?"


def open_alerts(
    session: Session, *, customer_id: str | None = None, device_id: str | None = None
) -> list[tuple[str, int]]:
    """``(alert_id, row_version)`` of the open alerts (pending or investigating) of one
    customer or one device, oldest first, at most :data:`MAX_BULK`."""
    return alerts.versions_where(
        session, OPEN_STATUSES, MAX_BULK, customer_id=customer_id, device_id=device_id
    )


def decide_open_of(
    rt: Handle,
    action: alerts.Action,
    who: Principal | None,
    note: str | None = None,
    *,
    customer_id: str | None = None,
    device_id: str | None = None,
) -> ActionResult:
    """Decide on every open alert of one customer or one device, at the versions read now
    (an alert decided by someone else between the read and the write is a conflict)."""
    me = authorize(rt, who, Permission.DECIDE)
    with rt.sessions() as session:
        seen = open_alerts(session, customer_id=customer_id, device_id=device_id)
    return decide_as(rt, seen, action, me, note)


# --------------------------------------------------------------------------- front ends
# What the queue page reads, each in one session of the runtime's database.


def load_overview(rt: Runtime, dataset: str | None = None) -> Overview:
    with rt.sessions() as session:
        return overview(session, dataset)


def load_facets(rt: Runtime, ov: Overview | None = None) -> Facets:
    with rt.sessions() as session:
        return facets(session, ov)


def count_payments(rt: Runtime, dataset: str | None = None) -> int:
    """The payments behind the alert rate (changes only when a dataset is loaded or
    replayed: cache it): those of ``dataset``'s files when it has some, else
    :func:`payments_rows`."""
    known = datasets.payments_of(rt, dataset) if dataset is not None else None
    if known is not None:
        return known
    with rt.sessions() as session:
        return payments_rows(session)


def load_versions(rt: Runtime, alert_ids: Iterable[str]) -> dict[str, int]:
    """:func:`versions_of`: the row version of each of ``alert_ids`` that exists."""
    with rt.sessions() as session:
        return versions_of(session, alert_ids)


def load_detail(rt: Runtime, alert_id: str) -> AlertDetail | None:
    """:func:`alert_detail` alone (a confirmation dialog needs no history or timeline)."""
    with rt.sessions() as session:
        return alert_detail(session, alert_id)


def bulk_preview(
    rt: Runtime,
    seen: Iterable[tuple[str, int]] | None = None,
    *,
    customer_id: str | None = None,
    device_id: str | None = None,
) -> tuple[tuple[tuple[str, int], ...], int]:
    """What a bulk action would change, ``((alert_id, row_version), ...)``, and how many of
    those are already approved or blocked: ``seen`` as it is, else the open alerts of one
    customer or one device (:func:`open_alerts`) at their versions now."""
    with rt.sessions() as session:
        if seen is None:
            seen = open_alerts(session, customer_id=customer_id, device_id=device_id)
        pairs = tuple(seen)
        return pairs, count_decided(session, [a for a, _ in pairs])


def load_page(
    rt: Runtime,
    filters: alerts.AlertFilters,
    sort: alerts.AlertSort,
    page: int,
    payments_in_table: int | None = None,
    ov: Overview | None = None,
) -> tuple[QueueStats, QueuePage]:
    """The header numbers and one page of the queue, in one read.  Filtered to one
    replayed dataset, the alert rate's denominator is the payments its replay scored
    (:func:`desk.datasets.payments_scored`); to the live stream, the detector's counter."""
    scored = rt.snapshot().payments_total
    if len(filters.dataset) == 1:
        name = filters.dataset[0]
        replayed = datasets.payments_scored(rt, name)
        if replayed is not None:
            scored, payments_in_table = replayed, 0
        elif not datasets.scored_here(rt, name):
            scored = 0
    with rt.sessions() as session:
        if ov is None and len(filters.dataset) == 1:
            ov = overview(session, filters.dataset[0])  # the header counts that dataset
        stats = queue_stats(session, scored, payments_in_table, ov)
        return stats, queue_page(session, filters, sort, page, ov=ov)


@dataclass(frozen=True)
class AlertView:
    """Everything the detail panel shows about one alert."""

    detail: AlertDetail
    history: CustomerHistory
    timeline: SessionTimeline | None  # None: the alert has no session id


def load_alert(rt: Runtime, alert_id: str) -> AlertView | None:
    """The alert with its customer's history and its session's timeline, both read in its
    own dataset: right after a replay, from the dataset's files (no load step needed)."""
    with rt.sessions() as session:
        detail = alert_detail(session, alert_id)
        if detail is None:
            return None
        f = detail.fields
        dataset = str(f["dataset"])
        files = datasets.dataset_dir(rt, dataset)
        history = customer_history(
            session,
            f["customer_id"],
            f["event_ts"],
            detail.alert_id,
            exclude_payment_id=f["payment_id"],
            dataset=dataset,
            payments_file=DatasetPayments(files) if files is not None else None,
        )
    story = session_timeline(rt, f["session_id"], dataset=dataset) if f["session_id"] else None
    return AlertView(detail, history, story)
