"""Alert aggregates for the insights charts, computed in SQL (``desk.insights`` composes them).

Each function runs one ``GROUP BY`` query and returns a small frame (one row per group), so
the cost does not depend on loading alerts into Python.  :func:`data_version` is a cheap
fingerprint of the data behind the charts (alert count, last decision id, payment count):
pages key their cache on it, so a new alert, decision or loaded dataset refreshes the charts.

Hours and days are the shop's local ones (``display_tz``, an IANA zone; Europe/Paris by
default): an analyst reads "alerts at 3 am" in the shop's time.  PostgreSQL converts in SQL
(``timezone(zone, ts)``); SQLite has no time zones, so it groups by UTC quarter-hour and each
of those few buckets is converted in Python (exact for every zone, DST included: offsets are
whole quarters of an hour, Kathmandu's +05:45 too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from db.alerts import CONFLICT_ACTION
from db.models import (
    LIVE_DATASET,
    SEVERITIES,
    UNATTRIBUTED_DATASET,
    Alert,
    AlertDecision,
    AlertReason,
    PaymentRow,
)
from detector.rules import RULE_IDS

UNKNOWN = "unknown"
DEFAULT_TZ = "Europe/Paris"  # the shop's zone; the page passes settings.display_tz
# Alert columns the breakdown can group by; "method" comes from the payments table.
DIMENSIONS: tuple[str, ...] = ("country", "device", "utm_source", "method")


@dataclass(frozen=True)
class Totals:
    alerts: int
    payments: int
    high: int
    decided: int
    blocked: int
    approved: int

    @property
    def alert_rate(self) -> float:
        return self.alerts / self.payments if self.payments else 0.0


# --------------------------------------------------------------------------- dialect helpers


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _local_groups(
    session: Session, col: Any, tz: str, *keys: Any, where: Any = None
) -> pd.DataFrame:
    """Counts of rows per (local day, local hour, *keys) of the timestamp ``col``."""
    if _is_pg(session):
        local = func.timezone(tz, col)
        day = func.to_char(local, "YYYY-MM-DD")
        hour = cast(func.extract("hour", local), Integer)
        stmt = select(day, hour, *keys, func.count()).group_by(day, hour, *keys)
        if where is not None:
            stmt = stmt.where(where)
        return _rows(session, stmt, ["day", "hour", *[f"k{i}" for i in range(len(keys))], "n"])
    # SQLite keeps naive UTC text; "2025-11-20 13:30" is the quarter from 13:30 to 13:45.
    quarter = func.printf("%02d", cast(func.strftime("%M", col), Integer) / 15 * 15)
    bucket = func.strftime("%Y-%m-%d %H:", col).concat(quarter)
    stmt = select(bucket, *keys, func.count()).group_by(bucket, *keys)
    if where is not None:
        stmt = stmt.where(where)
    zone = ZoneInfo(tz)
    rows = []
    for b, *rest, n in session.execute(stmt):
        if b is None:
            continue
        at = datetime.strptime(b, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).astimezone(zone)
        rows.append((at.strftime("%Y-%m-%d"), at.hour, *rest, n))
    frame = pd.DataFrame(rows, columns=["day", "hour", *[f"k{i}" for i in range(len(keys))], "n"])
    return frame


def _rows(session: Session, stmt: Select[*tuple[Any, ...]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in session.execute(stmt)], columns=columns)


# --------------------------------------------------------------------------- queries


def _of(dataset: str | None, alert_id: Any = None) -> list[ColumnElement[bool]]:
    """Conditions keeping one dataset's alerts (none: every alert); ``alert_id``, the column
    of another table naming an alert, joins that table's rows to their alert."""
    if dataset is None:
        return []
    out: list[ColumnElement[bool]] = [Alert.dataset == dataset]
    if alert_id is not None:
        out.append(alert_id == Alert.alert_id)
    return out


def _alert_payment() -> ColumnElement[bool]:
    """Joins an alert to its payment among the loaded ones: the same id, loaded from the
    alert's own dataset (``payments.dataset``), so two datasets numbering their payments
    alike never lend each other a method or a label.  By id alone: rows loaded before the
    payments named their dataset (NULL: not known), and alerts of the live stream (or not
    attributed), which have no files of their own: a loaded export stands for their payments."""
    return and_(
        PaymentRow.payment_id == Alert.payment_id,
        or_(
            PaymentRow.dataset == Alert.dataset,
            PaymentRow.dataset.is_(None),
            Alert.dataset.in_((LIVE_DATASET, UNATTRIBUTED_DATASET)),
        ),
    )


