"""Replay a dataset into Kafka in event-time order: `python -m data_gen stream DIR`.

Each behavioural event goes to `user-events`, each payment to `payments`, each order to
`orders`, keyed by customer_id so that a customer's events share a partition number across the
topics.  The producer is idempotent (no duplicates on retry) and paced in event time: `speed`
X replays X seconds of shop time per second, or as fast as possible when None.

Every message carries two headers: the stream's fingerprint (a hash of all its messages) and
its position in the stream.  A restarted stream (`resume_point`) reads the last message of
each partition: Kafka keeps a partition in the order it was written, so every message up to
the smallest position found is in the topics, and sending resumes after it; the few messages
that were in flight past it are sent twice, which the detector ignores (it is idempotent by
payment and by event).  When the topics end with anything else, the whole stream is sent again
and the caller says so.

A dataset's stream also names the dataset on every message (``kvt-dataset``): the detector's
alerts then name it rather than the live stream.  Without it a message is live traffic, as
from the shop or any outside client.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer
from confluent_kafka import TopicPartition as KTopicPartition

from data_gen.errors import DataGenError
from data_gen.feed import OutMessage, dataset_messages
from data_gen.kafka_admin import BrokerUnavailable, check_broker, ensure_topics
from data_gen.readers import read_dataset
from detector.common.datasets import DATASET_HEADER, header_dataset
from detector.common.settings import Settings

Progress = Callable[[int, int, float], None]
FINGERPRINT_HEADER = "kvt-stream"
POSITION_HEADER = "kvt-position"


class StreamError(DataGenError):
    """The replay could not be delivered; the message says where and why."""


@dataclass
class StreamStats:
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    first_error: str = ""

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def rate(self, topic: str | None = None) -> float:
        n = self.total if topic is None else self.sent[topic]
        return n / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        lines = [f"sent {self.total:,} messages in {self.seconds:.1f} s ({self.rate():,.0f}/s)"]
        for topic in sorted(self.sent):
            lines.append(f"  {topic:<14} {self.sent[topic]:>9,}  {self.rate(topic):>9,.0f}/s")
        if self.failed:
            lines.append(f"  FAILED: {dict(self.failed)} (first: {self.first_error})")
        return "\n".join(lines)


def producer_config(settings: Settings) -> dict[str, object]:
    return settings.kafka_config(
        **{
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",
            # The Java clients' partitioner, so other tools agree on where a customer lives.
            "partitioner": "murmur2_random",
            "queue.buffering.max.messages": 200_000,
            "message.timeout.ms": 120_000,
        }
    )


def fingerprint(messages: list[OutMessage]) -> str:
    """What identifies a stream: the same dataset gives the same messages, hence the same hash."""
    h = hashlib.sha256()
    for m in messages:
        h.update(f"{m.kind}\x00{m.key}\x00".encode())
        h.update(m.value)
    return h.hexdigest()[:16]


def _topic_names(settings: Settings) -> dict[str, str]:
    t = settings.topics
    return {"user_events": t.user_events, "payments": t.payments, "orders": t.orders}


@dataclass(frozen=True)
class Resume:
    start: int  # the first message to send
    foreign: int  # partitions whose last message is not this stream's (0: a clean resume)
    seen: bool = False  # some partition already holds messages of this stream


def resume_point(messages: list[OutMessage], settings: Settings, stream_id: str) -> Resume:
    """Where a restarted stream of `messages` picks up (see the module docstring)."""
    kinds = {m.kind for m in messages}
    topics = [name for kind, name in _topic_names(settings).items() if kind in kinds]
    consumer = Consumer(
        settings.kafka_config(**{"group.id": "kvt-stream-resume", "enable.auto.commit": False})
    )
    try:
        positions: list[int] = []
        foreign = 0
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
            for part in sorted(meta.partitions if meta is not None else ()):
                pos = _last_position(consumer, topic, part, stream_id)
                foreign += pos is None
                positions.append(-1 if pos is None else pos)
    finally:
        consumer.close()
    if not positions or foreign:
        return Resume(0, foreign)
    # An empty partition (-1) has received none of this stream yet: its first message may come
    # before every other partition's last, so nothing can be skipped.
    return Resume(min(positions) + 1, 0, seen=max(positions) >= 0)


def _last_position(consumer: Consumer, topic: str, part: int, stream_id: str) -> int | None:
    """Position header of the partition's last message if it belongs to this stream, -1 for
    an empty partition, None for a message of anything else."""
    tp = KTopicPartition(topic, part)
    low, high = consumer.get_watermark_offsets(tp, timeout=10)
    if high <= low:
        return -1  # empty: nothing of any stream
    consumer.assign([KTopicPartition(topic, part, high - 1)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is None or m.error() is not None:
            continue
        headers = dict(m.headers() or [])
        if headers.get(FINGERPRINT_HEADER) != stream_id.encode():
            return None
        raw = headers.get(POSITION_HEADER)
        return int(raw) if isinstance(raw, bytes) and raw.isdigit() else None
    raise StreamError(f"{topic}[{part}]: could not read its last message to resume")


def stream_messages(
    messages: list[OutMessage],
    settings: Settings,
    speed: float | None = None,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
    start: int = 0,
    stream_id: str | None = None,
    dataset: str | None = None,
) -> StreamStats:
    """Send `messages[start:]` (all of them by default), as the stream of `dataset` (its
    alerts name it), or as live traffic when None."""
    if dataset is not None and header_dataset([(DATASET_HEADER, dataset.encode())]) != dataset:
        raise StreamError(
            f"{dataset!r} cannot name a dataset's alerts (1-80 letters, digits, '.', '_' or "
            "'-', not 'live'): rename the directory, or stream it as live traffic"
        )
    try:
        check_broker(settings)
    except BrokerUnavailable as exc:
        raise StreamError(str(exc)) from None
    ensure_topics(settings)
    names = _topic_names(settings)
    stream_id = stream_id or fingerprint(messages)
    stats = StreamStats()

    def delivered(err: KafkaError | None, msg: Message) -> None:
        topic = msg.topic() or "?"  # a delivery report always names its topic
        if err is None:
            stats.sent[topic] += 1
        else:
            stats.failed[topic] += 1
            stats.first_error = stats.first_error or err.str()

    producer = Producer(producer_config(settings))
    tagged = {DATASET_HEADER: dataset} if dataset is not None else {}
    t0 = time.monotonic()
    ts0 = messages[start].ts_ms if start < len(messages) else 0
    last_report = t0
    for i in range(start, len(messages)):
        m = messages[i]
        if stop is not None and stop():
            break
        if speed is not None:
            due = (m.ts_ms - ts0) / 1000 / speed
            while (wait := due - (time.monotonic() - t0)) > 0:
                producer.poll(min(wait, 0.1))  # serves delivery reports while waiting
        while True:
            try:
                producer.produce(
                    names[m.kind],
                    key=m.key,
                    value=m.value,
                    headers={FINGERPRINT_HEADER: stream_id, POSITION_HEADER: str(i), **tagged},
                    on_delivery=delivered,
                )
                break
            except BufferError:
                producer.poll(0.1)  # queue full: let deliveries drain
        if i % 1000 == 0:
            producer.poll(0)
            now = time.monotonic()
            if progress is not None and now - last_report >= 1.0:
                last_report = now
                progress(i, len(messages), now - t0)
    while producer.flush(1.0):
        if progress is not None:
            progress(len(messages), len(messages), time.monotonic() - t0)
    stats.seconds = time.monotonic() - t0
    if progress is not None:
        progress(len(messages), len(messages), stats.seconds)
    return stats


def stream_dataset(
    dataset_dir: str | Path,
    settings: Settings,
    speed: float | None = None,
    progress: Progress | None = None,
    resume: bool = False,
    say: Callable[[str], None] = print,
    live: bool = False,
) -> StreamStats:
    """Stream a dataset; with `resume`, after what an earlier run of it already delivered.
    Its alerts name the dataset (its directory's name), unless `live`: then it passes for
    the shop's own traffic."""
    dataset = None if live else Path(dataset_dir).resolve().name
    messages = dataset_messages(read_dataset(dataset_dir))
    stream_id = fingerprint(messages)
    start = 0
    if resume:
        try:
            check_broker(settings)
        except BrokerUnavailable as exc:
            raise StreamError(str(exc)) from None
        ensure_topics(settings)
        try:
            point = resume_point(messages, settings, stream_id)
        except KafkaException as exc:
            raise StreamError(f"could not read the topics to resume: {exc}") from None
        start = point.start
        if point.foreign:
            say(
                f"stream: {point.foreign} partition(s) end with messages of another stream: "
                f"sending all {len(messages):,} messages; those already there are sent twice "
                "(the detector ignores repeated payments and events)"
            )
        elif start >= len(messages):
            say(f"stream: all {len(messages):,} messages are already in the topics")
        elif start:
            say(
                f"stream: resuming at message {start:,} of {len(messages):,}; the few sent "
                "past it before the stop are sent twice (the detector ignores them)"
            )
        elif point.seen:
            say(
                f"stream: a partition has received nothing of this stream yet: sending all "
                f"{len(messages):,} messages; those already there are sent twice "
                "(the detector ignores repeated payments and events)"
            )
    return stream_messages(
        messages, settings, speed, progress, start=start, stream_id=stream_id, dataset=dataset
    )


def print_progress(done: int, total: int, seconds: float) -> None:
    rate = done / seconds if seconds else 0.0
    print(f"\rstream: {done:,}/{total:,} messages ({rate:,.0f}/s)", end="", file=sys.stderr)
    if done >= total:
        print(file=sys.stderr)
