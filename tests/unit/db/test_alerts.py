"""The review queue: filters, sorts, pages, decisions with their audit trail, stats."""

from __future__ import annotations

import importlib
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.orm import Session

from db.alerts import (
    AlertFilters,
    AlertSort,
    alert_history,
    count_alerts,
    count_groups,
    decide,
    delete_dataset_alerts,
    get_alert,
    list_alerts,
    scoring_lookup,
)
from db.detector_store import alert_id_for, ms_to_datetime
from db.errors import AlertNotFound, DbError, DecisionConflict
from db.models import Alert, AlertCount
from tests.unit.db.builders import Pair, batch, scored, session_of, write


@dataclass(frozen=True)
class Row:
    """What the oracle knows about a stored alert."""

    alert_id: str
    status: str
    severity: str
    rules: frozenset[str]
    score: int
    event_ts: datetime
    customer_id: str
    country: str
    device: str
    dataset: str


DECIDED = {0: "BLOCK", 1: "APPROVE", 2: "INVESTIGATE", 5: "BLOCK"}
GroupKey = tuple[str, str, str | None, str | None]
_COUNTS_MIGRATION = importlib.import_module("db.migrations.versions.0011_alert_counts")
COMPACT_EVERY: int = _COUNTS_MIGRATION.COMPACT_EVERY
STATUS_OF = {"BLOCK": "BLOCKED", "APPROVE": "APPROVED", "INVESTIGATE": "INVESTIGATING"}


@pytest.fixture
def queue(session: Session) -> list[Row]:
    """80 payments' alerts, a few of them decided, the first 30 payments from a replayed
    dataset and the rest live; returns the oracle's view of them."""
    pairs, states = scored(batch(80))
    write(session, pairs[:30], states, dataset="seed42")
    write(session, pairs[30:], states)
    session.commit()
    replayed = {v.payment_id for v, _ in pairs[:30]}
    alerting: list[Pair] = [pair for pair in pairs if pair[0].is_alert]
    rows = []
    for i, (v, p) in enumerate(alerting):
        dataset = "seed42" if v.payment_id in replayed else "live"
        alert_id = alert_id_for(v.payment_id, dataset)
        status = "PENDING_REVIEW"
        if i in DECIDED:
            decide(session, alert_id, DECIDED[i], "ana", None, 1)  # type: ignore[arg-type]
            status = STATUS_OF[DECIDED[i]]
        rows.append(
            Row(alert_id, status, v.severity, frozenset(r.rule_id for r in v.reasons), v.score,
                ms_to_datetime(v.ts_ms), v.customer_id, p.country, p.device, dataset)
        )  # fmt: skip
    session.commit()
    return rows


def _matches(row: Row, f: AlertFilters) -> bool:
    return (
        (not f.status or row.status in f.status)
        and (not f.severity or row.severity in f.severity)
        and (not f.rule_ids or bool(row.rules & set(f.rule_ids)))
        and (f.score_min is None or row.score >= f.score_min)
        and (f.score_max is None or row.score <= f.score_max)
        and (f.event_from is None or row.event_ts >= f.event_from)
        and (f.event_to is None or row.event_ts < f.event_to)
        and (not f.customer_id or row.customer_id == f.customer_id)
        and (not f.country or row.country in f.country)
        and (not f.device or row.device in f.device)
        and (not f.dataset or row.dataset in f.dataset)
    )


NOV_20_NOON = datetime(2025, 11, 20, 12, tzinfo=UTC)
FILTERS = [
    AlertFilters(),
    AlertFilters(status="PENDING_REVIEW"),
    AlertFilters(status=("APPROVED", "BLOCKED")),
    AlertFilters(severity="HIGH"),
    AlertFilters(rule_ids="GEO_MISMATCH"),
    AlertFilters(rule_ids=("VELOCITY_HIGH", "PAYMENT_FAILED")),
    AlertFilters(score_min=90, score_max=120),
    AlertFilters(event_from=NOV_20_NOON, event_to=datetime(2025, 11, 21, 6, tzinfo=UTC)),
    AlertFilters(customer_id="C3"),
    AlertFilters(country=("DE", "US"), device="ios"),
    AlertFilters(status="PENDING_REVIEW", severity="HIGH", rule_ids="NEW_DEVICE", score_min=80),
    AlertFilters(dataset="seed42"),
    AlertFilters(dataset="live", status="PENDING_REVIEW"),
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: repr(f)[13:60])
def test_filters_select_exactly_the_matching_alerts(
    session: Session, queue: list[Row], filters: AlertFilters
) -> None:
    expected = {r.alert_id for r in queue if _matches(r, filters)}
    got = list_alerts(session, filters, page_size=1000)
    assert {a.alert_id for a in got} == expected
    assert count_alerts(session, filters) == len(expected)