def _payments_of(dataset: str | None) -> list[ColumnElement[bool]]:
    """Conditions keeping the loaded payments of one dataset (those of unknown dataset
    included); every loaded payment for all alerts, the live stream's or unattributed ones."""
    if dataset is None or dataset in (LIVE_DATASET, UNATTRIBUTED_DATASET):
        return []
    return [or_(PaymentRow.dataset == dataset, PaymentRow.dataset.is_(None))]


def data_version(session: Session) -> tuple[int, int, int]:
    """Changes whenever an alert is raised, a decision taken or payments are loaded."""
    alerts = session.scalar(select(func.count()).select_from(Alert)) or 0
    last_decision = session.scalar(select(func.max(AlertDecision.id))) or 0
    payments = session.scalar(select(func.count()).select_from(PaymentRow)) or 0
    return int(alerts), int(last_decision), int(payments)


def totals(session: Session, dataset: str | None = None) -> Totals:
    row = session.execute(
        select(
            func.count(),
            func.count(case((Alert.severity == "HIGH", 1))),
            func.count(case((Alert.status.in_(("APPROVED", "BLOCKED")), 1))),
            func.count(case((Alert.status == "BLOCKED", 1))),
            func.count(case((Alert.status == "APPROVED", 1))),
        )
        .select_from(Alert)
        .where(*_of(dataset))
    ).one()
    payments = (
        session.scalar(select(func.count()).select_from(PaymentRow).where(*_payments_of(dataset)))
        or 0
    )
    return Totals(
        alerts=int(row[0]),
        payments=int(payments),
        high=int(row[1]),
        decided=int(row[2]),
        blocked=int(row[3]),
        approved=int(row[4]),
    )


def reasons_distribution(session: Session, dataset: str | None = None) -> pd.DataFrame:
    """Alerts per rule that fired in them, every rule listed (0 when it never fired)."""
    stmt = (
        select(AlertReason.rule_id, func.count())
        .where(*_of(dataset, AlertReason.alert_id))
        .group_by(AlertReason.rule_id)
    )
    counts = {k: v for k, v in session.execute(stmt)}
    return pd.DataFrame(
        {"rule_id": list(RULE_IDS), "alerts": [int(counts.get(r, 0)) for r in RULE_IDS]}
    )


def reason_cooccurrence(session: Session, dataset: str | None = None) -> pd.DataFrame:
    """Alerts where both rules fired, for every ordered pair (the diagonal: the rule alone
    counted once per alert, i.e. its total)."""
    a, b = aliased(AlertReason), aliased(AlertReason)
    stmt = (
        select(a.rule_id, b.rule_id, func.count())
        .join(b, a.alert_id == b.alert_id)
        .where(*_of(dataset, a.alert_id))
        .group_by(a.rule_id, b.rule_id)
    )
    counts = {(x, y): int(n) for x, y, n in session.execute(stmt)}
    rows = [(x, y, counts.get((x, y), 0)) for x in RULE_IDS for y in RULE_IDS]
    return pd.DataFrame(rows, columns=["rule_a", "rule_b", "alerts"])


def severity_split(session: Session, dataset: str | None = None) -> pd.DataFrame:
    stmt = select(Alert.severity, func.count()).where(*_of(dataset)).group_by(Alert.severity)
    counts = {k: v for k, v in session.execute(stmt)}
    order = [s for s in SEVERITIES if s != "LOW" or counts.get(s)]
    return pd.DataFrame({"severity": order, "alerts": [int(counts.get(s, 0)) for s in order]})


def alerts_by_hour(
    session: Session, tz: str = DEFAULT_TZ, dataset: str | None = None
) -> pd.DataFrame:
    """Alerts per local hour of the day (0-23), every hour present."""
    g = _local_groups(session, Alert.event_ts, tz, where=_where(_of(dataset)))
    counts = g.groupby("hour")["n"].sum().to_dict() if not g.empty else {}
    return pd.DataFrame({"hour": range(24), "alerts": [int(counts.get(h, 0)) for h in range(24)]})


