"""The queue's reads and the insights' local time on PostgreSQL: deep pages read from the end,
capped counts, and hours and days converted by the server's time-zone database."""

from __future__ import annotations

import importlib
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from db import alert_counts
from db.alerts import (
    AlertFilters,
    count_alerts,
    count_groups,
    decide,
    delete_dataset_alerts,
    list_alerts,
)
from db.models import Alert, AlertCount
from desk import queue as q
from tests.unit.db.builders import batch, scored, session_of, write

pytestmark = pytest.mark.integration
COMPACT_EVERY: int = importlib.import_module(
    "db.migrations.versions.0011_alert_counts"
).COMPACT_EVERY


@pytest.fixture
def filled(pg_engine: Engine) -> Engine:
    pairs, states = scored(batch(240))
    with session_of(pg_engine) as s:
        write(s, pairs, states)
        s.commit()
    return pg_engine


@pytest.mark.parametrize("sort", ["score_desc", "score_asc", "time_desc", "time_asc"])
def test_deep_pages_read_from_the_end_equal_the_front(filled: Engine, sort: str) -> None:
    with session_of(filled) as s:
        total = count_alerts(s)
        assert total > 40
        for page in range(1, -(-total // 9) + 2):
            front = [a.alert_id for a in list_alerts(s, None, sort, page, 9)]  # type: ignore[arg-type]
            back = list_alerts(s, None, sort, page, 9, total=total)  # type: ignore[arg-type]
            assert [a.alert_id for a in back] == front, page


def test_queue_page_counts_broad_filters_up_to_the_cap(
    filled: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = AlertFilters(score_min=60)
    with session_of(filled) as s:
        exact = count_alerts(s, f)
        monkeypatch.setattr(q, "COUNT_CAP", exact - 1)
        page = q.queue_page(s, f, "time_asc", 10_000, page_size=5, ov=q.overview(s))
        assert page.capped and page.total == exact  # the cap + 1: "more than cap"
        # Paging stops at the cap: the last page holds the cap's last alerts, not the tail.
        assert page.page == page.pages == -(-(exact - 1) // 5)
        monkeypatch.setattr(q, "COUNT_CAP", exact)
        page = q.queue_page(s, f, "time_asc", 10_000, page_size=5, ov=q.overview(s))
        assert not page.capped and page.total == exact
        every = list_alerts(s, f, "time_asc", 1, 1000)
        assert [r.alert_id for r in page.rows] == [a.alert_id for a in every][(page.page - 1) * 5 :]


# Around both of Paris's 2025 clock changes (30 March, 26 October, 01:00 UTC), at minutes
# that Kolkata (+05:30) and Kathmandu (+05:45) put in a different hour than UTC does.
STAMPS = [
    datetime(2025, 3, 30, 0, 50, tzinfo=UTC) + timedelta(minutes=20 * i) for i in range(12)
] + [datetime(2025, 10, 26, 0, 10, tzinfo=UTC) + timedelta(minutes=25 * i) for i in range(12)]


@pytest.mark.parametrize("tz", ["Europe/Paris", "Asia/Kathmandu", "America/New_York", "UTC"])
def test_hours_and_days_in_the_display_zone(pg_engine: Engine, tz: str) -> None:
    with session_of(pg_engine) as s:
        for i, ts in enumerate(STAMPS):
            s.add(Alert(alert_id=f"A{i}", payment_id=f"P{i}", event_ts=ts, alert_ts=ts,
                        customer_id="C1", amount=10.0, score=90, severity="HIGH",
                        reasons=[], ruleset_version="1"))  # fmt: skip
        s.commit()
        zone = ZoneInfo(tz)
        hours = alert_counts.alerts_by_hour(s, tz).set_index("hour")["alerts"].to_dict()
        want = Counter(ts.astimezone(zone).hour for ts in STAMPS)
        assert hours == {h: want.get(h, 0) for h in range(24)}
        days = alert_counts.alerts_by_day(s, tz)
        want_days = Counter(ts.astimezone(zone).strftime("%Y-%m-%d") for ts in STAMPS)
        assert dict(zip(days["day"], days["alerts"], strict=True)) == dict(want_days)


# --------------------------------------------------------------------------- kept counts
# Migration 0011: triggers keep the alert counts per group as deltas; the queue's header and
# the API read their sums instead of a grouped scan of every alert.

GroupKey = tuple[str, str, str | None, str | None]


def _grouped(s: Session, dataset: str | None = None) -> Counter[GroupKey]:
    """The oracle: one grouped scan of the alerts."""
    cols = (Alert.status, Alert.severity, Alert.country, Alert.device)
    stmt = select(*cols, func.count()).group_by(*cols)
    if dataset is not None:
        stmt = stmt.where(Alert.dataset == dataset)
    return Counter({(a, b, c, d): n for a, b, c, d, n in s.execute(stmt)})


def _kept(s: Session, dataset: str | None = None) -> Counter[GroupKey]:
    return Counter({g[:4]: g[4] for g in count_groups(s, dataset)})


def test_kept_counts_follow_the_detectors_batches_resends_and_decisions(pg_engine: Engine) -> None:
    pairs, states = scored(batch(240))
    with session_of(pg_engine) as s:
        write(s, pairs[:120], states, dataset="seed42")
        write(s, pairs, states)
        s.commit()
        before = _kept(s)
        write(s, pairs[:120], states, dataset="seed42")  # a re-sent batch changes nothing
        s.commit()
        assert _kept(s) == before == _grouped(s)
        assert sum(before.values()) == count_alerts(s) > 40
        ids = s.scalars(select(Alert.alert_id).order_by(Alert.alert_id).limit(6)).all()
        for alert_id, action in zip(ids, ["BLOCK", "APPROVE", "INVESTIGATE"] * 2, strict=True):
            decide(s, alert_id, action, "ana", None, 1)  # type: ignore[arg-type]
        s.commit()
        assert delete_dataset_alerts(s, ["seed42"]) > 0
        s.commit()
        for dataset in (None, "seed42", "live", "nowhere"):
            assert _kept(s, dataset) == _grouped(s, dataset), dataset
        assert q.overview(s).total == count_alerts(s)


def test_kept_counts_stay_exact_while_writers_fold_them_concurrently(pg_engine: Engine) -> None:
    """Four writers append one delta per statement past a fold mark, while decisions move
    alerts between groups: the sums equal the grouped count and the deltas were folded."""
    base = datetime(2025, 11, 20, tzinfo=UTC)
    insert = text(
        "INSERT INTO fraud_alerts (alert_id, payment_id, event_ts, alert_ts, customer_id,"
        " amount, score, severity, reasons, ruleset_version, dataset, country, device,"
        " created_at, updated_at) VALUES (:a, :a, :t, :t, 'C1', 1.0, :score, :sev, '[]', '1',"
        " :d, :c, 'ios', :t, :t)"
    )
    per_writer = COMPACT_EVERY // 3
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            with pg_engine.connect() as conn:
                for i in range(per_writer):
                    conn.execute(insert, {
                        "a": f"W{k}-{i}", "t": base, "score": 60 + i % 40,
                        "sev": ("MEDIUM", "HIGH")[i % 2], "d": ("a", "b")[k % 2],
                        "c": ("FR", "DE", "US", None)[i % 4],
                    })  # fmt: skip
                    conn.commit()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def decider() -> None:
        try:
            with session_of(pg_engine) as s:
                for i in range(0, per_writer, 7):
                    alert_id = f"W0-{i}"
                    if s.get(Alert, alert_id) is not None:
                        decide(s, alert_id, "BLOCK", "ana", None, 1)
                        s.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    threads.append(threading.Thread(target=decider))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_of(pg_engine) as s:
        for dataset in (None, "a", "b"):
            assert _kept(s, dataset) == _grouped(s, dataset), dataset
        assert sum(_kept(s).values()) == 4 * per_writer
        assert s.scalar(select(func.count()).select_from(AlertCount)) < 4 * per_writer
        assert s.scalar(select(func.min(AlertCount.id))) > 1  # folded at least once
