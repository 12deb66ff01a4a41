"""SQL injection attempts through every filter and search; run on SQLite (unit) and on the
real PostgreSQL (integration) by the same function."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from db import audit as trail
from db.alerts import AlertFilters, count_alerts, list_alerts
from db.engine import session_factory
from db.models import Alert
from desk import queue as q
from desk.auth import sign_in
from desk.handle import DbHandle
from tests.unit.db.builders import batch, scored, write
from tests.unit.security.payloads import SQL


def _row_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {
            t: int(s.scalar(select(func.count()).select_from(_table(t))) or 0)
            for t in inspect(engine).get_table_names()
        }


def _table(name: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import table

    return table(name)


def attempt_everywhere(engine: Engine) -> None:
    """Store some alerts, then feed each payload to each filter and search; nothing matches,
    nothing changes."""
    from datetime import timedelta

    pairs, states = scored(batch(40))
    with Session(engine) as s:
        write(s, pairs, states)
        s.commit()
    before = _row_counts(engine)
    assert before["fraud_alerts"] > 0
    sessions = session_factory(engine)
    with Session(engine) as s:
        total = count_alerts(s)
        columns = (Alert.alert_id, Alert.customer_id, Alert.country, Alert.device)
        real = s.execute(select(*columns).where(Alert.country != "")).first()
        assert real is not None
        # The filters do work: real values match (so the zeros below mean something).
        real_filter = AlertFilters(customer_id=real.customer_id, country=real.country,
                                   device=real.device)  # fmt: skip
        assert count_alerts(s, real_filter) >= 1
        assert q.alert_detail(s, real.alert_id) is not None
        for payload in SQL:
            for f in (
                AlertFilters(customer_id=payload),
                AlertFilters(customer_id=real.customer_id + payload),
                AlertFilters(country=(payload,)),
                AlertFilters(country=(real.country + payload,)),
                AlertFilters(device=(payload,)),
                q.build_filters(customer=payload, country=[payload], device=[payload]),
                q.build_filters(customer=f" {payload} ", day_range=[date(2025, 11, 1)]),
            ):
                assert count_alerts(s, f) == 0, (payload, f)
                assert list_alerts(s, f, page_size=10) == []
            assert q.open_alerts(s, customer_id=payload) == []
            assert q.open_alerts(s, device_id=payload) == []
            assert q.alert_detail(s, payload) is None
            assert q.alert_detail(s, real.alert_id + payload) is None
            assert q.versions_of(s, [payload]) == {}
            for f in (
                trail.AuditFilters(actor=payload),
                trail.AuditFilters(action=payload),
                trail.AuditFilters(outcome=payload),
                trail.AuditFilters(target=payload),
            ):
                assert trail.count_events(s, f) == 0
        assert count_alerts(s) == total
    for payload in SQL:
        out = sign_in(
            DbHandle(sessions), payload, payload, timedelta(minutes=1), timedelta(hours=1)
        )
        assert out.principal is None
    after = _row_counts(engine)
    # Only the failed sign-ins were added: to the audit trail, and one failure counter per
    # name without an account (the lockout of unknown names).  Every table is still there
    # with every row.
    assert set(after) == set(before)
    assert after["audit_log"] == before["audit_log"] + len(SQL)
    names = {p.strip().lower()[:64] for p in SQL}
    assert after["sign_in_failures"] == before["sign_in_failures"] + len(names)
    counters = {"audit_log", "sign_in_failures"}
    assert {k: v for k, v in after.items() if k not in counters} == {
        k: v for k, v in before.items() if k not in counters
    }
