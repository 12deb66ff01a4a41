"""The pipeline seen from outside the detector's process: lag per partition (broker high
watermarks minus the offsets the detector committed with its batches), throughput (how fast
those offsets move), dead letters, the active rule set, and whether a detector is consuming.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from db.models import ConsumerOffset
from desk import pipeline
from desk.auth import Permission, Principal, authorize
from desk.handle import Handle
from detector.common.settings import Settings

__all__ = ["PipelineView", "Throughput", "detector_members", "pipeline_view"]


@dataclass(frozen=True)
class PipelineView:
    mode: str  # "kafka" or "embedded"
    consumer_group: str
    committed: dict[str, int]  # "topic[p]" -> next offset the detector will read
    lag: dict[str, int] | None  # None: no broker to ask
    events_per_s: float | None  # None until two readings
    dead_letters: int
    recent_dead_letters: tuple[pipeline.DeadLetterView, ...]
    ruleset: pipeline.ActiveRuleset | None
    detector_members: int | None  # consumers in the group; None: unknown
    problem: str


class Throughput:
    """Offsets consumed per second between two readings (kept per process)."""

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None
        self._rate: float | None = None
        self._lock = threading.Lock()

    def observe(self, total: int, now: float | None = None) -> float | None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._last is not None and now - self._last[0] >= 0.5:
                t0, n0 = self._last
                self._rate = max(0.0, (total - n0) / (now - t0))
                self._last = (now, total)
            elif self._last is None:
                self._last = (now, total)
            return self._rate


def detector_members(settings: Settings, timeout_s: float = 2.0) -> int | None:
    """Consumers in the detector's group right now (None without a broker or an answer)."""
    if settings.embedded:
        return None
    from confluent_kafka.admin import AdminClient

    try:
        client = AdminClient(settings.kafka_config())
        future = client.describe_consumer_groups(
            [settings.consumer_group], request_timeout=timeout_s
        )[settings.consumer_group]
        return len(future.result(timeout=timeout_s).members)
    except Exception:  # unknown is an answer: the caller says so
        return None


def _watermarks(settings: Settings, partitions: list[tuple[str, int]]) -> dict[str, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(settings.kafka_config(**{"group.id": f"{settings.consumer_group}-api-lag"}))
    try:
        meta = consumer.list_topics(timeout=2.0)
        out: dict[str, int] = {}
        for topic in settings.topics.inputs:
            t = meta.topics.get(topic)
            if t is None:
                continue
            for p in t.partitions:
                _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=2.0)
                out[f"{topic}[{p}]"] = int(high)
        return out
    finally:
        consumer.close()


def pipeline_view(
    rt: Handle,
    who: Principal | None,
    settings: Settings,
    throughput: Throughput,
) -> PipelineView:
    authorize(rt, who, Permission.READ_PIPELINE)
    group = settings.consumer_group
    with rt.sessions() as session:
        rows = session.execute(
            select(
                ConsumerOffset.topic, ConsumerOffset.partition, ConsumerOffset.next_offset
            ).where(ConsumerOffset.group_id == group)
        ).all()
        dead = pipeline.count_dead_letters(session)
        recent = tuple(pipeline.list_dead_letters(session, 1, 20))
        ruleset = pipeline.active_ruleset_info(session)
    committed = {f"{t}[{p}]": int(n) for t, p, n in sorted(rows)}
    rate = throughput.observe(sum(committed.values()))
    lag: dict[str, int] | None = None
    members: int | None = None
    problem = ""
    if not settings.embedded:
        try:
            high = _watermarks(settings, [(t, p) for t, p, _ in rows])
            lag = {k: max(0, h - committed.get(k, 0)) for k, h in sorted(high.items())}
        except Exception as exc:  # the broker's problem is reported, not raised
            problem = f"broker: {str(exc)[:300]}"
        members = detector_members(settings)
    return PipelineView(
        "embedded" if settings.embedded else "kafka",
        group,
        committed,
        lag,
        rate,
        dead,
        recent,
        ruleset,
        members,
        problem,
    )
