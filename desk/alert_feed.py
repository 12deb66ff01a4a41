"""The alert queue for integrations: keyset pages with a cursor, counts, one alert, decisions.

The same filters, counts and decisions as the queue page (:mod:`desk.queue`), shaped for
a client that pages with a ``next`` cursor instead of page numbers: a cursor names the last
row seen (its sort key and id), so a page is one index range scan however deep it is, and
alerts arriving meanwhile neither repeat nor skip rows.  Reads are authorized like actions.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

import orjson
from sqlalchemy.exc import SQLAlchemyError

from db import alerts
from db.errors import DbError
from desk import datasets
from desk import queue as q
from desk.auth import Permission, Principal, Sessions, authorize
from desk.handle import Handle

AlertFilters = alerts.AlertFilters

__all__ = [
    "AlertFilters",
    "AlertList",
    "BadCursor",
    "PaymentsCount",
    "StatsView",
    "alert_datasets",
    "alert_list",
    "decide_ids",
    "decide_one",
    "read_alert",
    "stats",
    "to_action",
]

log = logging.getLogger(__name__)
MAX_LIMIT = 500
PAYMENTS_TTL_S = 30.0  # the payments table changes when a dataset is loaded


class BadCursor(DbError):
    """A cursor that was not made by :func:`alert_list` for this query."""


class PaymentsCount:
    """Rows of the loaded payments table (the alert rate's denominator), shared by the
    process and re-read in the background once older than ``ttl_s``: the table changes only
    when a dataset is loaded, and counting up to a million rows (above, PostgreSQL's estimate
    is read: :func:`desk.queue.payments_rows`) would cost a request tens of milliseconds.
    The alert counts need no such cache: the database keeps them (migration 0011)."""

    def __init__(self, ttl_s: float = PAYMENTS_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._value: int | None = None
        self._at = 0.0
        self._lock = threading.Lock()
        self._refreshing = False

    def get(self, sessions: Sessions) -> int:
        with self._lock:
            value = self._value
            start = (
                value is not None
                and time.monotonic() - self._at >= self.ttl_s
                and not self._refreshing
            )
            self._refreshing |= start
        if value is None:
            return self._refresh(sessions)
        if start:
            threading.Thread(target=self._refresh, args=(sessions,), daemon=True).start()
        return value

    def warm(self, rt: Handle) -> None:
        """Count now (a server's start-up); a database that does not answer leaves it to the
        first request."""
        try:
            self._refresh(rt.lookups)
        except (SQLAlchemyError, DbError) as exc:
            log.warning("payments not counted at start-up: %s", exc)

    def _refresh(self, sessions: Sessions) -> int:
        try:
            with sessions() as session:
                value = q.payments_rows(session)
            with self._lock:
                self._value, self._at = value, time.monotonic()
            return value
        finally:
            with self._lock:
                self._refreshing = False


# --------------------------------------------------------------------------- list


@dataclass(frozen=True)
class AlertList:
    rows: tuple[q.AlertSummary, ...]
    next_cursor: str | None  # None: this was the last page
    matching: int  # alerts matching the filters (COUNT_CAP + 1 when capped)
    capped: bool  # more than COUNT_CAP match a filter counted the bounded way
    header: q.QueueStats


def alert_list(
    rt: Handle,
    who: Principal | None,
    filters: alerts.AlertFilters,
    sort: alerts.AlertSort = "score_desc",
    cursor: str | None = None,
    limit: int = q.PAGE_SIZE,
    payments: PaymentsCount | None = None,
    payments_total: int = 0,
) -> AlertList:
    authorize(rt, who, Permission.READ_QUEUE)
    if sort not in get_args(alerts.AlertSort):
        raise DbError(f"sort: expected one of {list(get_args(alerts.AlertSort))}, got {sort!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise DbError(f"limit: must be between 1 and {MAX_LIMIT}, got {limit}")
    query = _query_id(filters, sort)
    after = _decode(cursor, query, sort) if cursor else None
    # One dataset's figures are counted for it; any other filter reads every alert's.
    scope = filters.dataset[0] if len(filters.dataset) == 1 else None
    paid = payments.get(rt.lookups) if payments is not None else None
    with rt.lookups() as session:
        rows = alerts.keyset_page(session, filters, sort, after, limit + 1)
        ov = q.overview(session, scope)
        known = ov.matching(filters)
        matching = (
            alerts.count_alerts(session, filters, cap=q.COUNT_CAP) if known is None else known
        )
        header = q.queue_stats(session, payments_total, paid, ov)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    token = _encode(query, sort, alerts.sort_value(last, sort), last.alert_id) if last else None
    return AlertList(
        tuple(q.AlertSummary.of(a) for a in rows),
        token,
        matching,
        known is None and matching > q.COUNT_CAP,
        header,
    )


def alert_datasets(rt: Handle, who: Principal | None) -> tuple[datasets.AlertDataset, ...]:
    """The datasets that have alerts (the values of the ``dataset`` filter), live first,
    then the most recently scored."""
    authorize(rt, who, Permission.READ_QUEUE)
    with rt.sessions() as session:
        return datasets.alert_datasets(session)


def _query_id(filters: alerts.AlertFilters, sort: str) -> str:
    raw = orjson.dumps([repr(filters), sort])
    return hashlib.sha256(raw).hexdigest()[:16]


def _encode(query: str, sort: str, value: Any, alert_id: str) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = orjson.dumps({"q": query, "s": sort, "v": value, "id": alert_id})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, query: str, sort: str) -> tuple[Any, str]:
    try:
        if len(cursor) > 512:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        value, alert_id = data["v"], data["id"]
        if not isinstance(alert_id, str):
            raise ValueError("id")
        if data.get("q") != query or data.get("s") != sort:
            raise BadCursor(
                "cursor: it belongs to another query; keep the filters and the sort of the "
                "request that returned it, or start again without a cursor"
            )
        if sort.startswith("time"):
            value = datetime.fromisoformat(value)
        elif isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("score")
    except BadCursor:
        raise
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise BadCursor(
            "cursor: not a cursor this API returned (use the `next` value as it is)"
        ) from None
    return value, alert_id


# --------------------------------------------------------------------------- one alert


def read_alert(rt: Handle, who: Principal | None, alert_id: str) -> q.AlertDetail | None:
    authorize(rt, who, Permission.READ_QUEUE, alert_id)
    with rt.sessions() as session:
        return q.alert_detail(session, alert_id)


# --------------------------------------------------------------------------- decisions


def to_action(name: str) -> alerts.Action:
    """``approve``/``block``/``investigate`` (any case) as the queue's action."""
    action = name.strip().upper()
    if action not in alerts.ACTION_STATUS:
        raise DbError(f"action: expected one of approve, block, investigate, got {name[:40]!r}")
    return action  # type: ignore[return-value]


def decide_one(
    rt: Handle,
    who: Principal | None,
    alert_id: str,
    action: alerts.Action,
    version: int | None,
    note: str | None = None,
) -> q.ActionResult:
    """Decide on ``alert_id`` at ``version`` (the ETag the client saw); without a version,
    at the version read now (the client accepts whatever the alert is now)."""
    me = authorize(rt, who, Permission.DECIDE, alert_id)
    if version is None:
        with rt.sessions() as session:
            version = q.versions_of(session, [alert_id]).get(alert_id, 0)
    return q.decide_as(rt, [(alert_id, version)], action, me, note)


def decide_ids(
    rt: Handle,
    who: Principal | None,
    seen: Iterable[tuple[str, int | None]],
    action: alerts.Action,
    note: str | None = None,
) -> q.ActionResult:
    """Bulk by ids, each with the version the client saw (None: the version now)."""
    me = authorize(rt, who, Permission.DECIDE)
    pairs = list(seen)
    if len(pairs) > q.MAX_BULK:
        raise DbError(f"ids: at most {q.MAX_BULK} alerts at once, got {len(pairs)}")
    unknown = [a for a, v in pairs if v is None]
    with rt.sessions() as session:
        now = q.versions_of(session, unknown) if unknown else {}
    resolved = [(a, v if v is not None else now.get(a, 0)) for a, v in pairs]
    return q.decide_as(rt, resolved, action, me, note)


# --------------------------------------------------------------------------- stats


@dataclass(frozen=True)
class StatsView:
    header: q.QueueStats
    by_severity: dict[str, int]
    by_status: dict[str, int]
    by_rule: dict[str, int]
    by_day: dict[str, int]  # UTC calendar day -> alerts


def stats(
    rt: Handle,
    who: Principal | None,
    payments: PaymentsCount | None = None,
    payments_total: int = 0,
) -> StatsView:
    authorize(rt, who, Permission.READ_QUEUE)
    paid = payments.get(rt.lookups) if payments is not None else None
    with rt.sessions() as session:
        ov = q.overview(session)
        header = q.queue_stats(session, payments_total, paid, ov)
        by_rule = alerts.count_by_rule(session)
        by_day = alerts.count_by_day(session)
    by_severity: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for status, severity, _c, _d, n in ov.groups:
        by_severity[severity] = by_severity.get(severity, 0) + n
        by_status[status] = by_status.get(status, 0) + n
    return StatsView(header, by_severity, by_status, by_rule, by_day)
