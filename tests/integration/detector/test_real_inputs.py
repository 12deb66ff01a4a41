"""Real inputs repeat, arrive late and lie (issue 15): each finding against the real services,
with Kafka's own Java console producer as the outside client where a finding came from one."""

from __future__ import annotations

import time
from dataclasses import replace

import orjson
import pytest
import sqlalchemy as sa
from confluent_kafka import Consumer

from data_gen.stream import stream_messages
from db.models import DeadLetter
from detector.codec import payment_message
from detector.engine import Detector
from detector.events import Payment
from detector.rules import default_ruleset
from detector.service import DetectorService
from detector.sink import AlertSink
from detector.sources import KafkaSource
from tests.integration.detector.conftest import Expected, Pipeline, alert_key
from tests.integration.detector.console import console_produce
from tests.integration.detector.test_pipeline import assert_same_as_backtest

pytestmark = pytest.mark.integration


def consume_all(p: Pipeline, want: dict[str, int], timeout_s: float = 120) -> DetectorService:
    """Run an in-process detector until it has committed `want` messages per input kind."""
    svc = DetectorService(p.settings, KafkaSource(p.settings), p.sessions, AlertSink(p.settings))
    svc.start_thread()
    try:
        deadline = time.monotonic() + timeout_s
        while p.consumed() != want and time.monotonic() < deadline:
            time.sleep(0.3)
        assert p.consumed() == want
    finally:
        svc.stop()
    return svc


def wanted(expected: Expected, payments: int = 0, events: int = 0) -> dict[str, int]:
    return {
        "user_events": expected.per_topic["user_events"] + events,
        "payments": expected.per_topic["payments"] + payments,
    }


def first_payment(expected: Expected) -> dict:
    return orjson.loads(next(m.value for m in expected.messages if m.kind == "payments"))


def dead_letter_messages(p: Pipeline, n: int, timeout_s: float = 30) -> list[tuple[str, dict]]:
    """(key, headers) of the first `n` messages of the dead-letter topic."""
    c = Consumer(
        {
            "bootstrap.servers": p.settings.kafka_bootstrap,
            "group.id": f"dlq-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
        }
    )
    c.subscribe([p.settings.topics.dead_letter])
    out: list[tuple[str, dict]] = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            headers = {k: v.decode() for k, v in m.headers() or []}
            out.append(((m.key() or b"").decode(), headers))
    c.close()
    return out


def test_free_text_references_and_absent_fields_from_the_console_producer(
    make_pipeline, expected: Expected
) -> None:
    """Finding 5: a bidi override in utm_source, HTML in currency and a payment with only its
    id are dead-lettered with their own reasons, under the key they were sent with."""
    p = make_pipeline()
    good = first_payment(expected)
    junk = [
        ("CBIDI01", {**good, "utm_source": "moc.\u202eevil"}, "bad_value"),
        ("CHTML01", {**good, "currency": "<b>EUR</b>"}, "bad_value"),
        ("CONLY01", {"payment_id": "PAYONLY1"}, "missing_field"),
        ("CZWSP01", {**good, "method": "card\u200b"}, "bad_value"),
    ]
    console_produce(
        p.settings.kafka_bootstrap,
        p.settings.topics.payments,
        [(k, orjson.dumps(v).decode()) for k, v, _ in junk],
    )
    stream_messages(expected.messages, p.settings)
    consume_all(p, wanted(expected, payments=len(junk)))
    assert_same_as_backtest(p, expected)
    with p.sessions() as s:
        stored = dict(s.execute(sa.select(DeadLetter.payload, DeadLetter.reason)).all())
    assert sorted(stored.values()) == sorted(r for _, _, r in junk)
    letters = dead_letter_messages(p, len(junk))
    assert sorted((k, h["reason"]) for k, h in letters) == sorted((k, r) for k, _, r in junk)


def repeated(svc: DetectorService, reason: str, kind: str) -> float:
    value = svc.telemetry.registry.get_sample_value(
        "kvt_repeated_events_total", {"reason": reason, "kind": kind}
    )
    return value or 0.0


def last_quiet_payment(expected: Expected) -> Payment:
    """A payment that is its customer's last event and raised no alert."""
    last: dict[str, Payment | None] = {}
    for e in expected.events:
        last[e.customer_id] = e if isinstance(e, Payment) else None
    return next(
        p
        for p in reversed(list(last.values()))
        if p is not None and p.payment_id not in expected.alerts
    )


def test_duplicated_payments_and_a_full_resend_change_nothing(
    make_pipeline, expected: Expected
) -> None:
    """Finding 1: a payment sent twice (by the console producer, before and after a restart of
    the detector) and the whole stream sent again change no alert, score or state; a new
    payment after the duplicates scores what it scores on clean data."""
    p = make_pipeline()
    stream_messages(expected.messages, p.settings)
    consume_all(p, wanted(expected))
    assert_same_as_backtest(p, expected)

    # The producer restarted from the beginning: every message a second time.
    stream_messages(expected.messages, p.settings)
    svc = consume_all(p, {k: 2 * n for k, n in wanted(expected).items()})
    assert_same_as_backtest(p, expected)
    stateful = sum(1 for e in expected.events if not isinstance(e, Payment))
    payments = expected.per_topic["payments"]
    assert repeated(svc, "duplicate", "payment") + repeated(svc, "stale", "payment") == payments
    assert (
        repeated(svc, "duplicate", "behavioural") + repeated(svc, "stale", "behavioural")
        == stateful
    )
    assert svc.status.snapshot().repeated_total == payments + stateful

    # One payment twice more, then a new failed payment of the same customer 2 minutes later.
    dup = last_quiet_payment(expected)
    new = replace(dup, payment_id="PAYNEW0001", ts_ms=dup.ts_ms + 120_000, result="failed")
    clean = Detector(default_ruleset())
    clean.process_all(expected.events)
    want = clean.process(new)
    assert want is not None
    line = orjson.dumps(payment_message(dup)).decode()
    topic = p.settings.topics.payments
    console_produce(p.settings.kafka_bootstrap, topic, [(dup.customer_id, line)] * 2)
    base = {k: 2 * n for k, n in wanted(expected).items()}
    consume_all(p, {**base, "payments": base["payments"] + 2})
    console_produce(
        p.settings.kafka_bootstrap,
        topic,
        [(dup.customer_id, line), (dup.customer_id, orjson.dumps(payment_message(new)).decode())],
    )
    consume_all(p, {**base, "payments": base["payments"] + 4})  # a new detector: a restart
    got = p.stored_alerts()
    assert dup.payment_id not in got
    if want.is_alert:
        assert got.pop(new.payment_id) == alert_key(want.score, [r.to_dict() for r in want.reasons])
    assert got == expected.alerts
    states = p.stored_states()
    assert states[dup.customer_id] == clean.states[dup.customer_id].to_dict()
