"""The repository on PostgreSQL: save_batch's COPY path and fencing, concurrent decisions and
publishes from separate connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db.alerts import AlertFilters, alert_history, count_alerts, decide, get_alert, list_alerts
from db.detector_store import OutboxRecord, alert_id_for, load_offsets, load_outbox, load_states
from db.engine import make_engine
from db.errors import DecisionConflict, OffsetConflict
from db.migrate import upgrade
from db.models import Alert, AlertReason, DeadLetter
from db.rulesets import active_ruleset, list_rulesets, publish_ruleset
from detector.rules import default_ruleset
from tests.integration.db.race import at_once
from tests.unit.db.builders import DeadLetterRecord, batch, scored, session_of, write

pytestmark = pytest.mark.integration

KEY = ("payments", 0)


def _count(engine: Engine, model: type) -> int:
    with session_of(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_save_batch_is_idempotent_and_keeps_decisions(pg_engine: Engine) -> None:
    pairs, states = scored(batch(60))
    alerts = [p for p in pairs if p[0].is_alert]
    with session_of(pg_engine) as s:
        write(s, pairs, states, offsets={KEY: 60}, expected={KEY: None})
        s.commit()
        first = alert_id_for(alerts[0][0].payment_id)
        decide(s, first, "BLOCK", "ana", None, 1)
        s.commit()
        rescored = [(replace(v, score=999, reasons=()), p) for v, p in pairs]
        # Same batch again, re-scored, twice in one transaction (the temp tables are reused).
        write(s, rescored, states, offsets={KEY: 60}, expected={KEY: 60})
        write(s, pairs, states)
        s.commit()
        stored = s.get(Alert, first)
        assert stored is not None
        assert (stored.status, stored.score) == ("BLOCKED", alerts[0][0].score)
        assert s.scalar(select(func.max(Alert.score))) < 999
        assert load_offsets(s, "g") == {KEY: 60}
        loaded = load_states(s, states)
        assert {c: x.to_dict() for c, x in loaded.items()} == {
            c: x.to_dict() for c, x in states.items()
        }
    assert _count(pg_engine, Alert) == len(alerts)
    assert _count(pg_engine, AlertReason) == sum(len(v.reasons) for v, _ in alerts)


def test_reason_filter_uses_the_reasons_written_by_copy(pg_engine: Engine) -> None:
    pairs, _ = scored(batch(60))
    with session_of(pg_engine) as s:
        write(s, pairs)
        s.commit()
        geo = {alert_id_for(v.payment_id) for v, _ in pairs
               if v.is_alert and any(r.rule_id == "GEO_MISMATCH" for r in v.reasons)}  # fmt: skip
        got = list_alerts(s, AlertFilters(rule_ids="GEO_MISMATCH"), page_size=500)
        assert 0 < len(geo) < sum(v.is_alert for v, _ in pairs)
        assert {a.alert_id for a in got} == geo
        assert count_alerts(s, AlertFilters(rule_ids="GEO_MISMATCH")) == len(geo)


def test_fenced_batch_writes_nothing(pg_engine: Engine) -> None:
    pairs, states = scored(batch(20))
    with session_of(pg_engine) as s:
        write(s, [], offsets={KEY: 100}, expected={KEY: None})
        s.commit()
        with pytest.raises(OffsetConflict) as info:
            write(s, pairs, states, offsets={KEY: 120, ("payments", 1): 5},
                  expected={KEY: 90, ("payments", 1): None},
                  dead_letters=[DeadLetterRecord("payments", 0, 95, "bad", "", b"\x00")],
                  outbox=[OutboxRecord("ALT-X", "fraud-alerts", None, b"x")])  # fmt: skip
        s.rollback()
        assert (info.value.partition, info.value.expected, info.value.found) == (0, 90, 100)
        assert load_offsets(s, "g") == {KEY: 100}
        assert load_outbox(s) == []
    assert _count(pg_engine, Alert) == 0 and _count(pg_engine, DeadLetter) == 0


def test_two_consumers_racing_for_a_new_partition_one_is_fenced(pg_engine: Engine) -> None:
    """Both believe no offset is stored; the second blocks on the first's insert, then loses."""
    first_pairs, _ = scored(batch(10, prefix="A"))
    second_pairs, _ = scored(batch(10, prefix="B"))
    outcome: dict[str, object] = {}
    started = threading.Event()

    def second() -> None:
        with session_of(pg_engine) as s:
            started.set()
            try:
                write(s, second_pairs, offsets={KEY: 10}, expected={KEY: None})
                s.commit()
                outcome["second"] = "committed"
            except OffsetConflict as exc:
                s.rollback()
                outcome["second"] = exc

    with session_of(pg_engine) as s:
        write(s, first_pairs, offsets={KEY: 10}, expected={KEY: None})
        thread = threading.Thread(target=second)
        thread.start()
        started.wait(5)
        time.sleep(0.5)  # the second consumer is now waiting on our uncommitted row
        assert thread.is_alive()
        s.commit()
    thread.join(10)
    assert isinstance(outcome["second"], OffsetConflict)
    with session_of(pg_engine) as s:
        ids = set(s.scalars(select(Alert.payment_id)))
    assert ids == {v.payment_id for v, _ in first_pairs if v.is_alert}


