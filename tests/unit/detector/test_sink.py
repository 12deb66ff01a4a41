"""AlertSink's bookkeeping: publish without waiting, acknowledged ids, retries, shutdown.

The producer here is a stand-in that acknowledges or fails on demand; the real brokers are
exercised by tests/integration/detector/test_pipeline.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from db.detector_store import DeadLetterRecord, OutboxRecord
from detector import sink as sink_module
from detector.common.settings import Settings
from detector.ordering import Record
from detector.sink import AlertSink, SinkError
from tests.unit.db.builders import batch, scored


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, str | None, dict[str, str] | None]] = []
        self._callbacks: list[Callable[[KafkaError | None, Any], None]] = []
        self.fail_next: KafkaError | None = None
        self.refuse: list[BaseException] = []  # raised by the next produce() calls
        self.answer = True  # False: the broker never answers

    def produce(self, topic: str, value: bytes, key: str | None, headers: Any, on_delivery: Any):
        if self.refuse:
            raise self.refuse.pop(0)
        self.sent.append((topic, value, key, headers))
        self._callbacks.append(on_delivery)

    def poll(self, _timeout: float = 0) -> int:
        if not self.answer:
            return 0
        callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            err, self.fail_next = self.fail_next, None
            cb(err, None)
        return len(callbacks)

    def fail(self, err: KafkaError) -> None:
        """Answer the oldest pending message with ``err``."""
        self._callbacks.pop(0)(err, None)

    def flush(self, timeout: float = 0) -> int:
        self.poll(timeout)
        return len(self._callbacks)


ROWS = [OutboxRecord(f"ALT-P{i}", "fraud-alerts", f"C{i}", b"{}") for i in range(3)]


@pytest.fixture
def producer() -> FakeProducer:
    return FakeProducer()


@pytest.fixture
def sink(producer: FakeProducer, monkeypatch: pytest.MonkeyPatch) -> AlertSink:
    monkeypatch.setattr(sink_module, "RETRY_FIRST_S", 0.0)
    return AlertSink(Settings(), producer)  # type: ignore[arg-type]


def test_publish_returns_before_the_acknowledgements(sink: AlertSink, producer) -> None:
    producer.answer = False
    sink.publish(ROWS)
    assert [s[2] for s in producer.sent] == ["C0", "C1", "C2"]
    assert sink.pending == 3 and sink.take_delivered() == set()
    producer.answer = True
    sink.poll()
    assert sink.pending == 0
    assert sink.take_delivered() == {"ALT-P0", "ALT-P1", "ALT-P2"}
    assert sink.take_delivered() == set()


def test_a_row_still_in_flight_is_not_sent_twice(sink: AlertSink, producer) -> None:
    producer.answer = False
    sink.publish(ROWS[:1])
    sink.publish(ROWS[:1])  # e.g. resent from the outbox at start while already queued
    assert len(producer.sent) == 1


def test_a_failed_delivery_is_retried_until_acknowledged(sink: AlertSink, producer) -> None:
    producer.fail_next = KafkaError(KafkaError._MSG_TIMED_OUT)
    sink.publish(ROWS[:1])
    assert sink.take_delivered() == set() and sink.pending == 1
    assert sink.last_error is not None and "TIMED_OUT" in sink.last_error
    sink.poll()  # resent (no back-off in this test), then acknowledged
    sink.poll()
    assert len(producer.sent) == 2
    assert sink.take_delivered() == {"ALT-P0"}


def test_each_failing_row_backs_off_on_its_own(producer, monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(sink_module.time, "monotonic", lambda: clock[0])
    sink = AlertSink(Settings(), producer)  # type: ignore[arg-type]
    producer.answer = False
    sink.publish(ROWS[:2])
    producer.fail(KafkaError(KafkaError._MSG_TIMED_OUT))  # ALT-P0 fails...
    producer.answer = True
    producer.poll()  # ... and ALT-P1 is acknowledged: that must not shorten P0's back-off
    producer.answer = False
    sent = len(producer.sent)
    for wait in (1.0, 2.0, 4.0):
        clock[0] += wait - 0.01
        sink.poll()
        assert len(producer.sent) == sent, f"resent before its {wait}s back-off"
        clock[0] += 0.01
        sink.poll()
        sent += 1
        assert len(producer.sent) == sent
        producer.fail(KafkaError(KafkaError._MSG_TIMED_OUT))
    assert sink.take_delivered() == {"ALT-P1"} and sink.pending == 1


def test_a_fatal_producer_error_starts_a_new_producer_that_resends(producer) -> None:
    sink = AlertSink(Settings(), producer)  # type: ignore[arg-type]
    fresh = FakeProducer()
    sink._new_producer = lambda: fresh  # type: ignore[assignment,method-assign]
    producer.answer = False
    sink.publish(ROWS[:2])
    producer.fail(KafkaError(KafkaError._FATAL, fatal=True))
    sink.poll()
    assert [s[2] for s in fresh.sent] == ["C0", "C1"]  # everything not yet acknowledged
    fresh.poll()
    assert sink.take_delivered() == {"ALT-P0", "ALT-P1"}


def test_a_dead_letter_too_large_to_send_is_cut_and_says_so() -> None:
    sink = AlertSink(Settings(), FakeProducer())  # type: ignore[arg-type]
    record = Record("payments", 0, 5, None, b"x" * 1_000_000, 0.0)
    letter = sink.dead_letter(DeadLetterRecord("payments", 0, 5, "too_large", "", ""), record)
    assert len(letter.value) == sink_module.DEAD_LETTER_MAX_BYTES
    assert letter.headers is not None and letter.headers["truncated_from_bytes"] == "1000000"


def test_a_full_local_queue_never_blocks_the_detector(sink: AlertSink, producer) -> None:
    producer.refuse = [BufferError(), BufferError()]
    sink.publish(ROWS[:1])  # one poll, then the row waits for its retry instead of spinning
    assert producer.sent == [] and sink.pending == 1
    assert sink.last_error == "the producer's local queue is full"
    sink.poll()
    sink.poll()
    assert sink.take_delivered() == {"ALT-P0"}


def test_a_refused_or_full_produce_does_not_lose_the_row(sink: AlertSink, producer) -> None:
    producer.refuse = [BufferError(), KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))]
    sink.publish(ROWS[:1])  # BufferError: poll and try again; then refused: kept as failed
    assert producer.sent == [] and sink.pending == 1
    sink.poll()
    sink.poll()
    assert sink.take_delivered() == {"ALT-P0"}


def test_failed_deletions_are_given_back(sink: AlertSink) -> None:
    sink.publish(ROWS[:2])
    done = sink.take_delivered()
    sink.give_back(done)  # the batch that was to delete them rolled back
    assert sink.take_delivered() == {"ALT-P0", "ALT-P1"}


def test_flush_names_what_stays_in_the_outbox(sink: AlertSink, producer) -> None:
    producer.answer = False
    sink.publish(ROWS)
    with pytest.raises(SinkError, match="3 alert/dead-letter messages not delivered"):
        sink.flush(0.05)


def test_alert_and_dead_letter_messages() -> None:
    sink = AlertSink(Settings(), FakeProducer())  # type: ignore[arg-type]
    pairs, _ = scored(batch(40))
    verdict, payment = next((v, p) for v, p in pairs if v.is_alert)
    row = sink.alert(verdict, payment)
    assert row.id == f"ALT-{verdict.payment_id}" and row.key == verdict.customer_id
    assert b'"dataset":"live"' in row.value
    streamed = sink.alert(verdict, payment, dataset="shop-a")  # a dataset's stream
    assert streamed.id == f"ALT:{verdict.payment_id}@shop-a" != row.id
    assert b'"dataset":"shop-a"' in streamed.value
    assert row.topic == Settings().topics.alerts
    assert b'"score":%d' % verdict.score in row.value
    record = Record("payments", 2, 41, None, b"{oops", 0.0)
    letter = sink.dead_letter(DeadLetterRecord("payments", 2, 41, "invalid_json", "", ""), record)
    assert letter.id == "DLQ-payments-2-41" and letter.value == b"{oops"
    assert letter.headers == {
        "reason": "invalid_json",
        "source_topic": "payments",
        "source_partition": "2",
        "source_offset": "41",
    }


def test_a_dead_letter_keeps_the_original_key() -> None:
    sink = AlertSink(Settings(), FakeProducer())  # type: ignore[arg-type]
    row = DeadLetterRecord("payments", 2, 41, "invalid_json", "", "")
    text = sink.dead_letter(row, Record("payments", 2, 41, b"C000042", b"{oops", 0.0))
    assert text.key == "C000042" and "source_key_b64" not in (text.headers or {})
    binary = sink.dead_letter(row, Record("payments", 2, 41, b"\xff\x00k", b"{oops", 0.0))
    assert binary.key is None
    assert binary.headers is not None and binary.headers["source_key_b64"] == "/wBr"