def test_the_fixture_exercises_every_filter(queue: list[Row]) -> None:
    # Each filter above must keep some alerts and drop others, or it proves nothing.
    for f in FILTERS[1:]:
        kept = sum(_matches(r, f) for r in queue)
        assert 0 < kept < len(queue), f


SORT_KEYS = {
    "score_desc": (lambda r: (r.score, r.alert_id), True),
    "score_asc": (lambda r: (r.score, r.alert_id), False),
    "time_desc": (lambda r: (r.event_ts, r.alert_id), True),
    "time_asc": (lambda r: (r.event_ts, r.alert_id), False),
}


@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_pages_follow_the_sort_without_gaps_or_repeats(
    session: Session, queue: list[Row], sort: AlertSort
) -> None:
    key, reverse = SORT_KEYS[sort]
    expected = [r.alert_id for r in sorted(queue, key=key, reverse=reverse)]  # type: ignore[arg-type]
    pages = [list_alerts(session, None, sort, page, 7) for page in range(1, 100)]
    flat = [a.alert_id for page in pages for a in page]
    assert flat == expected
    assert all(len(p) == 7 for p in pages[: len(expected) // 7])
    assert pages[len(expected) // 7 + 1] == []


@pytest.mark.parametrize("sort", list(SORT_KEYS))
def test_every_page_of_every_filter_follows_the_sort_from_either_end(
    session: Session, queue: list[Row], sort: AlertSort
) -> None:
    """Pages after the first skip rows in a subquery and pages in the second half are read
    from the end when the total is known: every way gives the oracle's page."""
    key, reverse = SORT_KEYS[sort]
    for filters in FILTERS:
        expected = [r.alert_id for r in sorted(queue, key=key, reverse=reverse)  # type: ignore[arg-type]
                    if _matches(r, filters)]  # fmt: skip
        total = len(expected)
        for size in (1, 7):
            for page in range(1, -(-total // size) + 2):
                want = expected[(page - 1) * size : page * size]
                got = list_alerts(session, filters, sort, page, size)
                assert [a.alert_id for a in got] == want, (filters, size, page)
                got = list_alerts(session, filters, sort, page, size, total=total)
                assert [a.alert_id for a in got] == want, (filters, size, page, total)


def test_a_deep_page_is_read_in_reverse_order_with_a_short_offset(
    session: Session, queue: list[Row]
) -> None:
    total = count_alerts(session)
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        list_alerts(session, None, "score_desc", -(-total // 5), 5, total=total)
        list_alerts(session, None, "score_desc", 1, 5, total=total)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    last, first = (sql for sql in seen if "FROM fraud_alerts" in sql)
    assert "score ASC" in last and "score DESC" not in last
    assert "score DESC" in first and "score ASC" not in first


@pytest.mark.parametrize(
    "kwargs",
    [{"sort": "amount"}, {"page": 0}, {"page_size": 0}, {"page_size": 5000}],
)
def test_bad_paging_arguments_are_refused(session: Session, kwargs: dict[str, object]) -> None:
    with pytest.raises(DbError):
        list_alerts(session, **kwargs)  # type: ignore[arg-type]


def test_unknown_filter_values_are_refused() -> None:
    with pytest.raises(DbError, match="status"):
        AlertFilters(status="OPEN")
    with pytest.raises(DbError, match="rule_ids"):
        AlertFilters(rule_ids="NO_SUCH_RULE")
    with pytest.raises(DbError, match="timezone-aware"):
        AlertFilters(event_from=datetime(2025, 11, 20))


def test_filters_are_hashable_for_caching() -> None:
    assert hash(AlertFilters(status=["PENDING_REVIEW"])) == hash(
        AlertFilters(status="PENDING_REVIEW")
    )


def _one_alert(session: Session) -> str:
    pairs, _ = scored(batch(3))
    write(session, pairs)
    session.commit()
    return alert_id_for(next(v for v, _ in pairs if v.is_alert).payment_id)


@pytest.mark.parametrize(("action", "status"), list(STATUS_OF.items()))
def test_decide_sets_the_status_and_appends_to_the_audit_trail(
    session: Session, action: str, status: str
) -> None:
    alert_id = _one_alert(session)
    alert = decide(session, alert_id, action, "ana", "checked with the bank", 1)  # type: ignore[arg-type]
    session.commit()
    assert (alert.status, alert.decision, alert.decided_by) == (status, action, "ana")
    assert alert.row_version == 2 and alert.decided_at is not None
    assert alert.notes == "checked with the bank"
    [entry] = alert_history(session, alert_id)
    assert (entry.action, entry.from_status, entry.to_status, entry.actor, entry.note) == (
        action, "PENDING_REVIEW", status, "ana", "checked with the bank",
    )  # fmt: skip


def test_a_stale_decision_is_refused_and_recorded_as_a_conflict(engine: Engine) -> None:
    with session_of(engine) as s:
        alert_id = _one_alert(s)
    # Two analysts load version 1; the first one decides.
    with session_of(engine) as first:
        decide(first, alert_id, "BLOCK", "ana", "fraud", 1)
        first.commit()
    with session_of(engine) as second, pytest.raises(DecisionConflict) as info:
        decide(second, alert_id, "APPROVE", "bob", "looks fine", 1)
    assert (info.value.expected, info.value.current, info.value.status) == (1, 2, "BLOCKED")
    with session_of(engine) as s:
        alert = get_alert(s, alert_id)
        assert alert is not None
        assert (alert.status, alert.decided_by, alert.row_version) == ("BLOCKED", "ana", 2)
        history = [(h.action, h.actor, h.to_status) for h in alert_history(s, alert_id)]
    assert history == [("BLOCK", "ana", "BLOCKED"), ("CONFLICT", "bob", "APPROVED")]


def test_deciding_again_on_the_current_version_works(session: Session) -> None:
    alert_id = _one_alert(session)
    decide(session, alert_id, "INVESTIGATE", "ana", None, 1)
    session.commit()
    alert = decide(session, alert_id, "APPROVE", "bob", "false positive", 2)
    session.commit()
    assert (alert.status, alert.row_version) == ("APPROVED", 3)
    assert [h.action for h in alert_history(session, alert_id)] == ["INVESTIGATE", "APPROVE"]


def test_decide_refuses_unknown_alerts_actions_and_anonymous_actors(session: Session) -> None:
    alert_id = _one_alert(session)
    with pytest.raises(AlertNotFound):
        decide(session, "ALT-NOPE", "BLOCK", "ana", None, 1)
    with pytest.raises(DbError, match="action"):
        decide(session, alert_id, "DELETE", "ana", None, 1)  # type: ignore[arg-type]
    with pytest.raises(DbError, match="actor"):
        decide(session, alert_id, "BLOCK", "", None, 1)
    assert alert_history(session, alert_id) == []


def _grouped(session: Session, dataset: str | None = None) -> Counter[GroupKey]:
    """The oracle: the alerts counted the slow way, one grouped scan of the table."""
    cols = (Alert.status, Alert.severity, Alert.country, Alert.device)
    stmt = select(*cols, func.count()).group_by(*cols)
    if dataset is not None:
        stmt = stmt.where(Alert.dataset == dataset)
    return Counter({(a, b, c, d): n for a, b, c, d, n in session.execute(stmt)})


def _kept(session: Session, dataset: str | None = None) -> Counter[GroupKey]:
    return Counter({g[:4]: g[4] for g in count_groups(session, dataset)})


def test_kept_counts_follow_writes_decisions_rescores_and_deletes(
    session: Session, queue: list[Row]
) -> None:
    assert sum(_kept(session).values()) == len(queue) > 0
    for dataset in (None, "seed42", "live", "nowhere"):
        assert _kept(session, dataset) == _grouped(session, dataset), dataset
    # A re-score that changes the severity, a move to another dataset, a dataset cleared.
    first, second = queue[0].alert_id, queue[1].alert_id
    session.execute(
        update(Alert).where(Alert.alert_id == first).values(severity="HIGH", country=None)
    )
    session.execute(update(Alert).where(Alert.alert_id == second).values(dataset="other"))
    assert delete_dataset_alerts(session, ["seed42"]) > 0
    session.commit()
    for dataset in (None, "seed42", "live", "other"):
        assert _kept(session, dataset) == _grouped(session, dataset), dataset
    decided = [r for r in queue if r.dataset == "seed42" and r.status != "PENDING_REVIEW"]
    kept = sum(_kept(session, "seed42").values())
    assert kept == len([r for r in decided if r.alert_id != second]) > 0


def test_kept_counts_fold_into_one_row_per_group(session: Session) -> None:
    """Past COMPACT_EVERY deltas the table folds: it stays small and the sums stay right."""
    base = datetime(2025, 11, 20, tzinfo=UTC)
    n = COMPACT_EVERY * 2 + 100
    session.add_all(
        Alert(alert_id=f"ALT-F{i}", payment_id=f"F{i}", event_ts=base, alert_ts=base,
              customer_id=f"C{i % 9}", country=("FR", "DE", None)[i % 3], device="ios",
              amount=1.0, score=70 + i % 30, severity=("MEDIUM", "HIGH")[i % 2], reasons=[],
              ruleset_version="v1")
        for i in range(n)
    )  # fmt: skip
    session.commit()
    rows = session.scalar(select(func.count()).select_from(AlertCount))
    assert rows is not None and rows < COMPACT_EVERY
    assert _kept(session) == _grouped(session)
    assert sum(_kept(session).values()) == n


def test_alert_rows_keep_reasons_as_json(session: Session, queue: list[Row]) -> None:
    alert = session.scalars(select(Alert).where(Alert.alert_id == queue[0].alert_id)).one()
    assert {r["rule_id"] for r in alert.reasons} == queue[0].rules


@pytest.mark.parametrize("hold_s", [0.0, 0.3])
def test_concurrent_decisions_on_sqlite_one_wins(engine: Engine, hold_s: float) -> None:
    with session_of(engine) as s:
        alert_id = _one_alert(s)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def analyst(name: str, action: str) -> None:
        with session_of(engine) as s:
            barrier.wait(5)
            try:
                decide(s, alert_id, action, name, None, 1)  # type: ignore[arg-type]
                time.sleep(hold_s)
                s.commit()
                results[name] = "won"
            except DecisionConflict as exc:
                s.rollback()
                results[name] = exc

    threads = [threading.Thread(target=analyst, args=("ana", "BLOCK")),
               threading.Thread(target=analyst, args=("bob", "APPROVE"))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [n for n, r in results.items() if r == "won"]
    assert len(winners) == 1 and len(results) == 2, results
    with session_of(engine) as s:
        history = sorted((h.actor, h.action) for h in alert_history(s, alert_id))
        alert = get_alert(s, alert_id)
    assert alert is not None and alert.decided_by == winners[0] and alert.row_version == 2
    assert [a for _, a in history].count("CONFLICT") == 1 and len(history) == 2


@pytest.mark.parametrize("context_managed", [False, True])
def test_a_decision_overtaken_between_read_and_write_is_a_conflict(
    engine: Engine, context_managed: bool
) -> None:
    """SQLite takes no lock on read: another analyst can commit between decide's read and its
    write; the row_version guard on the UPDATE catches it, whatever the caller's style."""
    with session_of(engine) as s:
        alert_id = _one_alert(s)

    def overtake(*_: object) -> None:
        with session_of(engine) as other:
            decide(other, alert_id, "BLOCK", "ana", None, 1)
            other.commit()

    with session_of(engine) as s, pytest.raises(DecisionConflict) as info:
        event.listen(s, "before_flush", overtake, once=True)
        if context_managed:
            with s.begin():
                decide(s, alert_id, "APPROVE", "bob", "fine", 1)
        else:
            decide(s, alert_id, "APPROVE", "bob", "fine", 1)
    assert (info.value.current, info.value.status) == (2, "BLOCKED")
    with session_of(engine) as s:
        history = [(h.action, h.actor, h.from_status) for h in alert_history(s, alert_id)]
        alert = get_alert(s, alert_id)
    assert history == [("BLOCK", "ana", "PENDING_REVIEW"), ("CONFLICT", "bob", "BLOCKED")]
    assert alert is not None and alert.decided_by == "ana"


def test_scoring_lookup_reads_a_state_and_an_existing_alert_in_one_go(session: Session) -> None:
    pairs, states = scored(batch(20))
    write(session, pairs, states)
    session.commit()
    alerted, paid = next((v, p) for v, p in pairs if v.is_alert)
    payer = paid.customer_id
    state, alert_id = scoring_lookup(session, payer, alerted.payment_id)
    assert state is not None and state.to_dict() == states[payer].to_dict()
    assert alert_id == f"ALT-{alerted.payment_id}"
    state, alert_id = scoring_lookup(session, "NEVER-SEEN", "PAY-NEVER")
    assert (state, alert_id) == (None, None)
