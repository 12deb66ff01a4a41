"""Consumer settings that need no broker to check."""

from __future__ import annotations

from dataclasses import replace

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import TopicPartition as KTopicPartition

from detector import sources
from detector.common.settings import Settings
from detector.sources import FETCH_WAIT_MAX_MS, KafkaSource, fetch_wait_for


def test_the_fetch_wait_stays_within_half_the_ordering_idle_period() -> None:
    s = replace(Settings(), kafka_bootstrap="127.0.0.1:1")
    assert KafkaSource(s).fetch_wait_ms == fetch_wait_for(s) == FETCH_WAIT_MAX_MS  # 2 s idle
    assert fetch_wait_for(replace(s, order_idle_ms=300)) == 150
    assert fetch_wait_for(replace(s, order_idle_ms=0)) == 10  # never a busy broker loop
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
