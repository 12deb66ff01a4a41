"""The live path under faults, against real Kafka and PostgreSQL.

Every test compares the live result with the backtest path's (`expected`): the same payments
alerted with the same scores and the same explanations, and the same final customer states.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import sqlalchemy as sa
from confluent_kafka import Consumer, Producer, TopicPartition

from data_gen.stream import stream_messages
from db.models import DeadLetter, OutboxMessage
from detector.service import DetectorService
from detector.sink import AlertSink
from detector.sources import KafkaSource
from tests.integration.detector.conftest import Expected, Pipeline
from tests.integration.detector.malformed import junk_messages

pytestmark = pytest.mark.integration

# Shop time per real second: the ~61-day dataset streams in about 12 s.
PACED = 61 * 86_400 / 12


def stream_in_thread(p: Pipeline, expected: Expected, speed: float | None) -> threading.Thread:
    t = threading.Thread(target=stream_messages, args=(expected.messages, p.settings, speed))
    t.start()
    return t


def assert_same_as_backtest(p: Pipeline, expected: Expected) -> None:
    got = p.stored_alerts()
    assert len(got) == len(expected.alerts)
    assert got == expected.alerts
    assert p.stored_states() == expected.states


def assert_all_published(p: Pipeline, expected: Expected) -> None:
    """Every alert reached the alerts topic (at least once) and the outbox was emptied."""
    published = read_topic(p, p.settings.topics.alerts, len(expected.alerts), key="payment_id")
    assert {orjson.loads(m)["payment_id"] for m in published} == set(expected.alerts)
    with p.sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def wait_for_progress(p: Pipeline, timeout_s: float = 60) -> None:
    """Block until the detector has committed something: the outage must hit mid-stream."""
    deadline = time.monotonic() + timeout_s
    while sum(p.consumed().values()) == 0:
        assert time.monotonic() < deadline, "the detector committed nothing:\n" + p.logs()
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_streaming_equals_batch(make_pipeline, expected: Expected) -> None:
    p = make_pipeline()
    stream_messages(expected.messages, p.settings)
    svc = DetectorService(p.settings, KafkaSource(p.settings), p.sessions, AlertSink(p.settings))
    thread = svc.start_thread()
    try:
        p.wait_consumed(expected)
    finally:
        svc.stop()
    assert not thread.is_alive()
    assert_same_as_backtest(p, expected)
    assert svc.status.snapshot().ruleset_version == "1"
    published = read_all(p, p.settings.topics.alerts)
    assert {m["payment_id"]: m["score"] for m in map(orjson.loads, published)} == {
        pid: score for pid, (score, _) in expected.alerts.items()
    }
    assert len(published) == len(expected.alerts)  # no fault: no message repeated
    assert_all_published(p, expected)


def read_all(p: Pipeline, topic: str, timeout_s: float = 30) -> list[bytes]:
    """Every message of ``topic`` up to its end now (duplicates included)."""
    c = Consumer(
        {
            "bootstrap.servers": p.settings.kafka_bootstrap,
            "group.id": f"{topic}-all-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
        }
    )
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    ends = {n: c.get_watermark_offsets(TopicPartition(topic, n), timeout=10)[1] for n in parts}
    c.assign([TopicPartition(topic, n, 0) for n in parts])
    out: list[bytes] = []
    done = {n for n, end in ends.items() if end == 0}
    deadline = time.monotonic() + timeout_s
    while len(done) < len(ends) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error() is None:
            out.append(m.value())
            if m.offset() + 1 >= ends[m.partition()]:
                done.add(m.partition())
    c.close()
    assert len(done) == len(ends), f"{topic}: read {len(out)} messages, not to the end"
    return out


def read_topic(
    p: Pipeline, topic: str, want: int, timeout_s: float = 30, key: str | None = None
) -> list[bytes]:
    """``want`` messages of ``topic`` (``want`` distinct values of ``key`` when given: a
    message repeated after a crash is read without counting twice)."""
    c = Consumer(
        {
            "bootstrap.servers": p.settings.kafka_bootstrap,
            "group.id": f"{topic}-check-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
        }
    )
    c.subscribe([topic])
    out: list[bytes] = []
    distinct: set[object] = set()
    deadline = time.monotonic() + timeout_s
    while (len(distinct) if key else len(out)) < want and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            out.append(m.value())
            if key:
                distinct.add(orjson.loads(m.value())[key])
    c.close()
    return out


def test_kill_9_five_times_mid_stream_loses_and_duplicates_nothing(
    make_pipeline, expected: Expected
) -> None:
    p = make_pipeline()
    p.env["KVT_CONSUMER_INSTANCE"] = "kill-test"  # static member: each restart resumes at once
    producer = stream_in_thread(p, expected, PACED)
    rnd = random.Random(5)
    kills = 0
    proc = p.detector_process()
    try:
        while kills < 5:
            time.sleep(rnd.uniform(1.0, 2.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            proc = p.detector_process()
        producer.join()
        p.wait_consumed(expected)
    finally:
        stop(proc)
    assert kills == 5
    assert_same_as_backtest(p, expected)
    assert_all_published(p, expected)  # alerts committed before a kill were sent after it


def test_two_detectors_in_one_group_equal_one(make_pipeline, expected: Expected) -> None:
    p = make_pipeline()
    procs = [p.detector_process(), p.detector_process()]
    try:
        time.sleep(3)  # both join the group before the stream starts
        stream_in_thread(p, expected, PACED).join()
        p.wait_consumed(expected)
    finally:
        for proc in procs:
            stop(proc)
    assert_same_as_backtest(p, expected)
    assert_all_published(p, expected)


def test_database_outage_of_20s_mid_stream(make_pipeline, expected: Expected, services) -> None:
    p = make_pipeline()
    proc = p.detector_process()
    producer = stream_in_thread(p, expected, PACED)
    try:
        wait_for_progress(p)
        services.stop("pg")
        time.sleep(20)
        services.start("pg")
        producer.join()
        p.wait_consumed(expected)
        assert proc.poll() is None, "the detector must wait for the database, not exit"
    finally:
        stop(proc)
    assert_same_as_backtest(p, expected)
    assert_all_published(p, expected)


def test_a_broker_down_mid_stream_loses_nothing(
    make_pipeline, expected: Expected, services, kafka_broker_count: int
) -> None:
    assert kafka_broker_count >= 3, "needs the 3-broker cluster: scripts/services up --brokers 3"
    p = make_pipeline(replication=3)
    proc = p.detector_process()
    producer = stream_in_thread(p, expected, PACED)
    try:
        wait_for_progress(p)
        services.stop("kafka-2")
        producer.join()
        p.wait_consumed(expected, timeout_s=180)
    finally:
        services.start("kafka-2")
        stop(proc)
    assert_same_as_backtest(p, expected)
    assert_all_published(p, expected)


def test_malformed_input_is_dead_lettered_and_good_traffic_unaffected(
    make_pipeline, expected: Expected
) -> None:
    p = make_pipeline()
    t = p.settings.topics
    junk = junk_messages(t, expected)
    prod = Producer({"bootstrap.servers": p.settings.kafka_bootstrap})
    for topic, value, _ in junk:
        prod.produce(topic, key=b"C000001", value=value)
    prod.flush(10)
    stream_messages(expected.messages, p.settings)
    svc = DetectorService(p.settings, KafkaSource(p.settings), p.sessions, AlertSink(p.settings))
    svc.start_thread()
    try:
        deadline = time.monotonic() + 120
        want = {k: expected.per_topic[k] for k in ("user_events", "payments")}
        want["payments"] += sum(1 for tp, _, _ in junk if tp == t.payments)
        want["user_events"] += sum(1 for tp, _, _ in junk if tp == t.user_events)
        while p.consumed() != want and time.monotonic() < deadline:
            time.sleep(0.5)
        assert p.consumed() == want
    finally:
        svc.stop()
    assert_same_as_backtest(p, expected)
    with p.sessions() as s:
        stored = sorted(s.scalars(sa.select(DeadLetter.reason)))
    assert stored == sorted(r for _, _, r in junk)
    dlq = Consumer(
        {
            "bootstrap.servers": p.settings.kafka_bootstrap,
            "group.id": "dlq-check",
            "auto.offset.reset": "earliest",
        }
    )
    dlq.subscribe([t.dead_letter])
    seen = []
    deadline = time.monotonic() + 30
    while len(seen) < len(junk) and time.monotonic() < deadline:
        m = dlq.poll(1.0)
        if m is not None and m.error() is None:
            seen.append(dict((k, v.decode()) for k, v in m.headers()))
    dlq.close()
    assert sorted(h["reason"] for h in seen) == sorted(r for _, _, r in junk)
    assert all(h["source_topic"] in (t.payments, t.user_events) for h in seen)
    assert all(int(h["source_offset"]) >= 0 for h in seen)


def outbox_count(p: Pipeline) -> int:
    with p.sessions() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0


def wait_outbox_empty(p: Pipeline, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while outbox_count(p) and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.mark.parametrize("when", ["before_start", "while_running"])
def test_outbox_rows_nobody_sends_are_sent_and_deleted(make_pipeline, when: str) -> None:
    """Committed alerts whose publication was cut short sit in the outbox: left by a crash
    they are sent at the next start; left by a peer that stopped (old rows, in flight
    nowhere here) a running detector's sweep sends them."""
    p = make_pipeline()
    topic = p.settings.topics.alerts
    old = datetime.now(UTC) - timedelta(minutes=5)
    left = [
        OutboxMessage(
            id=f"ALT-P{i}",
            topic=topic,
            key="C1",
            value=orjson.dumps({"payment_id": i}),
            created_at=old,
        )
        for i in range(3)
    ]

    def leave() -> None:
        with p.sessions() as s, s.begin():
            s.add_all(left)

    if when == "before_start":
        leave()
    svc = DetectorService(p.settings, KafkaSource(p.settings), p.sessions, AlertSink(p.settings))
    svc.start_thread()
    try:
        if when == "while_running":
            time.sleep(2)  # past the start-up resend: only the sweep can find them
            leave()
        wait_outbox_empty(p, timeout_s=30)
    finally:
        svc.stop()
    assert outbox_count(p) == 0
    sent = [orjson.loads(m)["payment_id"] for m in read_topic(p, topic, 3)]
    assert sorted(sent) == [0, 1, 2]
