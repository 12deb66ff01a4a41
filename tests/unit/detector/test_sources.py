"""Consumer settings that need no broker to check."""

from __future__ import annotations

from dataclasses import replace

from common.settings import Settings
from detector.sources import FETCH_WAIT_MAX_MS, KafkaSource, fetch_wait_for


def test_the_fetch_wait_stays_within_half_the_ordering_idle_period() -> None:
    s = replace(Settings(), kafka_bootstrap="127.0.0.1:1")
    assert KafkaSource(s).fetch_wait_ms == fetch_wait_for(s) == FETCH_WAIT_MAX_MS  # 2 s idle
    assert fetch_wait_for(replace(s, order_idle_ms=300)) == 150
    assert fetch_wait_for(replace(s, order_idle_ms=0)) == 10  # never a busy broker loop
    archiver = KafkaSource(s, "g-archive", (s.topics.user_events,), FETCH_WAIT_MAX_MS)
    assert archiver.group_id == "g-archive" and archiver.fetch_wait_ms == FETCH_WAIT_MAX_MS
