"""The insights page's use cases: every chart's data in one read (the aggregates are
:mod:`db.alert_counts`), a cheap fingerprint to key a cache on, and the CSV under each chart.

:func:`version_of` changes with a new alert, decision or loaded dataset, so a page that keys
its cache on it refreshes the charts then and only then.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy.orm import Session

from db import alert_counts as counts
from db.alert_counts import DEFAULT_TZ, DIMENSIONS, UNKNOWN, Totals
from desk import datasets

if TYPE_CHECKING:
    from desk.runtime import Runtime

__all__ = [
    "ACTION_LABELS",
    "DEFAULT_TZ",
    "DIMENSIONS",
    "UNKNOWN",
    "Insights",
    "Totals",
    "compute",
    "insights",
    "to_csv",
    "version_of",
]

# The label of each decision in the charts: a decided alert's status, or the act itself.
ACTION_LABELS: dict[str, str] = {
    "APPROVE": "status.APPROVED",
    "BLOCK": "status.BLOCKED",
    "INVESTIGATE": "act.INVESTIGATE",
}


@dataclass(frozen=True, eq=False)
class Insights:
    """Everything the insights page charts; each frame is the exact data behind one chart."""

    totals: Totals
    reasons: pd.DataFrame  # rule_id, alerts
    cooccurrence: pd.DataFrame  # rule_a, rule_b, alerts (all 11 x 11 pairs)
    severity: pd.DataFrame  # severity, alerts
    by_hour: pd.DataFrame  # hour (0-23), alerts
    by_day: pd.DataFrame  # day, severity, alerts
    breakdowns: dict[str, pd.DataFrame] = field(default_factory=dict)  # value, alerts
    decisions_by_day: pd.DataFrame = field(default_factory=pd.DataFrame)  # day, action, n
    workload: pd.DataFrame = field(default_factory=pd.DataFrame)  # day, analyst, decisions
    rule_precision: pd.DataFrame = field(default_factory=pd.DataFrame)


def compute(session: Session, tz: str = DEFAULT_TZ, dataset: str | None = None) -> Insights:
    """Every insight in one read transaction; hours and days in the zone ``tz``; with
    ``dataset``, of that dataset's alerts only."""
    return Insights(
        totals=counts.totals(session, dataset),
        reasons=counts.reasons_distribution(session, dataset),
        cooccurrence=counts.reason_cooccurrence(session, dataset),
        severity=counts.severity_split(session, dataset),
        by_hour=counts.alerts_by_hour(session, tz, dataset),
        by_day=counts.alerts_by_day(session, tz, dataset),
        breakdowns={d: counts.breakdown(session, d, dataset) for d in DIMENSIONS},
        decisions_by_day=counts.decisions_by_day(session, tz, dataset),
        workload=counts.analyst_workload(session, tz, dataset),
        rule_precision=counts.rule_precision(session, dataset),
    )


def to_csv(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV with a BOM, so spreadsheet tools read accents right."""
    return frame.to_csv(index=False).encode("utf-8-sig")


# --------------------------------------------------------------------------- front ends


def version_of(rt: Runtime) -> tuple[int, int, int]:
    """:func:`db.alert_counts.data_version` of the runtime's database (a cache key for
    :func:`insights`)."""
    with rt.sessions() as session:
        return counts.data_version(session)


def insights(rt: Runtime, tz: str | None = None, dataset: str | None = None) -> Insights:
    """Every insight, in the runtime's display zone unless ``tz`` says otherwise; with
    ``dataset``, of its alerts, and its alert rate over its own payments when its files
    say how many (a replay does not fill the payments table)."""
    with rt.sessions() as session:
        got = compute(session, tz or rt.settings.display_tz, dataset)
    payments = datasets.payments_scored(rt, dataset) if dataset is not None else None
    if payments is not None:
        got = replace(got, totals=replace(got.totals, payments=payments))
    return got
