"""The review queue: filter, sort and page alerts, decide on one, count what matters.

Decisions are guarded by ``row_version``: an analyst decides on the version they saw, and a
decision taken meanwhile by someone else wins; the loser gets :class:`DecisionConflict`, and
both attempts are in the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    delete,
    exists,
    func,
    select,
    tuple_,
)
from sqlalchemy import text as sql_text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from db import audit as trail
from db.detector_store import alert_id_for
from db.errors import AlertNotFound, DbError, DecisionConflict
from db.models import (
    ALERT_STATUSES,
    LIVE_DATASET,
    SEVERITIES,
    Alert,
    AlertCount,
    AlertDecision,
    AlertReason,
    DetectorStateRow,
    PaymentRow,
)
from db.types import utc_now
from detector.rules import RULE_IDS
from detector.state import CustomerState

log = logging.getLogger(__name__)
_A, _R = Alert.__table__, AlertReason.__table__

Action = Literal["APPROVE", "BLOCK", "INVESTIGATE"]
ACTION_STATUS: dict[str, str] = {
    "APPROVE": "APPROVED",
    "BLOCK": "BLOCKED",
    "INVESTIGATE": "INVESTIGATING",
}
CONFLICT_ACTION = "CONFLICT"

AlertSort = Literal["score_desc", "score_asc", "time_desc", "time_asc"]
# alert_id last: a total order, so pages neither repeat nor skip rows.
_ORDER: dict[str, tuple[ColumnElement[Any], ...]] = {
    "score_desc": (Alert.score.desc(), Alert.alert_id.desc()),
    "score_asc": (Alert.score.asc(), Alert.alert_id.asc()),
    "time_desc": (Alert.event_ts.desc(), Alert.alert_id.desc()),
    "time_asc": (Alert.event_ts.asc(), Alert.alert_id.asc()),
}
# The same orders walked from the other end (a deep page is read from the nearer end).
_REVERSE: dict[str, str] = {
    "score_desc": "score_asc",
    "score_asc": "score_desc",
    "time_desc": "time_asc",
    "time_asc": "time_desc",
}
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class AlertFilters:
    """Queue filters; empty means "any".  Multi-valued fields match any of their values (a
    single string is accepted), ``rule_ids`` keeps alerts where any of the rules fired, scores
    are inclusive and ``event_from <= event_ts < event_to``.  Hashable, so it can key a cache."""

    status: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    rule_ids: tuple[str, ...] = ()
    score_min: int | None = None
    score_max: int | None = None
    event_from: datetime | None = None
    event_to: datetime | None = None
    customer_id: str | None = None
    country: tuple[str, ...] = ()
    device: tuple[str, ...] = ()
    dataset: tuple[str, ...] = ()  # where the alerts come from: replayed datasets, "live"

    def __post_init__(self) -> None:
        for name in ("status", "severity", "rule_ids", "country", "device", "dataset"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        _check_known("status", self.status, ALERT_STATUSES)
        _check_known("severity", self.severity, SEVERITIES)
        _check_known("rule_ids", self.rule_ids, RULE_IDS)
        for name in ("event_from", "event_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise DbError(f"AlertFilters.{name}: pass a timezone-aware datetime")

    def conditions(self) -> list[ColumnElement[bool]]:
        # Table columns, not ORM attributes: a statement made of them alone runs on the Core
        # path (no ORM compile and row processing per execution), and the ORM reads that
        # share these filters accept them as well.
        a, r = _A.c, _R.c
        out: list[ColumnElement[bool]] = []
        if self.status:
            out.append(a.status.in_(self.status))
        if self.severity:
            out.append(a.severity.in_(self.severity))
        if self.rule_ids:
            out.append(exists().where(r.alert_id == a.alert_id, r.rule_id.in_(self.rule_ids)))
        if self.score_min is not None:
            out.append(a.score >= self.score_min)
        if self.score_max is not None:
            out.append(a.score <= self.score_max)
        if self.event_from is not None:
            out.append(a.event_ts >= self.event_from)
        if self.event_to is not None:
            out.append(a.event_ts < self.event_to)
        if self.customer_id:
            out.append(a.customer_id == self.customer_id)
        if self.country:
            out.append(a.country.in_(self.country))
        if self.device:
            out.append(a.device.in_(self.device))
        if self.dataset:
            out.append(a.dataset.in_(self.dataset))
        return out


def count_alerts(
    session: Session, filters: AlertFilters | None = None, cap: int | None = None
) -> int:
    """Alerts matching ``filters``; with ``cap``, counting stops after ``cap + 1`` (a result
    above ``cap`` means "more than cap"), so a broad filter over millions of alerts costs a
    bounded index walk instead of a full join."""
    if cap is None:
        stmt = select(func.count()).select_from(Alert)
        return int(session.scalar(_filtered(stmt, filters)) or 0)
    hits = _filtered(select(Alert.alert_id), filters).limit(cap + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(hits)) or 0)


def list_alerts(
    session: Session,
    filters: AlertFilters | None = None,
    sort: AlertSort = "score_desc",
    page: int = 1,
    page_size: int = 50,
    total: int | None = None,
) -> list[Alert]:
    """One page (1-based) of alerts matching ``filters`` in ``sort`` order.

    ``total``, the exact number of matching alerts when the caller knows it, lets a page in
    the second half be read from the end: OFFSET walks every skipped row, so the deepest
    page is the middle one, not the last.  A total that is stale by a few rows shifts the
    page by as many rows, as new alerts do anyway.
    """
    if sort not in _ORDER:
        raise DbError(f"sort: expected one of {list(get_args(AlertSort))}, got {sort!r}")
    if page < 1:
        raise DbError(f"page: must be >= 1, got {page}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise DbError(f"page_size: must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    offset = (page - 1) * page_size
    if total is not None:
        if offset >= total:
            return []
        size = min(page_size, total - offset)
        from_end = total - offset - size
        if from_end < offset:
            return _rows(session, filters, _REVERSE[sort], size, from_end)[::-1]
    return _rows(session, filters, sort, page_size, offset)


def _rows(
    session: Session, filters: AlertFilters | None, sort: str, limit: int, offset: int
) -> list[Alert]:
    order = _ORDER[sort]
    stmt = _filtered(select(Alert), filters).order_by(*order).limit(limit)
    if offset:
        # Skipped rows are walked in an index (index-only where the sort's index covers the
        # filter) instead of each being fetched from the table: only the page's rows are.
        ids = _filtered(select(Alert.alert_id), filters).order_by(*order)
        ids = ids.limit(limit).offset(offset)
        stmt = select(Alert).where(Alert.alert_id.in_(ids)).order_by(*order)
    return list(session.scalars(stmt))


def scoring_lookup(
    session: Session, customer_id: str, payment_id: str
) -> tuple[CustomerState | None, str | None]:
    """One customer's stored state and the alert already raised for one payment, in one
    statement: the checkout's synchronous score waits on every round trip."""
    states = DetectorStateRow.__table__
    # The checkout scores live traffic: the live stream's state of the customer.
    state = select(states.c.state).where(
        states.c.customer_id == customer_id, states.c.dataset == LIVE_DATASET
    )
    alert = select(_A.c.alert_id).where(_A.c.alert_id == alert_id_for(payment_id))
    row = session.execute(select(state.scalar_subquery(), alert.scalar_subquery())).one()
    return (CustomerState.from_dict(row[0]) if row[0] is not None else None), row[1]


