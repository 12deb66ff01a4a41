"""Put two co-partitioned input topics back into event-time order before scoring.

Both input topics are keyed by customer_id with the same partition count, so partition p of
`user-events` and partition p of `payments` hold the same customers.  Kafka orders messages
within a partition, not across topics, so a payment can be fetched before the add_to_cart
that preceded it.  A payment is therefore released only when the behavioural partition has
shown an event later than the payment (its watermark passed), or has been fully read for a
grace period.  Behavioural events never wait: an activity scored before an earlier payment
cannot change that payment's score (state keeps a session's *first* cart time).

Dead messages (undecodable) ride in the queues too, so committed offsets always cover a
prefix of each partition: nothing after an unprocessed message is ever marked consumed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from detector.codec import BadMessage
from detector.events import Activity, Payment

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    received_s: float  # monotonic clock, for the grace period only


@dataclass(frozen=True, slots=True)
class Item:
    record: Record
    event: Activity | Payment | None
    error: BadMessage | None = None

    @property
    def order_key(self) -> tuple[int, int, str]:
        e = self.event
        assert e is not None
        if isinstance(e, Payment):
            return (e.ts_ms, 1, e.payment_id)
        return (e.ts_ms, 0, e.event_id)


@dataclass
class _Pair:
    activities: deque[Item] = field(default_factory=deque)
    payments: deque[Item] = field(default_factory=deque)


@dataclass
class Merger:
    events_topic: str
    payments_topic: str
    grace_s: float = 0.05
    _pairs: dict[int, _Pair] = field(default_factory=dict)
    _watermark: dict[int, int] = field(default_factory=dict)  # max activity ts seen
    _eof: set[int] = field(default_factory=set)  # behavioural partitions read to the end

    def add(self, item: Item) -> None:
        r = item.record
        pair = self._pairs.setdefault(r.partition, _Pair())
        if r.topic == self.events_topic:
            self._eof.discard(r.partition)
            pair.activities.append(item)
            if item.event is not None:
                mark = self._watermark.get(r.partition, -1)
                self._watermark[r.partition] = max(mark, item.event.ts_ms)
        else:
            pair.payments.append(item)

    def mark_eof(self, topic: str, partition: int) -> None:
        if topic == self.events_topic:
            self._eof.add(partition)

    def drop(self, partitions: set[int]) -> None:
        """Forget revoked partitions; their unprocessed messages will be read again."""
        for p in partitions:
            self._pairs.pop(p, None)
            self._watermark.pop(p, None)
            self._eof.discard(p)

    def clear(self) -> None:
        self._pairs.clear()
        self._watermark.clear()
        self._eof.clear()

    @property
    def pending(self) -> int:
        return sum(len(p.activities) + len(p.payments) for p in self._pairs.values())

    def drain(self, now_s: float, limit: int | None = None) -> list[Item]:
        """Items ready to score, in order; at most `limit` (a batch boundary)."""
        out: list[Item] = []
        for p in sorted(self._pairs):
            self._drain_pair(p, now_s, out, limit)
            if limit is not None and len(out) >= limit:
                break
        return out

    def _drain_pair(self, p: int, now_s: float, out: list[Item], limit: int | None) -> None:
        pair = self._pairs[p]
        qa, qp = pair.activities, pair.payments
        while limit is None or len(out) < limit:
            if qa and qa[0].event is None:
                out.append(qa.popleft())
                continue
            if qp and qp[0].event is None:
                out.append(qp.popleft())
                continue
            if qa and (not qp or qa[0].order_key < qp[0].order_key):
                out.append(qa.popleft())
                continue
            if qp and self._payment_ready(p, qp[0], now_s, bool(qa)):
                out.append(qp.popleft())
                continue
            return

    def _payment_ready(self, p: int, head: Item, now_s: float, activities_waiting: bool) -> bool:
        assert head.event is not None
        if activities_waiting or self._watermark.get(p, -1) > head.event.ts_ms:
            return True
        return p in self._eof and now_s - head.record.received_s >= self.grace_s
