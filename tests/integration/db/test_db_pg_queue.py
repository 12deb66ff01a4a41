"""The queue's reads and the insights' local time on PostgreSQL: deep pages read from the end,
capped counts, and hours and days converted by the server's time-zone database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from db import alert_counts
from db.alerts import AlertFilters, count_alerts, list_alerts
from db.models import Alert
from desk import queue as q
from tests.unit.db.builders import batch, scored, session_of, write

pytestmark = pytest.mark.integration


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
