"""Put two co-partitioned input topics back into event-time order before scoring.

Both input topics are keyed by customer_id with the same partition count, so partition p of
`user-events` and partition p of `payments` hold the same customers.  Kafka orders messages
within a partition, not across topics, so one topic's partition can be fetched well ahead of
the other's: a payment before the add_to_cart that preceded it, or a day of clicks before the
payment they follow.  Each side is therefore released only in event-time order: its head goes
when the other side's head is later, or when the other side has already shown a later event
(its watermark passed).  That needs no clock: whatever the arrival speed, an event waits
exactly until the other topic's partition has moved past it.

Why not a bound in event time: a producer replaying at full speed batches each topic's
partitions separately, so at the brokers one topic runs ahead of the other by a few
milliseconds of batching, which at a million times real speed is days of event time; no event-
time bound that suits live traffic survives that.  The wait ends otherwise only when the other
side is silent: read to its end, the client's queue empty, and nothing new for `idle_s` since
both the end and the waiting event were seen (the end of a stream, a topic nobody writes).
A full-speed producer's topics reach the brokers seconds apart on a loaded machine (its queue
of 200,000 messages drains partition by partition; 2 s still lost alerts in one of five
default-size runs under a load average of 30), hence 5 s.  An event that arrives after a
later event of its partition pair was released is late: it is still scored and applied, and
listed in `late` for the service to count and log.

Implausible timestamps never enter: an event further ahead of its partition pair's event time
than `max_ahead_ms`, or (live) of the wall clock than `max_ahead_clock_ms`, becomes a dead
message (`future_timestamp`) and moves no watermark.

Dead messages (undecodable) ride in the queues too, so committed offsets always cover a
prefix of each partition: nothing after an unprocessed message is ever marked consumed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from data_gen.wire_format import BadMessage, format_ts
from detector.events import Activity, Payment

TopicPartition = tuple[str, int]
DAY_MS = 24 * 3600 * 1000


# Record and Item are made for every message and never changed after; not frozen only because
# a frozen dataclass's __init__ (one object.__setattr__ per field) cost 3x as much.
@dataclass(slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    received_s: float  # monotonic clock: silence of the other topic is counted from here
    dataset: str | None = None  # named by the message (a dataset's stream); None: the source's


@dataclass(slots=True)
class Item:
    record: Record
    event: Activity | Payment | None
    error: BadMessage | None = None


@dataclass
class _Side:
    queue: deque[Item] = field(default_factory=deque)
    watermark: int = -1  # latest event time seen on this partition
    eof_at: float | None = None  # when it was read to its end (None: data since)


@dataclass
class _Pair:
    activities: _Side = field(default_factory=_Side)
    payments: _Side = field(default_factory=_Side)
    released_ms: int = -1  # latest event time released: anything earlier is late


@dataclass
class Merger:
    events_topic: str
    payments_topic: str
    idle_s: float = 5.0
    max_ahead_ms: int = 7 * DAY_MS
    # Wall clock in epoch ms for live input (None: a replay, whose dates are history).
    clock_ms: Callable[[], int] | None = None
    max_ahead_clock_ms: int = 3600 * 1000
    late: list[Item] = field(default_factory=list)
    # Heads released because the other side was silent (not because it moved past them),
    # since the last take_idle_released(): at the end of a stream, never while data flows.
    idle_released: int = 0
    _pairs: dict[int, _Pair] = field(default_factory=dict)
    _caught_up: bool = True
    # Latest event time known plausible by the wall clock: the bound at the last reading.
    # Reading the clock for every event cost 5 % of the detector; it is read again only for
    # an event beyond this, so a refusal always compares with a fresh reading.
    _clock_bound_ms: int = -1

    def _pair(self, partition: int) -> _Pair:
        pair = self._pairs.get(partition)
        if pair is None:  # not setdefault: building a pair per message cost 6 us each
            pair = self._pairs[partition] = _Pair()
        return pair

    def add(self, item: Item) -> None:
        r = item.record
        pair = self._pair(r.partition)
        side = pair.activities if r.topic == self.events_topic else pair.payments
        side.eof_at = None
        if item.event is not None:
            ts = item.event.ts_ms
            a, b = pair.activities.watermark, pair.payments.watermark
            known = a if a > b else b
            plausible = (known < 0 or ts <= known + self.max_ahead_ms) and (
                self.clock_ms is None or ts <= self._clock_bound_ms
            )
            why = None if plausible else self._implausible(pair, r.partition, ts)
            if why is not None:
                field_name = "attempt_ts" if isinstance(item.event, Payment) else "event_timestamp"
                item = Item(r, None, BadMessage("future_timestamp", f"{field_name} {why}"))
            elif ts > side.watermark:
                side.watermark = ts
        side.queue.append(item)

    def _implausible(self, pair: _Pair, partition: int, ts: int) -> str | None:
        known = max(pair.activities.watermark, pair.payments.watermark)
        if known >= 0 and ts > known + self.max_ahead_ms:
            return ahead_of_partition(ts, partition, known, self.max_ahead_ms)
        if self.clock_ms is None:
            return None
        now = self.clock_ms()
        self._clock_bound_ms = now + self.max_ahead_clock_ms
        if ts > self._clock_bound_ms:
            return ahead_of_clock(ts, now, self.max_ahead_clock_ms)
        return None

    def mark_eof(self, topic: str, partition: int, now_s: float) -> None:
        pair = self._pair(partition)
        side = pair.activities if topic == self.events_topic else pair.payments
        if side.eof_at is None:
            side.eof_at = now_s

    def drop(self, partitions: set[int]) -> None:
        """Forget revoked partitions; their unprocessed messages will be read again."""
        for p in partitions:
            self._pairs.pop(p, None)

    def clear(self) -> None:
        self._pairs.clear()
        self.late.clear()

    def take_idle_released(self) -> int:
        n, self.idle_released = self.idle_released, 0
        return n

    def take_late(self) -> list[Item]:
        """Late items released since the last call (each is also in what `drain` returned)."""
        late, self.late = self.late, []
        return late

    @property
    def pending(self) -> int:
        return sum(len(p.activities.queue) + len(p.payments.queue) for p in self._pairs.values())

    def drain(self, now_s: float, limit: int | None = None, caught_up: bool = True) -> list[Item]:
        """Items ready to score, in order; at most `limit` (a batch boundary).  `caught_up`:
        the last poll emptied the client's queue (else a silent-looking side may only be
        waiting in it, behind a full batch of the other topic)."""
        out: list[Item] = []
        self._caught_up = caught_up
        for p in sorted(self._pairs):
            self._drain_pair(self._pairs[p], now_s, out, limit)
            if limit is not None and len(out) >= limit:
                break
        return out

    def _drain_pair(self, pair: _Pair, now_s: float, out: list[Item], limit: int | None) -> None:
        """At equal event times the behavioural event goes first (a click, then the payment
        it led to).  This loop runs once per event: queues and heads are read directly."""
        a, b = pair.activities, pair.payments
        qa, qb = a.queue, b.queue
        late = self.late
        while limit is None or len(out) < limit:
            if qa and qa[0].event is None:
                out.append(qa.popleft())
                continue
            if qb and qb[0].event is None:
                out.append(qb.popleft())
                continue
            if qa and qb:
                q = qa if qa[0].event.ts_ms <= qb[0].event.ts_ms else qb  # type: ignore[union-attr]
            elif qa and self._may_pass(qa[0], b, now_s):
                q = qa
            elif qb and self._may_pass(qb[0], a, now_s):
                q = qb
            else:
                return
            item = q.popleft()
            ts = item.event.ts_ms  # type: ignore[union-attr]
            if ts < pair.released_ms:
                late.append(item)
            else:
                pair.released_ms = ts
            out.append(item)

    def _may_pass(self, head: Item, other: _Side, now_s: float) -> bool:
        """May `head` go while the other side's queue is empty?"""
        assert head.event is not None
        if other.watermark > head.event.ts_ms:
            return True
        # Silence counts from when both were true: the other side at its end, and this head
        # in hand (an end seen long before, while nobody wrote, says nothing about now).
        idle = (
            self._caught_up
            and other.eof_at is not None
            and now_s - max(other.eof_at, head.record.received_s) >= self.idle_s
        )
        if idle:
            self.idle_released += 1
        return idle


def ahead_of_partition(ts: int, partition: int, known: int, max_ahead_ms: int) -> str:
    """Why `ts` is implausible (`future_timestamp`), in the words of every engine host."""
    return (
        f"{format_ts(ts)} is more than {_span(max_ahead_ms)} ahead of "
        f"partition {partition}'s event time {format_ts(known)}"
    )


def ahead_of_clock(ts: int, now: int, max_ahead_clock_ms: int) -> str:
    return (
        f"{format_ts(ts)} is more than {_span(max_ahead_clock_ms)} ahead of "
        f"the wall clock {format_ts(now)}"
    )


def _span(ms: int) -> str:
    if ms % DAY_MS == 0:
        return f"{ms // DAY_MS} day(s)"
    return f"{ms / 3_600_000:g} hour(s)" if ms >= 3_600_000 else f"{ms / 1000:g} s"