def get_alert(session: Session, alert_id: str) -> Alert | None:
    return session.get(Alert, alert_id)


def alert_history(session: Session, alert_id: str) -> list[AlertDecision]:
    """The audit trail of one alert, oldest first."""
    stmt = (
        select(AlertDecision)
        .where(AlertDecision.alert_id == alert_id)
        .order_by(AlertDecision.at, AlertDecision.id)
    )
    return list(session.scalars(stmt))


def decide(
    session: Session,
    alert_id: str,
    action: Action,
    actor: str,
    note: str | None,
    expected_row_version: int,
    role: str | None = None,
) -> Alert:
    """Apply an analyst's action to the alert version they saw; the caller commits.  The
    decision goes to ``alert_decisions`` and to the audit trail in the same transaction.

    Raises :class:`DecisionConflict` when the alert changed since (nothing is overwritten, and
    the losing attempt is committed to the audit trail in a transaction of its own, so the
    caller's rollback does not erase it).
    """
    to_status = ACTION_STATUS.get(action)
    if to_status is None:
        raise DbError(f"action: expected one of {list(ACTION_STATUS)}, got {action!r}")
    if not actor:
        raise DbError("actor: who decides must be known for the audit trail")
    # FOR NO KEY UPDATE: a concurrent decider waits here and then sees the new row_version,
    # while the audit insert (a foreign key check, FOR KEY SHARE) is not blocked by it.
    alert = session.scalars(
        select(Alert)
        .where(Alert.alert_id == alert_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if alert is None:
        raise AlertNotFound(alert_id)
    if alert.row_version != expected_row_version:
        raise _conflict(session, alert_id, expected_row_version, to_status, actor, note, role)
    now = utc_now()
    from_status = alert.status
    alert.status = to_status
    alert.decision = action
    alert.decided_by = actor
    alert.decided_at = now
    alert.notes = note
    session.add(
        AlertDecision(
            alert_id=alert_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            at=now,
            note=note,
        )
    )
    trail.record(
        session,
        trail.Entry(actor, trail.ALERT_DECIDE, trail.OK, alert_id, role,
                    {"action": action, "from": from_status, "to": to_status, "note": note}),
        now,
    )  # fmt: skip
    try:
        # version_id_col adds "AND row_version = <seen>" to the UPDATE: the last line of defence
        # where the read above took no lock (SQLite).
        session.flush()
    except StaleDataError:
        # The failed flush has already rolled the database transaction back (no lock is held
        # any more); the session itself is left for the caller to roll back, as after any
        # failed flush, so it must not be used here.
        raise _conflict(
            session, alert_id, expected_row_version, to_status, actor, note, role
        ) from None
    return alert


# --------------------------------------------------------------------------- the desk's reads
# The queries behind the queue page and the integration API (``desk.queue``,
# ``desk.alert_feed``): rows and counts only; the desk shapes them.

GroupCount = tuple[str, str, str | None, str | None, int]
# A keyset page's columns: sort -> (column, descending); alert_id breaks ties.
_KEYSET: dict[str, tuple[Any, bool]] = {  # table columns: see AlertFilters.conditions
    "score_desc": (_A.c.score, True),
    "score_asc": (_A.c.score, False),
    "time_desc": (_A.c.event_ts, True),
    "time_asc": (_A.c.event_ts, False),
}


def count_groups(session: Session, dataset: str | None = None) -> list[GroupCount]:
    """Alerts (of ``dataset``; None: of all) per ``(status, severity, country, device)``:
    the sums of the deltas the database keeps (migration 0011), a few hundred rows however
    many alerts there are, exact as of the session's snapshot."""
    cols = (AlertCount.status, AlertCount.severity, AlertCount.country, AlertCount.device)
    total = func.sum(AlertCount.n)
    stmt = select(*cols, total).group_by(*cols).having(total != 0)
    if dataset is not None:
        stmt = stmt.where(AlertCount.dataset == dataset)
    rows = session.execute(stmt).all()
    return [(a, b, c, d, int(n)) for a, b, c, d, n in rows]


def payment_rows(session: Session, estimate_above: int) -> int:
    """Rows of the loaded ``payments`` table.  On PostgreSQL a table the planner believes
    holds at least ``estimate_above`` rows is not counted: its statistics (``reltuples``,
    kept fresh by autovacuum and by the loader's ANALYZE) are close enough for a rate and
    cost nothing, where a count scans millions of rows."""
    if session.get_bind().dialect.name == "postgresql":
        estimate = session.scalar(
            sql_text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass('payments')")
        )
        if estimate is not None and estimate >= estimate_above:
            return int(estimate)
    return int(session.scalar(select(func.count()).select_from(PaymentRow)) or 0)


def score_and_time_range(
    session: Session, datasets: Iterable[str] = ()
) -> tuple[int | None, datetime | None, datetime | None]:
    """The highest score and the first and last event times of the alerts of ``datasets``
    (empty: of all alerts)."""
    names = list(datasets)
    scope = [Alert.dataset.in_(names)] if names else []
    # Three separate aggregates: each is one index probe (a combined one may scan).
    top = session.scalar(select(func.max(Alert.score)).where(*scope))
    first = session.scalar(select(func.min(Alert.event_ts)).where(*scope))
    last = session.scalar(select(func.max(Alert.event_ts)).where(*scope))
    return top, first, last


def payments_before(
    session: Session,
    customer_id: str,
    before: datetime,
    limit: int,
    exclude_payment_id: str | None = None,
) -> list[PaymentRow]:
    """A customer's payments up to ``before`` (inclusive), newest first."""
    where = [PaymentRow.customer_id == customer_id, PaymentRow.attempt_ts <= before]
    if exclude_payment_id is not None:
        where.append(PaymentRow.payment_id != exclude_payment_id)
    stmt = (
        select(PaymentRow)
        .where(*where)
        .order_by(PaymentRow.attempt_ts.desc(), PaymentRow.payment_id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def payments_loaded(session: Session) -> bool:
    """The payments table holds rows at all (a replay alone does not fill it)."""
    return session.scalar(select(PaymentRow.payment_id).limit(1)) is not None


def alerts_before(
    session: Session,
    customer_id: str,
    before: datetime,
    limit: int,
    exclude_alert_id: str | None = None,
    dataset: str | None = None,
) -> list[Alert]:
    """A customer's alerts up to ``before`` (inclusive), newest first; with ``dataset``,
    that dataset's only (another dataset's customer of the same id is someone else)."""
    stmt = select(Alert).where(Alert.customer_id == customer_id, Alert.event_ts <= before)
    if exclude_alert_id is not None:
        stmt = stmt.where(Alert.alert_id != exclude_alert_id)
    if dataset is not None:
        stmt = stmt.where(Alert.dataset == dataset)
    stmt = stmt.order_by(Alert.event_ts.desc(), Alert.alert_id.desc()).limit(limit)
    return list(session.scalars(stmt))


def dataset_of(session: Session, alert_id: str) -> str | None:
    return session.scalar(select(Alert.dataset).where(Alert.alert_id == alert_id))


def decided_by(session: Session, alert_id: str) -> str | None:
    return session.scalar(select(Alert.decided_by).where(Alert.alert_id == alert_id))


def versions_of(session: Session, alert_ids: Iterable[str]) -> dict[str, int]:
    """``{alert_id: row_version}`` of those of ``alert_ids`` that exist."""
    ids = list(dict.fromkeys(alert_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Alert.alert_id, Alert.row_version).where(Alert.alert_id.in_(ids))
    ).all()
    return {a: int(v) for a, v in rows}


def count_decided(session: Session, alert_ids: Iterable[str]) -> int:
    """How many of ``alert_ids`` are already approved or blocked (a bulk confirmation says
    so before changing them)."""
    ids = list(dict.fromkeys(alert_ids))
    if not ids:
        return 0
    stmt = select(func.count()).where(
        Alert.alert_id.in_(ids), Alert.status.in_(("APPROVED", "BLOCKED"))
    )
    return int(session.scalar(stmt) or 0)


def versions_where(
    session: Session,
    statuses: Iterable[str],
    limit: int,
    *,
    customer_id: str | None = None,
    device_id: str | None = None,
) -> list[tuple[str, int]]:
    """``(alert_id, row_version)`` of the alerts in ``statuses`` of one customer or one
    device, oldest first, at most ``limit``."""
    if (customer_id is None) == (device_id is None):
        raise DbError("open_alerts: give exactly one of customer_id or device_id")
    stmt = select(Alert.alert_id, Alert.row_version).where(Alert.status.in_(tuple(statuses)))
    if customer_id is not None:
        stmt = stmt.where(Alert.customer_id == customer_id)
    else:
        stmt = stmt.where(Alert.device_id == device_id)
    stmt = stmt.order_by(Alert.event_ts, Alert.alert_id).limit(limit)
    return [(a, int(v)) for a, v in session.execute(stmt).all()]


# What a queue row shows (desk.queue.AlertSummary), read as plain columns: building ORM
# objects for a page of 50 costs more than the index scan that finds them.
SUMMARY_COLUMNS = tuple(
    _A.c[name]
    for name in (
        "alert_id", "event_ts", "customer_id", "amount", "currency", "score", "severity",
        "status", "reasons", "country", "device", "device_id", "decided_by", "row_version",
        "dataset",
    )
)  # fmt: skip


def keyset_page(
    session: Session,
    filters: AlertFilters | None,
    sort: AlertSort,
    after: tuple[Any, str] | None,
    limit: int,
) -> list[Row[Any]]:
    """Up to ``limit`` alerts (:data:`SUMMARY_COLUMNS`) matching ``filters`` in ``sort``
    order, after the row whose ``(sort value, alert_id)`` is ``after``: one index range scan
    however deep the page."""
    if sort not in _KEYSET:
        raise DbError(f"sort: expected one of {list(_KEYSET)}, got {sort!r}")
    column, desc = _KEYSET[sort]
    stmt = _filtered(select(*SUMMARY_COLUMNS), filters)
    if after is not None:
        key = tuple_(column, _A.c.alert_id)
        stmt = stmt.where(key < after if desc else key > after)
    order = (column.desc(), _A.c.alert_id.desc()) if desc else (column, _A.c.alert_id)
    return list(session.execute(stmt.order_by(*order).limit(limit)))


def sort_value(alert: Any, sort: AlertSort) -> Any:
    """The value ``alert`` (an :class:`Alert` or a row of it) is sorted by under ``sort``
    (a keyset cursor keeps it)."""
    return getattr(alert, _KEYSET[sort][0].key)


def count_by_rule(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(AlertReason.rule_id, func.count()).group_by(AlertReason.rule_id)
    ).all()
    return {r: int(n) for r, n in sorted(rows)}


def count_by_day(session: Session) -> dict[str, int]:
    """Alerts per UTC calendar day (``YYYY-MM-DD``)."""
    day = func.date(Alert.event_ts)
    if session.get_bind().dialect.name == "postgresql":
        day = func.to_char(func.timezone("UTC", Alert.event_ts), "YYYY-MM-DD")
    rows = session.execute(select(day, func.count()).group_by(day).order_by(day)).all()
    return {str(d): int(n) for d, n in rows}


# --------------------------------------------------------------------------- datasets
# Every alert names its dataset (a replayed dataset's name, "live", "?" before that column).


def count_by_dataset(session: Session) -> list[tuple[str, int, datetime | None]]:
    """``(dataset, alerts, when its newest alert was written)`` of every dataset with alerts."""
    rows = session.execute(
        select(Alert.dataset, func.count(), func.max(Alert.alert_ts)).group_by(Alert.dataset)
    ).all()
    return [(str(name), int(n), at) for name, n, at in rows]


def last_alert_at(session: Session, dataset: str) -> datetime | None:
    """When the newest alert of ``dataset`` was written."""
    return session.scalar(select(func.max(Alert.alert_ts)).where(Alert.dataset == dataset))


def count_decided_in(session: Session, datasets: Iterable[str]) -> int:
    """Alerts of ``datasets`` someone acted on (a decision, or a lost race for one)."""
    acted = select(AlertDecision.alert_id).distinct()
    stmt = select(func.count()).where(Alert.dataset.in_(list(datasets)), Alert.alert_id.in_(acted))
    return int(session.scalar(stmt) or 0)


def delete_dataset_alerts(session: Session, datasets: Iterable[str]) -> int:
    """Delete the alerts of ``datasets`` that nobody acted on, with their reasons, in the
    caller's transaction; returns how many alerts went.  An alert with a decision stays:
    ``alert_decisions`` is append-only (a trigger on PostgreSQL) and names its alert."""
    names = list(datasets)
    if not names:
        return 0
    acted = select(AlertDecision.alert_id).distinct()
    where = (Alert.dataset.in_(names), Alert.alert_id.not_in(acted))
    ids = select(Alert.alert_id).where(*where).scalar_subquery()
    session.execute(delete(AlertReason).where(AlertReason.alert_id.in_(ids)))
    result = session.execute(delete(Alert).where(*where))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _filtered(stmt: Select[Any], filters: AlertFilters | None) -> Select[Any]:
    conditions = filters.conditions() if filters is not None else []
    return stmt.where(and_(*conditions)) if conditions else stmt


def _conflict(
    session: Session,
    alert_id: str,
    expected: int,
    to_status: str,
    actor: str,
    note: str | None,
    role: str | None,
) -> DecisionConflict:
    """Append the losing attempt in its own short transaction (so the caller's rollback does
    not erase it) and return the error to raise, with the alert's current version."""
    with Session(session.get_bind()) as own:
        current = own.get(Alert, alert_id)
        conflict = DecisionConflict(
            alert_id,
            expected,
            current.row_version if current else -1,
            current.status if current else "?",
        )
        try:
            own.add(
                AlertDecision(
                    alert_id=alert_id,
                    action=CONFLICT_ACTION,
                    from_status=current.status if current else None,
                    to_status=to_status,
                    actor=actor,
                    at=utc_now(),
                    # The analyst's own words only: the action and statuses say the rest, in
                    # the words of whoever reads the trail (an English sentence here did not).
                    note=note,
                )
            )
            trail.record(
                own,
                trail.Entry(actor, trail.ALERT_DECIDE, trail.CONFLICT, alert_id, role,
                            {"to": to_status, "note": note, "status_now": conflict.status,
                             "expected_version": expected, "version_now": conflict.current}),
            )  # fmt: skip
            own.commit()
        except SQLAlchemyError:
            # The conflict still reaches the caller; only its audit line is missing.
            log.exception("could not record the conflicting decision on %s by %s", alert_id, actor)
    return conflict


def _check_known(name: str, values: Iterable[str], known: Iterable[str]) -> None:
    allowed = tuple(known)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise DbError(f"AlertFilters.{name}: unknown value(s) {bad}; known: {list(allowed)}")
