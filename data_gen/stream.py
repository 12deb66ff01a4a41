"""Replay a dataset into Kafka in event-time order: `python -m data_gen stream DIR`.

Each behavioural event goes to `user-events`, each payment to `payments`, each order to
`orders`, keyed by customer_id so that a customer's events share a partition number across the
topics.  The producer is idempotent (no duplicates on retry) and paced in event time: `speed`
X replays X seconds of shop time per second, or as fast as possible when None.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaError, Message, Producer

from common.settings import Settings
from data_gen.errors import DataGenError
from data_gen.readers import read_dataset
from detector.feed import OutMessage, dataset_messages
from detector.kafka_admin import BrokerUnavailable, check_broker, ensure_topics

Progress = Callable[[int, int, float], None]


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


def stream_messages(
    messages: list[OutMessage],
    settings: Settings,
    speed: float | None = None,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
) -> StreamStats:
    try:
        check_broker(settings)
    except BrokerUnavailable as exc:
        raise StreamError(str(exc)) from None
    ensure_topics(settings)
    topics = settings.topics
    names = {
        "user_events": topics.user_events,
        "payments": topics.payments,
        "orders": topics.orders,
    }
    stats = StreamStats()

    def delivered(err: KafkaError | None, msg: Message) -> None:
        if err is None:
            stats.sent[msg.topic()] += 1
        else:
            stats.failed[msg.topic()] += 1
            stats.first_error = stats.first_error or err.str()

    producer = Producer(producer_config(settings))
    t0 = time.monotonic()
    ts0 = messages[0].ts_ms if messages else 0
    last_report = t0
    for i, m in enumerate(messages):
        if stop is not None and stop():
            break
        if speed is not None:
            due = (m.ts_ms - ts0) / 1000 / speed
            while (wait := due - (time.monotonic() - t0)) > 0:
                producer.poll(min(wait, 0.1))  # serves delivery reports while waiting
        while True:
            try:
                producer.produce(names[m.kind], key=m.key, value=m.value, on_delivery=delivered)
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
) -> StreamStats:
    return stream_messages(dataset_messages(read_dataset(dataset_dir)), settings, speed, progress)


def print_progress(done: int, total: int, seconds: float) -> None:
    rate = done / seconds if seconds else 0.0
    print(f"\rstream: {done:,}/{total:,} messages ({rate:,.0f}/s)", end="", file=sys.stderr)
    if done >= total:
        print(file=sys.stderr)
