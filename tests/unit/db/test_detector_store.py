"""save_batch: idempotent alerts, state and offset upserts, offset fencing, dead letters."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from db.alerts import decide, get_alert
from db.detector_store import (
    MAX_PAYLOAD_BYTES,
    OutboxRecord,
    alert_id_for,
    alert_row,
    delete_outbox,
    known_customers,
    load_batch_reads,
    load_offsets,
    load_outbox,
    load_states,
    save_batch,
    truncate_payload,
)
from db.errors import OffsetConflict
from db.models import Alert, AlertReason, Customer, DeadLetter, DetectorStateRow
from tests.unit.db.builders import DeadLetterRecord, batch, scored, write

KEY = ("payments", 0)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_alerts_are_written_for_alerting_verdicts_only(session: Session) -> None:
    pairs, states = scored(batch(40))
    write(session, pairs, states)
    session.commit()
    expected = {alert_id_for(v.payment_id) for v, _ in pairs if v.is_alert}
    assert 0 < len(expected) < len(pairs)  # the batch has both kinds
    assert set(session.scalars(select(Alert.alert_id))) == expected
    verdict, payment = next((v, p) for v, p in pairs if v.is_alert)
    alert = get_alert(session, alert_id_for(verdict.payment_id))
    assert alert is not None
    assert (alert.score, alert.severity, alert.customer_id) == (
        verdict.score, verdict.severity, verdict.customer_id,
    )  # fmt: skip
    assert (alert.device, alert.country, alert.amount) == (payment.device, payment.country,
                                                           payment.amount)  # fmt: skip
    assert alert.event_ts.timestamp() * 1000 == verdict.ts_ms
    assert alert.status == "PENDING_REVIEW" and alert.row_version == 1
    assert [r["rule_id"] for r in alert.reasons] == [r.rule_id for r in verdict.reasons]
    assert alert.reasons[0]["detail_en"]


def test_same_batch_twice_gives_one_alert_each(session: Session) -> None:
    pairs, states = scored(batch(30))
    write(session, pairs, states)
    session.commit()
    write(session, pairs, states)
    session.commit()
    alerts = sum(v.is_alert for v, _ in pairs)
    reasons = sum(len(v.reasons) for v, _ in pairs if v.is_alert)
    assert _count(session, Alert) == alerts
    assert _count(session, AlertReason) == reasons


def test_duplicate_payment_inside_one_batch_is_stored_once(session: Session) -> None:
    pairs, _ = scored(batch(5))
    alerting = [pair for pair in pairs if pair[0].is_alert]
    write(session, alerting + alerting)
    session.commit()
    assert _count(session, Alert) == len(alerting)


def test_rescore_never_overwrites_an_alert_or_its_decision(session: Session) -> None:
    pairs, _ = scored(batch(10))
    verdict, payment = next(pair for pair in pairs if pair[0].is_alert)
    write(session, [(verdict, payment)])
    session.commit()
    alert_id = alert_id_for(verdict.payment_id)
    decide(session, alert_id, "BLOCK", "ana", "card testing", 1)
    session.commit()
    rescored = replace(verdict, score=verdict.score + 100, ruleset_version="99", reasons=())
    write(session, [(rescored, payment)])
    session.commit()
    session.expire_all()
    alert = get_alert(session, alert_id)
    assert alert is not None
    assert (alert.score, alert.ruleset_version) == (verdict.score, verdict.ruleset_version)
    assert (alert.status, alert.decided_by, alert.row_version) == ("BLOCKED", "ana", 2)
    assert _count(session, AlertReason) == len(verdict.reasons)


def test_states_round_trip_and_are_replaced_by_newer_ones(session: Session) -> None:
    payments = batch(20)
    _, first = scored(payments[:10])
    _, later = scored(payments)
    write(session, [], first)
    session.commit()
    write(session, [], later)
    session.commit()
    loaded = load_states(session, [*later, "NEVER-SEEN"])
    assert set(loaded) == set(later)
    assert {c: s.to_dict() for c, s in loaded.items()} == {c: s.to_dict() for c, s in later.items()}
    assert _count(session, DetectorStateRow) == len(later)


def test_a_batchs_states_and_reference_are_read_together_as_each_alone(session: Session) -> None:
    """load_batch_reads (one round trip for a live batch) answers as load_states and
    known_customers do, with and without a reference (empty: nobody is unknown)."""
    _, states = scored(batch(10, customers=5))
    write(session, [], states)
    ids = sorted(states)
    asked = [ids[0], "STRANGER"]
    assert known_customers(session, asked) is None  # no reference yet
    loaded, known = load_batch_reads(session, [*ids[:3], "NEVER-SEEN"], asked)
    assert set(loaded) == set(ids[:3]) and known is None
    signup = datetime(2025, 1, 1, tzinfo=UTC)
    session.execute(
        insert(Customer),
        [{"customer_id": ids[0], "signup_ts": signup, "country": "FR", "is_minor": False}],
    )
    for state_ids in ([*ids[:3], "NEVER-SEEN"], [], [f"X{i}" for i in range(5000)]):
        loaded, known = load_batch_reads(session, state_ids, asked)
        assert set(loaded) == set(load_states(session, state_ids)) and known == {ids[0]}
    assert known_customers(session, asked) == {ids[0]}
    assert {c: s.to_dict() for c, s in loaded.items()} == {}


def test_load_states_handles_more_ids_than_one_query_takes(session: Session) -> None:
    _, states = scored(batch(30, customers=30))
    write(session, [], states)
    session.commit()
    ids = [*states, *(f"X{i}" for i in range(5000))]
    assert set(load_states(session, ids)) == set(states)


def test_offsets_advance_when_the_fence_holds(session: Session) -> None:
    write(session, [], offsets={KEY: 10, ("payments", 1): 3}, expected={KEY: None})
    session.commit()
    write(session, [], offsets={KEY: 25}, expected={KEY: 10})
    session.commit()
    assert load_offsets(session, "g") == {KEY: 25, ("payments", 1): 3}
    assert load_offsets(session, "other-group") == {}


@pytest.mark.parametrize(
    ("expected", "found"),
    [(None, 10), (9, 10), (11, 10)],
    ids=["expects-no-row", "behind", "ahead"],
)
def test_a_zombie_consumer_is_fenced_off_and_writes_nothing(
    session: Session, expected: int | None, found: int
) -> None:
    write(session, [], offsets={KEY: 10}, expected={KEY: None})
    session.commit()
    pairs, states = scored(batch(10))
    with pytest.raises(OffsetConflict) as info:
        write(session, pairs, states, offsets={KEY: 20}, expected={KEY: expected},
              dead_letters=[DeadLetterRecord("payments", 0, 12, "bad", "why", "x")])  # fmt: skip
    session.rollback()
    assert (info.value.topic, info.value.partition) == KEY
    assert (info.value.expected, info.value.found) == (expected, found)
    assert load_offsets(session, "g") == {KEY: 10}
    assert _count(session, Alert) == _count(session, DetectorStateRow) == 0
    assert _count(session, DeadLetter) == 0


def test_expecting_an_offset_where_none_is_stored_is_a_conflict(session: Session) -> None:
    with pytest.raises(OffsetConflict, match="found none"):
        write(session, [], offsets={KEY: 20}, expected={KEY: 10})


def test_dead_letters_are_stored_once_per_message(session: Session) -> None:
    letters = [
        DeadLetterRecord("payments", 0, 7, "invalid_json", "line 1 column 2", b"{not json"),
        DeadLetterRecord("payments", 1, 7, "missing_field", "no payment_id", "{}"),
    ]
    write(session, [], dead_letters=letters)
    session.commit()
    write(session, [], dead_letters=[*letters, DeadLetterRecord("payments", 0, 8, "x", "y", "z")])
    session.commit()
    rows = session.scalars(select(DeadLetter).order_by(DeadLetter.id)).all()
    assert [(r.partition, r.offset) for r in rows] == [(0, 7), (1, 7), (0, 8)]
    assert (rows[0].reason, rows[0].detail, rows[0].payload) == (
        "invalid_json", "line 1 column 2", "{not json",
    )  # fmt: skip


def test_payloads_are_cut_to_4_kb_on_a_character_boundary() -> None:
    text = truncate_payload("é" * 3000)  # 6000 bytes in UTF-8
    assert len(text.encode()) == MAX_PAYLOAD_BYTES and set(text) == {"é"}
    odd = truncate_payload("a" + "é" * 3000)
    assert len(odd.encode()) == MAX_PAYLOAD_BYTES - 1
    assert truncate_payload(b"ok\x00\xff") == "ok\ufffd\ufffd"
    assert truncate_payload("\ud800x") == "?x"


OUTBOX = [
    OutboxRecord("ALT-P1", "fraud-alerts", "C1", b'{"score": 90}'),
    OutboxRecord("DLQ-payments-0-7", "dead-letters", None, b"\x00\xffnot json", {"reason": "bad"}),
]


def test_outbox_rows_commit_with_the_batch_and_once(session: Session) -> None:
    write(session, [], outbox=OUTBOX)
    write(session, [], outbox=OUTBOX[:1])  # a replayed batch
    session.commit()
    assert load_outbox(session) == OUTBOX


def test_outbox_rows_are_not_kept_when_the_batch_rolls_back(session: Session) -> None:
    write(session, [], offsets={KEY: 5}, expected={KEY: None})
    session.commit()
    with pytest.raises(OffsetConflict):
        write(session, [], offsets={KEY: 9}, expected={KEY: 3}, outbox=OUTBOX)
    session.rollback()
    assert load_outbox(session) == []


def test_acknowledged_rows_are_deleted_with_a_later_batch(session: Session) -> None:
    write(session, [], outbox=OUTBOX)
    session.commit()
    write(session, [], published={"ALT-P1", "ALT-unknown"})
    session.commit()
    assert load_outbox(session) == OUTBOX[1:]
    delete_outbox(session, {"DLQ-payments-0-7"})
    session.commit()
    assert load_outbox(session) == []


def test_alert_rows_keep_the_payments_card_bin_and_ip_hash() -> None:
    from detector.engine import CompiledRules, score
    from detector.rules import default_ruleset
    from detector.state import CustomerState
    from tests.unit.detector.factories import pay

    p = pay(card_bin="411111", ip_hash="ipx", result="failed")
    v = score(p, CustomerState(), CompiledRules.of(default_ruleset()))
    row = alert_row(v, p, datetime(2025, 11, 20, tzinfo=UTC))
    assert (row["card_bin"], row["ip_hash"]) == ("411111", "ipx")
    assert alert_row(v, pay(), datetime(2025, 11, 20, tzinfo=UTC))["card_bin"] is None


def test_alerts_name_the_dataset_of_their_batch(session: Session) -> None:
    pairs, states = scored(batch(30))
    write(session, pairs[:15], states, dataset="seed42")
    write(session, pairs[15:], states)
    session.commit()
    by_dataset = dict(
        session.execute(select(Alert.dataset, func.count()).group_by(Alert.dataset)).all()
    )
    assert by_dataset == {
        "seed42": sum(v.is_alert for v, _ in pairs[:15]),
        "live": sum(v.is_alert for v, _ in pairs[15:]),
    }


def test_alert_ids_tell_datasets_apart_and_keep_the_live_form() -> None:
    assert alert_id_for("PAY1") == alert_id_for("PAY1", "live") == "ALT-PAY1"
    assert alert_id_for("PAY1", "shop-a") == "ALT:PAY1@shop-a"
    # A live payment id cannot take a dataset's alert id: the forms differ from the 4th sign.
    assert alert_id_for("PAY1@shop-a") != alert_id_for("PAY1", "shop-a")


def test_the_same_payment_ids_in_two_datasets_are_two_alerts_each_decided_alone(
    session: Session,
) -> None:
    pairs, states = scored(batch(30))
    alerting = [v for v, _ in pairs if v.is_alert]
    for dataset in ("shop-a", "shop-b", "live"):
        write(session, pairs, states, dataset=dataset)
        session.commit()
    for dataset in ("shop-a", "shop-b", "live"):  # a restarted batch: nothing new
        write(session, pairs, states, dataset=dataset)
        session.commit()
    assert _count(session, Alert) == 3 * len(alerting)
    assert _count(session, AlertReason) == 3 * sum(len(v.reasons) for v in alerting)
    pid = alerting[0].payment_id
    a, b, live = (alert_id_for(pid, d) for d in ("shop-a", "shop-b", "live"))
    decide(session, a, "BLOCK", "ana", "card testing", 1)
    session.commit()
    session.expire_all()
    got = {i: get_alert(session, i) for i in (a, b, live)}
    assert {i: (x.status, x.row_version) for i, x in got.items() if x} == {
        a: ("BLOCKED", 2), b: ("PENDING_REVIEW", 1), live: ("PENDING_REVIEW", 1)
    }  # fmt: skip
    assert {x.dataset for x in got.values() if x} == {"shop-a", "shop-b", "live"}


def test_one_batch_may_hold_payments_of_several_datasets(session: Session) -> None:
    pairs, states = scored(batch(30))
    alerting = [(v, p) for v, p in pairs if v.is_alert]
    # The live topics carry a dataset's stream beside the shop's own payments: the same
    # payments twice in one batch, once from each, are two alerts.
    origins = ["shop-a"] * len(alerting) + ["live"] * len(alerting)
    save_batch(session, group_id="g", verdicts=alerting + alerting, states=states, offsets={},
               expected_offsets={}, dead_letters=(), datasets=origins)  # fmt: skip
    session.commit()
    rows = set(session.execute(select(Alert.alert_id, Alert.dataset)))
    assert rows == {(alert_id_for(v.payment_id, d), d) for v, _ in alerting for d in
                    ("shop-a", "live")}  # fmt: skip


def test_an_alert_written_before_0010_is_found_again_and_never_fails_a_batch(
    session: Session,
) -> None:
    pairs, states = scored(batch(10))
    verdict, payment = next(pair for pair in pairs if pair[0].is_alert)
    # Before 0010 a replay's alert had the live form of id.
    row = alert_row(verdict, payment, datetime(2025, 11, 20, tzinfo=UTC), "shop-a")
    session.execute(insert(Alert), [{**row, "alert_id": alert_id_for(verdict.payment_id)}])
    session.commit()
    write(session, [(verdict, payment)], states, dataset="shop-a")  # its replay again
    write(session, [(verdict, payment)], states)  # the same id live: its id is taken
    session.commit()
    assert list(session.execute(select(Alert.alert_id, Alert.dataset))) == [
        (alert_id_for(verdict.payment_id), "shop-a")
    ]


def test_alerts_keep_whether_the_reference_knew_their_customer(session: Session) -> None:
    pairs, _ = scored(batch(40))
    alerted = [(v, p) for v, p in pairs if v.is_alert]
    stranger = alerted[0][1].customer_id
    save_batch(
        session,
        group_id="g",
        verdicts=alerted[: len(alerted) // 2],
        states={},
        offsets={},
        expected_offsets={},
        dead_letters=[],
        unknown_customers={stranger},
    )
    write(session, alerted[len(alerted) // 2 :])  # a writer that did not check: the Flink job
    session.commit()
    flags = dict(session.execute(select(Alert.payment_id, Alert.unknown_customer)).all())
    checked = {p.payment_id: p.customer_id == stranger for _, p in alerted[: len(alerted) // 2]}
    unchecked = {p.payment_id: None for _, p in alerted[len(alerted) // 2 :]}
    assert flags == {**checked, **unchecked} and True in checked.values()
