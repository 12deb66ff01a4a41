"""Real inputs repeat, arrive late and lie (issue 15): each finding against the real services,
with Kafka's own Java console producer as the outside client where a finding came from one."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from data_gen.stream import stream_messages
from data_gen.wire_format import payment_message
from db.models import Alert, Customer, DeadLetter
from detector.codec import decode_payment
from detector.engine import Detector
from detector.events import Payment
from detector.rules import default_ruleset
from detector.service import DetectorService
from detector.sink import AlertSink
from detector.sources import KafkaSource
from tests.integration.detector.conftest import ROOT, Expected, Pipeline, alert_key
from tests.integration.detector.console import console_produce
from tests.integration.detector.test_pipeline import (
    PACED,
    assert_same_as_backtest,
    read_topic,
    stop,
    wait_for_progress,
)

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


def test_detector_first_then_a_full_speed_stream_five_times_equals_the_backtest(
    make_pipeline, full_dataset: tuple[Path, Expected]
) -> None:
    """Finding 2: the detector already running when `data_gen stream --max` starts; the
    topics then reach the brokers unevenly and the click side of a partition is often read to
    its end before the clicks that precede a payment arrive.  Five runs of the default-size
    dataset (the skew grows with the producer's queue), each exact."""
    dataset, expected = full_dataset
    for run in range(5):
        p = make_pipeline()
        proc = p.detector_process()
        try:
            wait_assigned(p)
            sent = subprocess.run(
                [sys.executable, "-m", "data_gen", "stream", str(dataset), "--max"],
                cwd=ROOT,
                env=p.env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert sent.returncode == 0, sent.stderr[-2000:]
            p.wait_consumed(expected)
        finally:
            stop(proc)
        got = p.stored_alerts()
        lost = set(expected.alerts) - set(got)
        differ = {k for k in got if k in expected.alerts and got[k] != expected.alerts[k]}
        assert (run, lost, differ) == (run, set(), set())
        assert_same_as_backtest(p, expected)


def test_a_full_speed_stream_never_waits_out_the_idle_timer(
    make_pipeline, full_dataset: tuple[Path, Expected]
) -> None:
    """The ordering's wall-clock last resort (KVT_ORDER_IDLE_MS) releases an event only when
    the other topic's partition has been silent that long.  The detector running first, then
    `data_gen stream --max` of the default-size dataset: until the producer has delivered its
    last message nothing was released on silence, nothing was late, and the result is the
    backtest's; only the stream's tail (a partition's last payments, after its last click)
    goes on silence, after the producer is done."""
    dataset, expected = full_dataset
    p = make_pipeline()
    svc = DetectorService(p.settings, KafkaSource(p.settings), p.sessions, AlertSink(p.settings))
    svc.start_thread()
    try:
        wait_assigned(p)
        t0 = time.monotonic()
        sent = subprocess.run(
            [sys.executable, "-m", "data_gen", "stream", str(dataset), "--max"],
            cwd=ROOT,
            env=p.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        streamed_s = time.monotonic() - t0
        during = svc.status.snapshot()
        assert sent.returncode == 0, sent.stderr[-2000:]
        p.wait_consumed(expected)
    finally:
        svc.stop()
    after = svc.status.snapshot()
    assert (during.idle_released_total, during.late_total) == (0, 0), streamed_s
    assert after.late_total == 0 and after.events_total == sum(
        expected.per_topic[k] for k in ("user_events", "payments")
    )
    assert_same_as_backtest(p, expected)
    released = svc.telemetry.registry.get_sample_value("kvt_order_idle_releases_total")
    # Each partition's last events find the other topic's partition ended: those go on silence.
    assert released == after.idle_released_total >= 1


def wait_assigned(p: Pipeline, timeout_s: float = 60) -> None:
    """Block until the detector process has joined its group and holds partitions."""
    admin = AdminClient({"bootstrap.servers": p.settings.kafka_bootstrap})
    deadline = time.monotonic() + timeout_s
    group = p.settings.consumer_group
    while time.monotonic() < deadline:
        desc = admin.describe_consumer_groups([group])[group].result(timeout=10)
        if any(m.assignment.topic_partitions for m in desc.members):
            return
        time.sleep(0.3)
    raise AssertionError("the detector never got its partitions:\n" + p.logs())


def dead_reasons(p: Pipeline) -> list[str]:
    with p.sessions() as s:
        return sorted(s.scalars(sa.select(DeadLetter.reason)))


def test_future_dated_clicks_mid_stream_are_dead_lettered_and_order_holds(
    make_pipeline, expected: Expected
) -> None:
    """Finding 3: twelve page views dated 2099 sent by the console producer in the middle of a
    paced stream go to the dead-letter topic; they move no partition's event time, so every
    later payment still waits for its clicks."""
    p = make_pipeline()
    proc = p.detector_process()
    producer = threading.Thread(target=stream_messages, args=(expected.messages, p.settings, PACED))
    producer.start()
    try:
        wait_for_progress(p)
        customers = sorted({m.key for m in expected.messages})[:12]
        clicks = [
            (c, orjson.dumps({"event_id": f"EFUT{i:04d}", "customer_id": c,
                              "session_id": f"SFUT{i:04d}", "event_type": "page_view",
                              "event_timestamp": "2099-12-31T00:00:00Z"}).decode())
            for i, c in enumerate(customers)
        ]  # fmt: skip
        console_produce(p.settings.kafka_bootstrap, p.settings.topics.user_events, clicks)
        producer.join()
        p.wait_consumed(
            Expected(
                expected.alerts,
                expected.states,
                expected.messages,
                {**expected.per_topic, "user_events": expected.per_topic["user_events"] + 12},
                expected.events,
            )
        )
    finally:
        stop(proc)
    assert_same_as_backtest(p, expected)
    assert dead_reasons(p) == ["future_timestamp"] * 12
    letters = dead_letter_messages(p, 12)
    assert sorted(k for k, _ in letters) == customers


def test_a_future_dated_payment_leaves_the_velocity_history_alone(
    make_pipeline, expected: Expected
) -> None:
    """Finding 4: payments at 10:00 and 10:02, one dated 2099, a failed one at 10:04: the last
    scores what it scores without the 2099 one (a control customer proves it), and the state
    never holds 2099."""
    p = make_pipeline()
    template = first_payment(expected)

    def payment(customer: str, n: int, ts: str, **kw: object) -> dict:
        return {**template, "payment_id": f"PAY{customer}{n}", "customer_id": customer,
                "session_id": f"S{customer}{n}", "attempt_ts": ts, **kw}  # fmt: skip

    def history(customer: str, future: bool) -> list[dict]:
        out = [payment(customer, 1, "2025-12-31T10:00:00.000Z"),
               payment(customer, 2, "2025-12-31T10:02:00.000Z")]  # fmt: skip
        if future:
            out.append(payment(customer, 3, "2099-12-31T00:00:00.000Z", amount=1.0))
        out.append(payment(customer, 4, "2025-12-31T10:04:00.000Z", result="failed"))
        return out

    fut, ctl = history("CFUT01", True), history("CCTL01", False)
    console_produce(
        p.settings.kafka_bootstrap,
        p.settings.topics.payments,
        [(m["customer_id"], orjson.dumps(m).decode()) for m in [*fut, *ctl]],
    )
    clean = Detector(default_ruleset())
    verdicts = clean.process_all([decode_payment(m) for m in ctl])
    want = verdicts[-1]
    assert want.is_alert and "VELOCITY_HIGH" in [r.rule_id for r in want.reasons]
    consume_all(p, {"user_events": 0, "payments": len(fut) + len(ctl)})
    got = p.stored_alerts()
    key = alert_key(want.score, [r.to_dict() for r in want.reasons])
    assert got["PAYCFUT014"][0] == got["PAYCCTL014"][0] == want.score
    assert got["PAYCCTL014"] == key
    assert dead_reasons(p) == ["future_timestamp"]
    state = p.stored_states()["CFUT01"]
    assert max(state["recent_ms"]) < 4_000_000_000_000 and state["latest_ms"] < 4_000_000_000_000


def partition_totals(
    p: Pipeline, kinds: tuple[str, ...] = ("payments", "user_events")
) -> list[int]:
    """Messages in each partition of the given input topics."""
    c = Consumer({"bootstrap.servers": p.settings.kafka_bootstrap, "group.id": "count"})
    out = []
    for kind in kinds:
        topic = getattr(p.settings.topics, kind)
        for n in c.list_topics(topic, timeout=10).topics[topic].partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, n), timeout=10)
            out.append(high - low)
    c.close()
    return out


def topic_total(p: Pipeline, kind: str) -> int:
    return sum(partition_totals(p, (kind,)))


def test_a_producer_killed_and_restarted_resumes_and_changes_nothing(
    make_pipeline, expected: Expected, dataset: Path
) -> None:
    """Finding 1 at scale: `data_gen stream` killed with SIGKILL mid-stream and started again
    resumes after what reached the topics (not from the beginning); what it sends twice is
    ignored by the detector; alerts and states are the backtest's."""
    p = make_pipeline()
    proc = p.detector_process()
    cmd = [sys.executable, "-m", "data_gen", "stream", str(dataset), "--speed", str(PACED)]
    try:
        wait_assigned(p)
        first = subprocess.Popen(cmd, cwd=ROOT, env=p.env, stderr=subprocess.PIPE)
        wait_for_progress(p)
        # Mid-stream means every partition has received some of it (with one still empty the
        # restart rightly sends everything again, and says so: nothing to resume from).
        deadline = time.monotonic() + 60
        while min(partition_totals(p)) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        first.wait()
        sent_before = topic_total(p, "payments") + topic_total(p, "user_events")
        again = subprocess.run(cmd, cwd=ROOT, env=p.env, capture_output=True, text=True)
        assert again.returncode == 0, again.stderr[-2000:]
        assert "stream: resuming at message" in again.stderr
        total = topic_total(p, "payments") + topic_total(p, "user_events")
        clean = expected.per_topic["payments"] + expected.per_topic["user_events"]
        assert 0 < sent_before < clean <= total < clean + 20_000  # at most an in-flight window
        want = {k: topic_total(p, k) for k in ("user_events", "payments")}
        deadline = time.monotonic() + 120
        while p.consumed() != want and time.monotonic() < deadline:
            time.sleep(0.5)
        assert p.consumed() == want
    finally:
        stop(proc)
    assert_same_as_backtest(p, expected)


@pytest.mark.parametrize("policy", ["flag", "dead_letter"])
def test_a_payment_of_a_customer_nobody_knows_is_flagged_or_refused(
    make_pipeline, expected: Expected, policy: str
) -> None:
    """Finding 5: with a customer reference loaded, a payment of a customer it does not list
    is not silently scored as a new customer's: its alert says so, or it is dead-lettered."""
    p = make_pipeline()
    p.settings = replace(p.settings, unknown_customers=policy)
    with p.sessions() as s, s.begin():
        s.add(Customer(customer_id="CKNOWN1", signup_ts=datetime(2025, 1, 1, tzinfo=UTC),
                       country="FR", is_minor=False))  # fmt: skip
    template = first_payment(expected)
    # A first payment from a mobile: 60 points, an alert whoever the customer is.
    sent = [
        {**template, "payment_id": f"PAY{c}", "customer_id": c, "device": "mobile",
         "payment_country": template["customer_country"]}
        for c in ("CKNOWN1", "CNOBODY1")
    ]  # fmt: skip
    console_produce(
        p.settings.kafka_bootstrap,
        p.settings.topics.payments,
        [(m["customer_id"], orjson.dumps(m).decode()) for m in sent],
    )
    svc = consume_all(p, {"user_events": 0, "payments": 2})
    flagged = svc.telemetry.registry.get_sample_value(
        "kvt_unknown_customers_total",
        {"action": "flagged" if policy == "flag" else "dead_lettered"},
    )
    assert flagged == 1 and svc.status.snapshot().unknown_customers_total == 1
    alerts = {
        m["payment_id"]: m
        for m in map(orjson.loads, read_topic(p, p.settings.topics.alerts, 1 + (policy == "flag")))
    }
    assert "unknown_customer" not in alerts["PAYCKNOWN1"]
    with p.sessions() as s:
        stored = dict(s.execute(sa.select(Alert.payment_id, Alert.unknown_customer)).all())
    if policy == "flag":
        assert alerts["PAYCNOBODY1"]["unknown_customer"] is True
        # The alert row keeps the flag: the desk's detail and the API show it.
        assert stored == {"PAYCKNOWN1": False, "PAYCNOBODY1": True}
        assert dead_reasons(p) == []
    else:
        assert "PAYCNOBODY1" not in alerts and stored == {"PAYCKNOWN1": False}
        assert dead_reasons(p) == ["unknown_customer"]
        assert [k for k, _ in dead_letter_messages(p, 1)] == ["CNOBODY1"]
        assert "CNOBODY1" not in p.stored_states()
