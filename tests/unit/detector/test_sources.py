"""Consumer settings that need no broker to check."""

from __future__ import annotations

from dataclasses import replace

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import TopicPartition as KTopicPartition

from detector import sources
from detector.common.settings import Settings, SettingsError
from detector.sources import FETCH_WAIT_MAX_MS, KafkaSource, fetch_wait_for


def test_the_fetch_wait_stays_within_half_the_ordering_idle_period() -> None:
    s = replace(Settings(), kafka_bootstrap="127.0.0.1:1")
    assert KafkaSource(s).fetch_wait_ms == fetch_wait_for(s) == FETCH_WAIT_MAX_MS  # 2 s idle
    assert fetch_wait_for(replace(s, order_idle_ms=300)) == 150
    assert fetch_wait_for(replace(s, order_idle_ms=100)) == 50  # never a busy broker loop
    with pytest.raises(SettingsError, match="ORDER_IDLE_MS: must be between 100"):
        replace(s, order_idle_ms=0)  # released at every momentary end of a partition
    archiver = KafkaSource(s, "g-archive", (s.topics.user_events,), FETCH_WAIT_MAX_MS)
    assert archiver.group_id == "g-archive" and archiver.fetch_wait_ms == FETCH_WAIT_MAX_MS


class _LeaderlessConsumer:
    """Answers the low watermark only after `failures` NOT_LEADER errors (a broker restart)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def get_watermark_offsets(self, tp: KTopicPartition, timeout: float) -> tuple[int, int]:
        self.calls += 1
        if self.calls <= self.failures:
            raise KafkaException(KafkaError(KafkaError.NOT_LEADER_FOR_PARTITION))
        return (7, 42)


def test_a_partition_start_is_retried_while_its_leader_is_unknown(monkeypatch) -> None:
    monkeypatch.setattr(sources.time, "sleep", lambda s: None)
    c = _LeaderlessConsumer(failures=3)
    assert KafkaSource._low_watermark(c, KTopicPartition("payments", 0)) == 7  # type: ignore[arg-type]
    assert c.calls == 4


def test_a_partition_start_that_never_answers_raises_after_the_bound(monkeypatch) -> None:
    clock = iter(range(0, 10_000, 10))
    monkeypatch.setattr(sources.time, "sleep", lambda s: None)
    monkeypatch.setattr(sources.time, "monotonic", lambda: float(next(clock)))
    c = _LeaderlessConsumer(failures=10**6)
    with pytest.raises(KafkaException):
        KafkaSource._low_watermark(c, KTopicPartition("payments", 0))  # type: ignore[arg-type]
    assert 2 <= c.calls <= sources.WATERMARK_RETRY_S / 10 + 2


class _Message:
    def __init__(
        self,
        topic: str,
        part: int,
        offset: int,
        code: int | None = None,
        headers: list[tuple[str, bytes | None]] | None = None,
    ) -> None:
        self._t, self._p, self._o, self._h = topic, part, offset, headers
        self._err = None if code is None else KafkaError(code)

    def topic(self) -> str:
        return self._t

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def error(self) -> KafkaError | None:
        return self._err

    def key(self) -> bytes:
        return b"C1"

    def value(self) -> bytes:
        return f"{self._t}@{self._o}".encode()

    def headers(self) -> list[tuple[str, bytes | None]] | None:
        return self._h


class _BatchConsumer:
    """Hands out one prepared batch; `rebalance` runs as a callback inside the first call
    would.  Records each call's timeout: a wait of its whole time is a `consume` with one."""

    def __init__(self, batch: list[_Message], rebalance=None) -> None:
        self.batch, self.rebalance = list(batch), rebalance
        self.calls: list[tuple[str, float]] = []

    def _called(self) -> None:
        if self.rebalance is not None:
            self.rebalance()
            self.rebalance = None

    def poll(self, timeout: float) -> _Message | None:
        self.calls.append(("poll", timeout))
        self._called()
        return self.batch.pop(0) if self.batch else None

    def consume(self, num_messages: int, timeout: float) -> list[_Message]:
        self.calls.append(("consume", timeout))
        self._called()
        out, self.batch = self.batch[:num_messages], self.batch[num_messages:]
        return out


def _source(batch: list[_Message], rebalance=None, gather: bool = False) -> KafkaSource:
    src = KafkaSource(Settings(), gather=gather)
    src._consumer = _BatchConsumer(batch, rebalance)  # type: ignore[assignment]
    return src


def test_the_detectors_poll_ends_at_the_first_message_and_a_gathering_one_waits() -> None:
    """A short wait spent whole for a fuller batch was most of a bare consumer's latency at
    1,000 events/s; only the archiver (gather) still waits for one."""
    batch = [_Message("payments", 0, 0), _Message("payments", 0, 1)]
    src = _source(batch)
    assert [r.offset for r in src.poll(100, 0.005).records] == [0, 1]
    assert src._consumer.calls == [("poll", 0.005), ("consume", 0)]  # type: ignore[union-attr]
    gathering = _source(batch, gather=True)
    assert [r.offset for r in gathering.poll(100, 0.005).records] == [0, 1]
    assert gathering._consumer.calls == [("consume", 0.005)]  # type: ignore[union-attr]


def test_a_poll_keeps_messages_reports_ends_and_errors_and_moves_each_partition_on() -> None:
    batch = [_Message("payments", 0, 5), _Message("user-events", 1, 9),
             _Message("payments", 0, 6), _Message("payments", 2, 0, KafkaError._PARTITION_EOF),
             _Message("payments", 1, 0, KafkaError._MSG_TIMED_OUT)]  # fmt: skip
    src = _source(batch)
    out = src.poll(100, 0.001)
    assert [(r.topic, r.partition, r.offset, r.value) for r in out.records] == [
        ("payments", 0, 5, b"payments@5"), ("user-events", 1, 9, b"user-events@9"),
        ("payments", 0, 6, b"payments@6"),
    ]  # fmt: skip
    assert out.eof == [("payments", 2)] and len(out.errors) == 1
    assert src._next == {("payments", 0): 7, ("user-events", 1): 10}


def test_a_message_names_its_dataset_in_a_header_and_without_one_it_is_live() -> None:
    tagged = [("kvt-stream", b"f00"), ("kvt-dataset", b"shop-a")]
    batch = [
        _Message("payments", 0, 0, headers=tagged),
        _Message("payments", 0, 1),  # an outside client: no header
        _Message("payments", 0, 2, headers=[("kvt-dataset", b"live")]),
        _Message("payments", 0, 3, headers=[("kvt-dataset", b"../etc")]),
        _Message("payments", 0, 4, headers=[("kvt-dataset", "caf\u00e9".encode())]),
        _Message("payments", 0, 5, headers=[("kvt-dataset", None)]),
    ]
    out = _source(batch).poll(100, 0.001)
    assert [r.dataset for r in out.records] == ["shop-a", None, None, None, None, None]


def test_after_a_rebalance_inside_the_poll_only_messages_continuing_a_partition_are_kept() -> None:
    batch = [_Message("payments", 0, 3), _Message("payments", 0, 4),  # fetched before it
             _Message("payments", 0, 7), _Message("payments", 0, 8)]  # fmt: skip

    def rebalance() -> None:  # the new assignment resumes partition 0 at offset 7
        src._generation += 1
        src._next = {("payments", 0): 7}

    src = _source(batch, rebalance)
    out = src.poll(100, 0.001)
    assert [r.offset for r in out.records] == [7, 8]
    assert src._next == {("payments", 0): 9}