def test_dead_letters_with_nul_bytes_are_stored_once(pg_engine: Engine) -> None:
    letter = DeadLetterRecord("payments", 2, 7, "bad\x00reason", "d", b"\x00\xff" + b"x" * 9000)
    with session_of(pg_engine) as s:
        write(s, [], dead_letters=[letter])
        write(s, [], dead_letters=[letter])
        s.commit()
        [row] = s.scalars(select(DeadLetter)).all()
    assert row.payload.startswith("\ufffd\ufffdx") and len(row.payload.encode()) == 4096
    assert row.reason == "bad\ufffdreason"


def _race(engine: Engine, alert_id: str, hold_s: float) -> dict[str, object]:
    """Ana and Bob decide on version 1 of the same alert at the same moment, each on their
    own connection; whoever gets the row first keeps its transaction open ``hold_s``."""

    def analyst(name: str, action: str) -> Callable[[], object]:
        def run() -> object:
            with session_of(engine) as s:
                try:
                    decide(s, alert_id, action, name, f"{name}'s call", 1)  # type: ignore[arg-type]
                    time.sleep(hold_s)
                    s.commit()
                    return "won"
                except DecisionConflict as exc:
                    s.rollback()
                    return exc

        return run

    ana, bob = at_once(analyst("ana", "BLOCK"), analyst("bob", "APPROVE"))
    return {"ana": ana, "bob": bob}


