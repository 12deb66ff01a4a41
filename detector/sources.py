"""Where the detector's messages come from: a Kafka consumer group, or a dataset replay.

Both yield the same `Record`s for the same two input topics; the service cannot tell them
apart, which is what keeps the embedded demo and the live pipeline honest with each other.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException
from confluent_kafka import TopicPartition as KTopicPartition

from data_gen.feed import OutMessage
from detector.backoff import backoff
from detector.common.datasets import header_dataset
from detector.common.settings import Settings
from detector.ordering import Record, TopicPartition

LONG_WAIT_S = 0.02  # a gathering source's polls up to this long wait their whole time
FETCH_WAIT_MAX_MS = 500  # Kafka's own default
# A leader election after a broker restart takes seconds; a minute of no answer is an outage.
WATERMARK_RETRY_S = 60.0

log = logging.getLogger(__name__)

OffsetLookup = Callable[[list[TopicPartition]], dict[TopicPartition, int]]


@dataclass
class Polled:
    records: list[Record] = field(default_factory=list)
    eof: list[TopicPartition] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Source(Protocol):
    name: str
    group_id: str

    def start(
        self,
        lookup: OffsetLookup,
        on_assign: Callable[[dict[TopicPartition, int]], None],
        on_revoke: Callable[[set[TopicPartition]], None],
    ) -> None: ...
    def poll(self, max_records: int, timeout_s: float) -> Polled: ...
    def seek(self, offsets: dict[TopicPartition, int]) -> None: ...
    def committed(self, offsets: dict[TopicPartition, int]) -> None: ...
    def lag(self) -> dict[TopicPartition, int]: ...
    def finished(self) -> bool: ...
    def close(self) -> None: ...


def fetch_wait_for(settings: Settings) -> int:
    """How long a broker holds a fetch while no data arrives (it answers as soon as some
    does, so this costs no latency on a busy partition).  A short wait makes idle brokers
    answer empty fetches all the time (10 ms: a fifth of a core for three nodes).  The end of
    a partition is only seen when an empty fetch returns, and the ordering merger may wait
    for it (then `order_idle_ms` more) before releasing an event: half the idle period keeps
    that wait within it."""
    return min(FETCH_WAIT_MAX_MS, settings.order_idle_ms // 2)  # >= 50 ms (the setting's bound)


class KafkaSource:
    """A consumer in the detector's group; offsets live in the database, not in Kafka."""

    name = "kafka"

    def __init__(
        self,
        settings: Settings,
        group_id: str | None = None,
        topics: tuple[str, ...] | None = None,
        fetch_wait_ms: int | None = None,
        gather: bool = False,
    ) -> None:
        self.settings = settings
        self.gather = gather
        self.group_id = group_id or settings.consumer_group
        self._topics = topics or settings.topics.inputs
        if fetch_wait_ms is None:
            fetch_wait_ms = fetch_wait_for(settings)
        self.fetch_wait_ms = fetch_wait_ms
        self._consumer: Consumer | None = None
        self._positions: dict[TopicPartition, int] = {}
        self._next: dict[TopicPartition, int] = {}  # where each assigned partition resumes
        self._generation = 0

    def start(
        self,
        lookup: OffsetLookup,
        on_assign: Callable[[dict[TopicPartition, int]], None],
        on_revoke: Callable[[set[TopicPartition]], None],
    ) -> None:
        static = {}
        if self.settings.consumer_instance:
            static["group.instance.id"] = self.settings.consumer_instance
        conf = self.settings.kafka_config(
            **static,
            **{
                "group.id": self.group_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": True,
                # Range keeps partition p of both input topics on the same consumer.
                "partition.assignment.strategy": "range",
                # The brokers' floor (group.min.session.timeout.ms): a member killed without a
                # restart under its static name is replaced after this long.
                "session.timeout.ms": 6_000,
                "heartbeat.interval.ms": 1_000,
                "max.poll.interval.ms": 300_000,
                "fetch.wait.max.ms": self.fetch_wait_ms,
            },
        )
        consumer = Consumer(conf)

        def assign(c: Consumer, parts: list[KTopicPartition]) -> None:
            tps = [(p.topic, p.partition) for p in parts]
            stored = lookup(tps)
            self._next = {}
            for p in parts:
                tp = (p.topic, p.partition)
                p.offset = stored.get(tp, OFFSET_BEGINNING)
                self._next[tp] = stored[tp] if tp in stored else self._low_watermark(c, p)
            c.assign(parts)
            self._generation += 1
            self._positions = {tp: stored.get(tp, 0) for tp in tps}
            on_assign(stored)

        def revoke(c: Consumer, parts: list[KTopicPartition]) -> None:
            tps = {(p.topic, p.partition) for p in parts}
            self._generation += 1
            on_revoke(tps)
            for tp in tps:
                self._positions.pop(tp, None)
            c.unassign()

        consumer.subscribe(list(self._topics), on_assign=assign, on_revoke=revoke, on_lost=revoke)
        self._consumer = consumer

    def poll(self, max_records: int, timeout_s: float) -> Polled:
        """Up to `max_records` messages: the wait ends at the first message, and what the
        client already holds joins it (``poll`` then ``consume`` without a wait).

        The detector's source never waits for a fuller batch: at 1,000 events/s a poll that
        waited its whole 5 ms (``consume`` returns early only on a full batch) was most of
        the latency of a bare consumer (p50 3.4 -> 0.5 ms), and the detector's own batches
        fill while it commits the previous one.  A gathering source (``gather``: the
        archiver, whose events wait for its linger anyway) lets a wait up to `LONG_WAIT_S`
        run its whole time for a fuller batch.

        A rebalance callback can run inside that call, so the batch may start with messages
        of the previous assignment.  When that happened, only messages that continue each
        partition exactly where the new assignment starts are kept; the rest were fetched
        before the rebalance and will be read again.
        """
        assert self._consumer is not None
        generation = self._generation
        c = self._consumer
        if self.gather and timeout_s <= LONG_WAIT_S:
            messages = c.consume(num_messages=max_records, timeout=timeout_s)
        else:
            first = c.poll(timeout_s)
            messages = [] if first is None else [first]
            if first is not None and max_records > 1:
                messages += c.consume(num_messages=max_records - 1, timeout=0)
        rebalanced = self._generation != generation
        out = Polled()
        now = time.monotonic()
        records = out.records
        upto: dict[TopicPartition, int] = {}  # next offset per partition, stored once at the end
        for m in messages:
            err = m.error()
            topic, part, offset = m.topic(), m.partition(), m.offset()
            ok = err is None and topic is not None and part is not None and offset is not None
            if ok and not rebalanced:  # the common case: nothing else to judge
                tagged = header_dataset(m.headers())
                records.append(Record(topic, part, offset, m.key(), m.value(), now, tagged))  # type: ignore[arg-type]
                continue
            if topic is None or part is None:  # a client-level error names no partition
                out.errors.append(f"consumer: {err.str() if err is not None else 'no topic'}")
                continue
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    out.eof.append((topic, part))
                else:
                    out.errors.append(f"{topic}[{part}]: {err.str()}")
                continue
            if offset is None:  # a message without error always has an offset
                out.errors.append(f"{topic}[{part}]: message without an offset")
                continue
            tp = (topic, part)
            if upto.get(tp, self._next.get(tp)) != offset:  # rebalanced: fetched before it
                continue
            upto[tp] = offset + 1
            records.append(
                Record(topic, part, offset, m.key(), m.value(), now, header_dataset(m.headers()))
            )
        if not rebalanced:
            upto = {(r.topic, r.partition): r.offset + 1 for r in records}
        self._next.update(upto)
        self._positions.update(upto)
        return out

    @staticmethod
    def _low_watermark(c: Consumer, p: KTopicPartition) -> int:
        """Where a partition without a stored offset starts.  Right after a broker restart the
        leader can be briefly unknown (NOT_LEADER, timeouts): retry a bounded time rather than
        let the exception escape the assignment callback and stop the detector."""
        waits = backoff(0.2, 2.0)
        deadline = time.monotonic() + WATERMARK_RETRY_S
        while True:
            try:
                low, _ = c.get_watermark_offsets(KTopicPartition(p.topic, p.partition), timeout=5)
                return int(low)
            except KafkaException as exc:
                if time.monotonic() >= deadline:
                    raise
                log.warning("%s[%d]: low watermark not known yet (%s); retrying",
                            p.topic, p.partition, exc)  # fmt: skip
                time.sleep(next(waits))

    def seek(self, offsets: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        for (topic, part), off in offsets.items():
            self._next[(topic, part)] = off
            self._consumer.seek(KTopicPartition(topic, part, off))
            self._positions[(topic, part)] = off

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        """Mirror database offsets into Kafka so standard lag tools see the group's progress."""
        assert self._consumer is not None
        parts = [KTopicPartition(t, p, o) for (t, p), o in offsets.items()]
        # Advisory only: the database holds the offsets that matter.
        with contextlib.suppress(KafkaException):
            self._consumer.commit(offsets=parts, asynchronous=True)

    def lag(self) -> dict[TopicPartition, int]:
        """Per partition, messages between our position and the high watermark that the last
        fetch reported (cached: no broker round trip, which cost ~7 ms a partition)."""
        assert self._consumer is not None
        out = {}
        for tp, pos in list(self._positions.items()):
            try:
                _, high = self._consumer.get_watermark_offsets(KTopicPartition(*tp), cached=True)
            except KafkaException:
                continue
            if high >= 0:  # negative: no fetch answered for this partition yet
                out[tp] = max(0, high - pos)
        return out

    def finished(self) -> bool:
        return False

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


class ReplaySource:
    """Feeds a dataset's messages as if they came from partition 0 of the input topics."""

    name = "replay"

    def __init__(
        self,
        messages: Iterable[OutMessage],
        settings: Settings,
        group_id: str,
        speed: float | None = None,
    ) -> None:
        topics = settings.topics
        wanted = {"user_events": topics.user_events, "payments": topics.payments}
        self.group_id = group_id
        self._topics = (topics.user_events, topics.payments)
        self._messages = [(wanted[m.kind], m) for m in messages if m.kind in wanted]
        self._speed = speed
        self._next = 0
        self._offsets = {t: 0 for t in self._topics}
        self._t0_wall = 0.0
        self._t0_event = self._messages[0][1].ts_ms if self._messages else 0
        self._totals = dict.fromkeys(self._topics, 0)
        for topic, _ in self._messages:
            self._totals[topic] += 1

    def start(
        self,
        lookup: OffsetLookup,
        on_assign: Callable[[dict[TopicPartition, int]], None],
        on_revoke: Callable[[set[TopicPartition]], None],
    ) -> None:
        stored = lookup([(t, 0) for t in self._topics])
        self.seek(stored)
        on_assign(stored)

    def poll(self, max_records: int, timeout_s: float) -> Polled:
        """Like a consumer: nothing to give (paced, or all given) waits up to `timeout_s`."""
        out = Polled()
        now = time.monotonic()
        allowed = None
        if self._speed is not None:
            allowed = self._t0_event + (now - self._t0_wall) * 1000 * self._speed
        end = min(len(self._messages), self._next + max_records)
        while self._next < end:
            topic, m = self._messages[self._next]
            if allowed is not None and m.ts_ms > allowed:
                break
            off = self._offsets[topic]
            self._offsets[topic] = off + 1
            out.records.append(Record(topic, 0, off, m.key.encode(), m.value, now))
            self._next += 1
        if self._next >= len(self._messages):
            out.eof = [(t, 0) for t in self._topics]
        if not out.records:
            wait = timeout_s
            if allowed is not None and self._next < len(self._messages):
                due_ms = self._messages[self._next][1].ts_ms - allowed
                wait = min(wait, due_ms / 1000 / (self._speed or 1.0))
            if wait > 0:
                time.sleep(wait)
        return out

    def seek(self, offsets: dict[TopicPartition, int]) -> None:
        """Resume after what was committed, topic by topic."""
        skip = {t: offsets.get((t, 0), 0) for t in self._topics}
        seen = dict.fromkeys(self._topics, 0)
        i = 0
        while i < len(self._messages):
            topic = self._messages[i][0]
            if seen[topic] >= skip[topic]:
                break
            seen[topic] += 1
            i += 1
        self._next = i
        self._offsets = seen
        if i < len(self._messages):
            self._t0_event = self._messages[i][1].ts_ms
        self._t0_wall = time.monotonic()

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        pass

    def lag(self) -> dict[TopicPartition, int]:
        return {(t, 0): self._totals[t] - self._offsets[t] for t in self._topics}

    def finished(self) -> bool:
        return self._next >= len(self._messages)

    def close(self) -> None:
        pass