def alerts_by_day(
    session: Session, tz: str = DEFAULT_TZ, dataset: str | None = None
) -> pd.DataFrame:
    g = _local_groups(session, Alert.event_ts, tz, Alert.severity, where=_where(_of(dataset)))
    return _by_day(g, ["day", "severity", "alerts"])


def _where(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool] | None:
    return and_(*conditions) if conditions else None


def _by_day(g: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    if g.empty:
        return pd.DataFrame(columns=columns)
    keys = [c for c in g.columns if c.startswith("k")]
    out = g.groupby(["day", *keys], as_index=False)["n"].sum().sort_values(["day", *keys])
    out.columns = columns
    out[columns[-1]] = out[columns[-1]].astype(int)
    return out.reset_index(drop=True)


def breakdown(session: Session, dimension: str, dataset: str | None = None) -> pd.DataFrame:
    """Alerts per value of ``dimension`` (most first); missing values count as "unknown".

    ``method`` joins the payments table: alerts of payments not loaded are left out (their
    method is not known here, which is not the same as a payment without one), and so are
    those whose id was loaded from another dataset (:func:`_alert_payment`)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension: expected one of {list(DIMENSIONS)}, got {dimension!r}")
    if dimension == "method":
        value: ColumnElement[str] = func.coalesce(PaymentRow.method, literal(UNKNOWN))
        base = select(value, func.count()).select_from(Alert)
        base = base.join(PaymentRow, _alert_payment())
    else:
        value = func.coalesce(getattr(Alert, dimension), literal(UNKNOWN))
        base = select(value, func.count()).select_from(Alert)
    stmt = base.where(*_of(dataset)).group_by(value).order_by(func.count().desc(), value)
    return _rows(session, stmt, ["value", "alerts"])


def decisions_by_day(
    session: Session, tz: str = DEFAULT_TZ, dataset: str | None = None
) -> pd.DataFrame:
    """Decisions per local day and action (conflicting attempts excluded: nothing changed)."""
    where = _where([AlertDecision.action != CONFLICT_ACTION,
                    *_of(dataset, AlertDecision.alert_id)])  # fmt: skip
    g = _local_groups(session, AlertDecision.at, tz, AlertDecision.action, where=where)
    return _by_day(g, ["day", "action", "decisions"])


def analyst_workload(
    session: Session, tz: str = DEFAULT_TZ, dataset: str | None = None
) -> pd.DataFrame:
    where = _where([AlertDecision.action != CONFLICT_ACTION,
                    *_of(dataset, AlertDecision.alert_id)])  # fmt: skip
    g = _local_groups(session, AlertDecision.at, tz, AlertDecision.actor, where=where)
    return _by_day(g, ["day", "analyst", "decisions"])


def rule_precision(session: Session, dataset: str | None = None) -> pd.DataFrame:
    """Per rule: alerts it fired in, precision from decisions (BLOCKED = confirmed fraud,
    APPROVED = false positive; open alerts do not count) and from the payments' labels where
    loaded.  A precision without any decided (or labelled) alert is NaN, not 0."""
    fraud = case((PaymentRow.is_fraud.is_(True), 1), else_=0)
    stmt = (
        select(
            AlertReason.rule_id,
            func.count(),
            func.count(case((Alert.status == "BLOCKED", 1))),
            func.count(case((Alert.status == "APPROVED", 1))),
            func.count(PaymentRow.is_fraud),
            func.coalesce(func.sum(fraud), 0),
        )
        .select_from(AlertReason)
        .join(Alert, Alert.alert_id == AlertReason.alert_id)
        .outerjoin(
            PaymentRow,
            and_(_alert_payment(), PaymentRow.is_fraud.is_not(None)),
        )
        .where(*_of(dataset))
        .group_by(AlertReason.rule_id)
    )
    got = {r[0]: [int(v) for v in r[1:]] for r in session.execute(stmt)}
    rows = []
    for rid in RULE_IDS:
        alerts, blocked, approved, labelled, frauds = got.get(rid, [0, 0, 0, 0, 0])
        decided = blocked + approved
        rows.append(
            {
                "rule_id": rid,
                "alerts": alerts,
                "blocked": blocked,
                "approved": approved,
                "decision_precision": blocked / decided if decided else float("nan"),
                "labelled": labelled,
                "frauds": frauds,
                "label_precision": frauds / labelled if labelled else float("nan"),
            }
        )
    return pd.DataFrame(rows)