@pytest.mark.parametrize("hold_s", [0.0, 0.3])
def test_concurrent_decisions_one_wins_and_both_are_audited(
    pg_engine: Engine, hold_s: float
) -> None:
    pairs, _ = scored(batch(12))
    with session_of(pg_engine) as s:
        write(s, pairs)
        s.commit()
    alert_ids = [alert_id_for(v.payment_id) for v, _ in pairs if v.is_alert][:4]
    assert len(alert_ids) == 4
    for alert_id in alert_ids:  # several rounds: the race must come out right every time
        results = _race(pg_engine, alert_id, hold_s)
        winners = [n for n, r in results.items() if r == "won"]
        losers = [n for n, r in results.items() if isinstance(r, DecisionConflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        with session_of(pg_engine) as s:
            alert = get_alert(s, alert_id)
            history = alert_history(s, alert_id)
        assert alert is not None
        assert alert.decided_by == winners[0] and alert.row_version == 2
        assert alert.status == ("BLOCKED" if winners[0] == "ana" else "APPROVED")
        assert sorted((h.actor, h.action) for h in history) == sorted(
            [(winners[0], "BLOCK" if winners[0] == "ana" else "APPROVE"), (losers[0], "CONFLICT")]
        )


def test_concurrent_publishes_leave_exactly_one_active_version(pg_engine: Engine) -> None:
    with session_of(pg_engine) as s:
        active_ruleset(s)
        s.commit()

    def publisher(points: int) -> Callable[[], int]:
        def run() -> int:
            with Session(pg_engine) as s:
                ruleset = default_ruleset().with_points({"NEW_DEVICE": points})
                version = publish_ruleset(s, ruleset, f"owner{points}", "")
                time.sleep(0.05)
                s.commit()
                return version

        return run

    versions = at_once(*(publisher(p) for p in (10, 20, 30, 40)))
    assert sorted(versions) == [2, 3, 4, 5]
    with session_of(pg_engine) as s:
        infos = list_rulesets(s)
        assert [i.version for i in infos if i.active] == [5]
        assert active_ruleset(s)[0] == 5


def test_postgresql_and_sqlite_store_the_same_rows(pg_engine: Engine, tmp_path: Path) -> None:
    """PostgreSQL writes a batch as one statement of JSON rows, SQLite (the embedded default)
    through SQLAlchemy inserts: the same batches must leave the same rows in both."""
    from db.models import DetectorStateRow

    pairs, states = scored(batch(60))
    dead = [DeadLetterRecord("payments", 1, o, "bad\x00", "why", b"\xff" * o) for o in (3, 9000)]
    outbox = [OutboxRecord("ALT-1", "fraud-alerts", "C1", b"\x00\x01", {"h": "v"})]

    def write_twice(engine: Engine) -> None:
        with session_of(engine) as s:
            write(s, pairs, states, offsets={KEY: 7, ("payments", 1): 3},
                  dead_letters=dead, outbox=outbox)  # fmt: skip
            write(s, pairs, states, offsets={KEY: 9}, expected={KEY: 7},
                  dead_letters=dead, outbox=outbox)  # idempotent  # fmt: skip
            s.commit()

    def snapshot(engine: Engine) -> tuple[list, ...]:
        with session_of(engine) as s:
            alerts = [
                (a.alert_id, a.event_ts, a.alert_ts, a.customer_id, a.session_id, a.device,
                 a.device_id, a.utm_source, a.country, a.amount, a.currency, a.score,
                 a.severity, a.reasons, a.ruleset_version, a.status, a.row_version)
                for a in s.scalars(select(Alert).order_by(Alert.alert_id))
            ]  # fmt: skip
            reasons = s.execute(
                select(AlertReason.alert_id, AlertReason.rule_id).order_by(
                    AlertReason.alert_id, AlertReason.rule_id
                )
            ).all()
            st = s.execute(
                select(DetectorStateRow.customer_id, DetectorStateRow.state).order_by(
                    DetectorStateRow.customer_id
                )
            ).all()
            letters = s.execute(
                select(DeadLetter.source_topic, DeadLetter.offset, DeadLetter.reason,
                       DeadLetter.detail, DeadLetter.payload).order_by(DeadLetter.offset)
            ).all()  # fmt: skip
            return alerts, reasons, st, letters, [load_offsets(s, "g")], load_outbox(s)

    lite = make_engine(f"sqlite:///{tmp_path / 'kvt.db'}")
    upgrade(lite)
    for engine in (pg_engine, lite):
        write_twice(engine)
    got_pg, got_lite = snapshot(pg_engine), snapshot(lite)
    lite.dispose()
    # alert_ts is the wall clock of each write: the two runs differ only there.
    assert [a[:2] + a[3:] for a in got_pg[0]] == [a[:2] + a[3:] for a in got_lite[0]]
    assert got_pg[1:] == got_lite[1:]
    alerts, reasons, _, letters, [offsets], queued = got_pg
    assert len(alerts) > 5 and len(reasons) >= len(alerts) and len(letters) == 2
    assert offsets == {KEY: 9, ("payments", 1): 3} and queued == outbox


def test_outbox_round_trips_binary_values_and_headers(pg_engine: Engine) -> None:
    rows = [
        OutboxRecord("ALT-P1", "fraud-alerts", "C1", b'{"score": 90}'),
        OutboxRecord("DLQ-payments-0-7", "dead-letters", None, b"\x00\xff\n", {"reason": "bad"}),
    ]
    with session_of(pg_engine) as s:
        write(s, [], outbox=rows)
        write(s, [], outbox=rows)
        s.commit()
        assert load_outbox(s) == rows
        write(s, [], published={"DLQ-payments-0-7"})
        s.commit()
        assert load_outbox(s) == rows[:1]


def test_two_consumers_moving_the_same_offset_one_is_fenced(pg_engine: Engine) -> None:
    """A zombie and the new owner both read offsets 100.. and both want next = 120: the
    UPDATE fence lets one through; the other waits on its row lock, re-checks and is named
    as a conflict on that partition (even though the stored offset is the one it wanted)."""
    other = ("user-events", 2)
    with session_of(pg_engine) as s:
        write(s, [], offsets={KEY: 100, other: 7}, expected={KEY: None, other: None})
        s.commit()

    def consumer(prefix: str) -> Callable[[], object]:
        pairs, _ = scored(batch(10, prefix=prefix))

        def run() -> object:
            with session_of(pg_engine) as s:
                try:
                    write(s, pairs, offsets={other: 9, KEY: 120},
                          expected={other: 7, KEY: 100})  # fmt: skip
                    time.sleep(0.3)  # hold the row locks: the other one must wait
                    s.commit()
                    return prefix
                except OffsetConflict as exc:
                    s.rollback()
                    return exc

        return run

    results = at_once(consumer("A"), consumer("B"))
    winners = [r for r in results if isinstance(r, str)]
    conflicts = [r for r in results if isinstance(r, OffsetConflict)]
    assert len(winners) == 1 and len(conflicts) == 1, results
    assert (conflicts[0].topic, conflicts[0].partition) in {KEY, other}
    assert conflicts[0].found in (9, 120)  # what the winner stored
    with session_of(pg_engine) as s:
        assert load_offsets(s, "g") == {KEY: 120, other: 9}
        ids = set(s.scalars(select(Alert.payment_id)))
    assert ids and all(i.startswith(winners[0]) for i in ids)
