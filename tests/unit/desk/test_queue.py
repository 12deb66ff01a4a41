"""The queue's service layer on SQLite: header numbers, pages, detail, history, actions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db.alerts import AlertFilters, count_alerts, decide
from db.archive import ArchiveUnavailable
from db.detector_store import alert_id_for
from db.engine import session_factory
from db.errors import DbError
from db.models import Alert, AlertDecision, Order, PaymentRow, WebSession
from desk import queue as q
from desk.auth import Principal
from desk.handle import DbHandle
from desk.runtime import Runtime
from tests.unit.db.builders import batch, scored, signed_in, write


@pytest.fixture
def alerts(session: Session) -> list[Alert]:
    pairs, states = scored(batch(120))
    write(session, pairs, states)
    session.commit()
    return list(session.scalars(select(Alert).order_by(Alert.event_ts)))


@pytest.fixture
def sessions(engine: Engine):
    return session_factory(engine)


def _status(session: Session, alert_id: str) -> tuple[str, int]:
    session.expire_all()
    a = session.get(Alert, alert_id)
    assert a is not None
    return a.status, a.row_version


def _decisions(session: Session, alert_id: str) -> list[tuple[str, str]]:
    rows = session.execute(
        select(AlertDecision.action, AlertDecision.actor)
        .where(AlertDecision.alert_id == alert_id)
        .order_by(AlertDecision.id)
    ).all()
    return [(a, b) for a, b in rows]


# --------------------------------------------------------------------------- header


def test_alert_rate_denominator_is_the_largest_known_count_and_never_below_alerts() -> None:
    assert q.payments_scored(0, 0, 10) == 10
    assert q.payments_scored(500, 200, 10) == 500
    assert q.payments_scored(100, 900, 10) == 900
    stats = q.QueueStats(10, 2, 5, q.payments_scored(3, 0, 10), payments_known=True)
    assert stats.alert_rate == 1.0  # a restarted detector counted fewer payments than alerts
    assert q.QueueStats(0, 0, 0, 0, payments_known=False).alert_rate is None


def test_queue_stats_counts_alerts_high_and_pending(session: Session, alerts: list[Alert]) -> None:
    decide(session, alerts[0].alert_id, "BLOCK", "ana", None, 1)
    session.commit()
    stats = q.queue_stats(session, status_payments_total=120)
    assert stats.total_alerts == len(alerts)
    assert stats.high == sum(a.severity == "HIGH" for a in alerts)
    assert stats.pending == len(alerts) - 1
    assert stats.payments_scored == 120
    assert stats.alert_rate == pytest.approx(len(alerts) / 120)


def test_payments_table_counts_when_larger(session: Session, alerts: list[Alert]) -> None:
    for i in range(300):
        session.add(
            PaymentRow(payment_id=f"P{i}", customer_id="C0", attempt_ts=alerts[0].event_ts,
                       amount=1.0, result="success")
        )  # fmt: skip
    session.commit()
    stats = q.queue_stats(session, status_payments_total=0)
    assert stats.payments_known and stats.payments_scored == 300


# --------------------------------------------------------------------------- pages


def test_pages_cover_every_alert_once_and_clamp_past_the_end(
    session: Session, alerts: list[Alert]
) -> None:
    f = AlertFilters()
    seen: list[str] = []
    page = q.queue_page(session, f, "time_asc", 1, page_size=10)
    assert page.total == len(alerts) and page.pages == -(-len(alerts) // 10)
    for n in range(1, page.pages + 1):
        seen += [r.alert_id for r in q.queue_page(session, f, "time_asc", n, 10).rows]
    assert seen == [a.alert_id for a in sorted(alerts, key=lambda a: (a.event_ts, a.alert_id))]
    last = q.queue_page(session, f, "time_asc", 999, 10)
    assert last.page == page.pages and last.rows


def test_build_filters_maps_widget_values(session: Session, alerts: list[Alert]) -> None:
    full = q.build_filters(score_range=(0, 200), score_bounds=(0, 200))
    assert full.score_min is None and full.score_max is None
    f = q.build_filters(
        status=["PENDING_REVIEW"],
        severity=["HIGH"],
        score_range=(90, 200),
        score_bounds=(0, 200),
        day_range=(date(2025, 11, 20), date(2025, 11, 20)),
        customer=" C3 ",
    )
    assert f.score_min == 90 and f.score_max is None and f.customer_id == "C3"
    assert f.event_from == datetime(2025, 11, 20, tzinfo=UTC)
    assert f.event_to == datetime(2025, 11, 21, tzinfo=UTC)
    rows = q.queue_page(session, f, page_size=1000).rows
    assert rows and all(
        r.severity == "HIGH" and r.score >= 90 and r.customer_id == "C3"
        and r.event_ts.date() == date(2025, 11, 20) for r in rows
    )  # fmt: skip
    assert len(rows) < len(alerts)


def test_facets_list_values_present(session: Session, alerts: list[Alert]) -> None:
    facets = q.facets(session)
    assert set(facets.countries) == {a.country for a in alerts}
    assert set(facets.devices) == {a.device for a in alerts}
    assert facets.score_max == max(a.score for a in alerts)
    assert facets.first_day == min(a.event_ts for a in alerts).date()


@pytest.mark.parametrize(
    "filters",
    [
        AlertFilters(),
        AlertFilters(status=("PENDING_REVIEW", "BLOCKED")),
        AlertFilters(severity="HIGH", country=("FR", "US")),
        AlertFilters(device=("ios", "mobile"), status="PENDING_REVIEW"),
    ],
)
def test_overview_counts_like_the_table(
    session: Session, alerts: list[Alert], filters: AlertFilters
) -> None:
    decide(session, alerts[0].alert_id, "BLOCK", "ana", None, 1)
    session.commit()
    ov = q.overview(session)
    assert ov.total == len(alerts)
    assert ov.matching(filters) == count_alerts(session, filters)
    page = q.queue_page(session, filters, page_size=1000, ov=ov)
    assert page.total == len(page.rows) == count_alerts(session, filters)


def test_overview_leaves_other_filters_to_the_database(session: Session) -> None:
    ov = q.overview(session)
    for f in (AlertFilters(rule_ids="GEO_MISMATCH"), AlertFilters(score_min=1),
              AlertFilters(customer_id="C1"),
              AlertFilters(event_from=datetime(2025, 1, 1, tzinfo=UTC))):  # fmt: skip
        assert ov.matching(f) is None


def test_payments_rows_counts_exactly_on_sqlite(session: Session) -> None:
    assert q.payments_rows(session, estimate_above=0) == 0


def test_facets_of_an_empty_database(session: Session) -> None:
    f = q.facets(session)
    assert f.countries == () and f.score_max == 0 and f.first_day is None


# --------------------------------------------------------------------------- detail


def test_detail_has_every_field_reasons_and_audit(session: Session, alerts: list[Alert]) -> None:
    a = alerts[3]
    decide(session, a.alert_id, "INVESTIGATE", "ana", "look", 1)
    session.commit()
    d = q.alert_detail(session, a.alert_id)
    assert d is not None
    assert set(d.fields) == {c.key for c in Alert.__table__.columns} - {"reasons"}
    assert d.row_version == 2 and d.fields["status"] == "INVESTIGATING"
    assert sum(r.points for r in d.reasons) == a.score
    assert all(r.detail_en and r.detail_fr for r in d.reasons)
    assert [(x.action, x.actor, x.note) for x in d.decisions] == [("INVESTIGATE", "ana", "look")]
    assert q.alert_detail(session, "nope") is None


def test_customer_history_lists_earlier_alerts_and_payments(
    session: Session, alerts: list[Alert]
) -> None:
    mine = [a for a in alerts if a.customer_id == alerts[-1].customer_id]
    target = mine[-1]
    h = q.customer_history(session, target.customer_id, target.event_ts, target.alert_id)
    assert [a.alert_id for a in h.alerts] == [a.alert_id for a in reversed(mine[:-1])]
    assert h.payments == () and not h.payments_loaded
    session.add(
        PaymentRow(payment_id="PX", customer_id=target.customer_id, attempt_ts=target.event_ts,
                   amount=5.0, result="failed")
    )  # fmt: skip
    session.commit()
    h = q.customer_history(session, target.customer_id, target.event_ts, target.alert_id)
    assert h.payments_loaded and [p.payment_id for p in h.payments] == ["PX"]
    # The alert's own payment is not an earlier one.
    h = q.customer_history(
        session, target.customer_id, target.event_ts, target.alert_id, exclude_payment_id="PX"
    )
    assert h.payments == () and h.payments_loaded


def test_count_decided_counts_approved_and_blocked_only(
    session: Session, alerts: list[Alert]
) -> None:
    ids = [a.alert_id for a in alerts[:3]]
    decide(session, ids[0], "BLOCK", "ana", None, 1)
    decide(session, ids[1], "INVESTIGATE", "ana", None, 1)
    session.commit()
    assert q.count_decided(session, ids) == 1
    assert q.count_decided(session, []) == 0


def test_session_timeline_without_clickstream_says_so(rt: Runtime) -> None:
    tl = q.session_timeline(rt, "S404")
    assert not tl.has_clickstream and tl.events == () and "no events table" in tl.source


class _Reader:
    """An event source with one page view per session (the archive's shape)."""

    source = "test reader"

    def __init__(self, ts: datetime) -> None:
        self.ts = ts

    def session_events(self, session_id: str, limit: int = 200) -> list[dict]:
        return [{"event_id": "E1", "event_type": "page_view", "event_timestamp": self.ts,
                 "session_id": session_id, "product_id": "P9"}]  # fmt: skip

    def customer_events(self, customer_id: str, limit: int = 200) -> list[dict]:
        return []


def test_session_timeline_uses_relational_context_and_a_reader(
    rt: Runtime, session: Session
) -> None:
    t0 = datetime(2025, 11, 20, 10, tzinfo=UTC)
    session.add(WebSession(session_id="S1", customer_id="C1", start_ts=t0,
                           end_ts=t0.replace(hour=11), device="ios", country="FR"))  # fmt: skip
    session.add(Order(order_id="O1", customer_id="C1", session_id="S1",
                      order_ts=t0.replace(minute=30), total_amount=12.5))  # fmt: skip
    session.commit()
    tl = q.session_timeline(rt, "S1")
    assert [e.kind for e in tl.events] == ["session_start", "order", "session_end"]
    assert not tl.has_clickstream
    assert "O1" in tl.events[1].summary and "12.50" in tl.events[1].summary

    tl = q.session_timeline(rt, "S1", _Reader(t0.replace(minute=5)))
    assert tl.has_clickstream and tl.source == "test reader" and tl.problem == ""
    # With an event source, its events replace the session rows; orders stay.
    assert [e.kind for e in tl.events] == ["page_view", "order"]


class _DownArchive(_Reader):
    source = "MongoDB archive"

    def session_events(self, session_id: str, limit: int = 200) -> list[dict]:
        raise ArchiveUnavailable("mongo:27017", "find", "connection refused")


def test_an_unreachable_archive_still_shows_the_relational_story(
    rt: Runtime, session: Session
) -> None:
    t0 = datetime(2025, 11, 20, 10, tzinfo=UTC)
    session.add(WebSession(session_id="S1", customer_id="C1", start_ts=t0))
    session.add(Order(order_id="O1", customer_id="C1", session_id="S1",
                      order_ts=t0.replace(minute=30), total_amount=12.5))  # fmt: skip
    session.commit()
    tl = q.session_timeline(rt, "S1", _DownArchive(t0))
    assert [e.kind for e in tl.events] == ["session_start", "order"]
    assert not tl.has_clickstream and tl.source == "MongoDB archive"
    assert "unreachable at mongo:27017" in tl.problem


# --------------------------------------------------------------------------- actions


@pytest.fixture
def ana(sessions) -> Principal:
    return signed_in(sessions, "ana", "analyst")


@pytest.fixture
def bob(sessions) -> Principal:
    return signed_in(sessions, "bob", "analyst")


def test_decide_many_updates_and_audits(
    sessions, alerts: list[Alert], ana: Principal, bob: Principal
) -> None:
    ids = [a.alert_id for a in alerts[:3]]
    result = q.decide_many(DbHandle(sessions), [(i, 1) for i in ids], "BLOCK", ana, "  ring  ")
    assert result.ok and result.updated == tuple(ids)
    with sessions() as s:
        assert all(_status(s, i) == ("BLOCKED", 2) for i in ids)
        notes = s.scalars(select(AlertDecision.note).where(AlertDecision.alert_id.in_(ids)))
        assert set(notes) == {"ring"}


def test_conflict_overwrites_nothing_and_is_reported(
    sessions, alerts: list[Alert], ana: Principal, bob: Principal
) -> None:
    a, b = alerts[0].alert_id, alerts[1].alert_id
    assert q.decide_many(DbHandle(sessions), [(a, 1)], "APPROVE", bob).ok
    # Ana still saw version 1 of `a`: her block loses, `b` is still decided.
    result = q.decide_many(DbHandle(sessions), [(a, 1), (b, 1)], "BLOCK", ana, "late")
    assert result.updated == (b,)
    assert result.conflicts == (q.Conflict(a, "APPROVED", "bob"),)
    with sessions() as s:
        assert _status(s, a) == ("APPROVED", 2)
        assert _decisions(s, a) == [("APPROVE", "bob"), ("CONFLICT", "ana")]


def test_missing_alert_is_reported(
    sessions, alerts: list[Alert], ana: Principal, bob: Principal
) -> None:
    result = q.decide_many(DbHandle(sessions), [("ALT-nope", 1)], "APPROVE", ana)
    assert result.missing == ("ALT-nope",) and not result.ok


def test_bulk_on_open_alerts_of_a_customer(
    sessions, alerts: list[Alert], ana: Principal, bob: Principal
) -> None:
    customer = alerts[0].customer_id
    mine = [a.alert_id for a in alerts if a.customer_id == customer]
    assert len(mine) > 2
    q.decide_many(DbHandle(sessions), [(mine[0], 1)], "APPROVE", bob)  # closed: left alone
    q.decide_many(DbHandle(sessions), [(mine[1], 1)], "INVESTIGATE", bob)  # open: included
    result = q.decide_open_of(DbHandle(sessions), "BLOCK", ana, "ring", customer_id=customer)
    assert set(result.updated) == set(mine[1:])
    with sessions() as s:
        assert _status(s, mine[0])[0] == "APPROVED"
        assert all(_status(s, i)[0] == "BLOCKED" for i in mine[1:])
        others = s.scalar(
            select(func.count()).select_from(Alert)
            .where(Alert.customer_id != customer, Alert.status != "PENDING_REVIEW")
        )  # fmt: skip
        assert others == 0


def test_bulk_on_open_alerts_of_a_device(
    sessions, alerts: list[Alert], ana: Principal, bob: Principal
) -> None:
    device = alerts[0].device_id
    mine = {a.alert_id for a in alerts if a.device_id == device}
    result = q.decide_open_of(DbHandle(sessions), "INVESTIGATE", ana, device_id=device)
    assert set(result.updated) == mine and result.ok
    again = q.decide_open_of(DbHandle(sessions), "BLOCK", ana, device_id=device)
    assert set(again.updated) == mine  # investigating alerts are still open
    assert q.decide_open_of(DbHandle(sessions), "BLOCK", ana, device_id=device).updated == ()


def test_open_alerts_needs_exactly_one_key(session: Session) -> None:
    with pytest.raises(DbError):
        q.open_alerts(session)
    with pytest.raises(DbError):
        q.open_alerts(session, customer_id="C1", device_id="D1")


def test_versions_of(session: Session, alerts: list[Alert]) -> None:
    ids = [alerts[0].alert_id, alerts[1].alert_id, "missing"]
    assert q.versions_of(session, ids) == {ids[0]: 1, ids[1]: 1}
    assert q.versions_of(session, []) == {}


def test_alert_ids_derive_from_payments(alerts: list[Alert]) -> None:
    assert all(a.alert_id == alert_id_for(a.payment_id) for a in alerts)


def test_broad_filters_are_counted_up_to_the_cap(
    session: Session, alerts: list[Alert], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = AlertFilters(score_min=0)  # not countable from the overview
    exact = count_alerts(session, f)
    assert exact > 6
    assert count_alerts(session, f, cap=5) == 6  # "more than 5"
    assert count_alerts(session, f, cap=exact) == exact
    monkeypatch.setattr(q, "COUNT_CAP", 5)
    page = q.queue_page(session, f, "score_desc", 99, page_size=2, ov=q.overview(session))
    assert page.capped and page.total == 6
    assert page.pages == 3 and page.page == 3  # paging stops at the cap
    assert len(page.rows) == 2
    simple = q.queue_page(session, AlertFilters(), "score_desc", 1, page_size=2,
                          ov=q.overview(session))  # fmt: skip
    assert simple.total == len(alerts) and not simple.capped  # exact, from the overview


# --------------------------------------------------------------------------- front-end reads


def test_load_alert_reads_detail_history_and_timeline_without_the_alerts_own_payment(
    rt: Runtime, session: Session, alerts: list[Alert]
) -> None:
    target = alerts[-1]
    session.add(
        PaymentRow(payment_id=target.payment_id, customer_id=target.customer_id,
                   attempt_ts=target.event_ts, amount=5.0, result="failed")
    )  # fmt: skip
    session.commit()
    view = q.load_alert(rt, target.alert_id)
    assert view is not None and view.detail.alert_id == target.alert_id
    # the alert's own payment is in the detail, not among the earlier payments
    assert view.history.payments == () and view.history.payments_loaded
    assert (view.timeline is None) == (not target.session_id)
    assert q.load_alert(rt, "ALT-nope") is None
    assert q.load_detail(rt, target.alert_id) is not None and q.load_detail(rt, "x") is None


def test_bulk_preview_lists_the_targets_and_counts_those_already_decided(
    rt: Runtime, session: Session, alerts: list[Alert]
) -> None:
    customer = alerts[0].customer_id
    mine = [a.alert_id for a in alerts if a.customer_id == customer]
    decide(session, mine[0], "BLOCK", "ana", None, 1)
    session.commit()
    seen, decided = q.bulk_preview(rt, customer_id=customer)
    assert [a for a, _ in seen] == mine[1:] and decided == 0  # a blocked alert is not open
    seen, decided = q.bulk_preview(rt, [(mine[0], 2), (mine[1], 1)])
    assert seen == ((mine[0], 2), (mine[1], 1)) and decided == 1
    assert q.load_versions(rt, [mine[0], "missing"]) == {mine[0]: 2}
