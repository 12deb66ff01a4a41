"""Publishes the detector's alerts and dead letters to Kafka from its transactional outbox.

A batch's messages are committed with the batch (``db.detector_store.OutboxRecord``) and handed
to :class:`AlertSink` after the commit, so a broker's acknowledgement is never awaited on the
way from an event to its committed alert.  Acknowledged ids are collected for the next batch
to delete; a failed delivery is retried with its own back-off; rows left by a crash, or by an
instance that stopped, are resent by the service's outbox sweep.  Output to Kafka is therefore
at-least-once, keyed for consumers by the alert id in the message body.
"""

from __future__ import annotations

import base64
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

import orjson
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from db.detector_store import DeadLetterRecord, OutboxRecord, alert_id_for
from db.models import LIVE_DATASET
from detector.backoff import backoff
from detector.common.settings import Settings
from detector.engine import Verdict
from detector.errors import DetectorError
from detector.events import Payment
from detector.ordering import Record

log = logging.getLogger("kvt.detector")

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0
# A dead letter carries the poison message itself, which may be as large as the broker took
# (1 MB by default) and then too large for this producer: the excess is cut, and said so.
DEAD_LETTER_MAX_BYTES = 512 * 1024


def _text_key(key: bytes | None) -> str | None:
    """The original message key, when it can be stored as text (UTF-8 without NUL)."""
    if key is None or b"\x00" in key:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


class SinkError(DetectorError):
    """Outbox messages could not all be delivered in time (at shutdown)."""


def alert_body(
    verdict: Verdict, payment: Payment, dataset: str = LIVE_DATASET
) -> dict[str, object]:
    """The fraud-alerts message of an alert, whichever engine host (service or Flink) sends it;
    ``dataset``: the live stream's, or the dataset whose stream or replay raised it."""
    return {
        "alert_id": alert_id_for(verdict.payment_id, dataset),
        "payment_id": verdict.payment_id,
        "dataset": dataset,
        "customer_id": verdict.customer_id,
        "score": verdict.score,
        "severity": verdict.severity,
        "ruleset_version": verdict.ruleset_version,
        "amount": payment.amount,
        "reasons": [r.to_dict() for r in verdict.reasons],
    }


def dead_letter_message(
    reason: str, topic: str, partition: int, offset: int, value: bytes | None
) -> tuple[bytes, dict[str, str]]:
    """The dead-letter message of a poison input message: its bytes, and headers saying why
    and where it came from."""
    raw = value or b""
    headers = {
        "reason": reason,
        "source_topic": topic,
        "source_partition": str(partition),
        "source_offset": str(offset),
    }
    if len(raw) > DEAD_LETTER_MAX_BYTES:
        headers["truncated_from_bytes"] = str(len(raw))
        raw = raw[:DEAD_LETTER_MAX_BYTES]
    return raw, headers


@dataclass
class _Retry:
    row: OutboxRecord
    delays: Iterator[float] = field(default_factory=lambda: backoff(RETRY_FIRST_S, RETRY_MAX_S))
    due: float = 0.0


class AlertSink:
    def __init__(self, settings: Settings, producer: Producer | None = None) -> None:
        self.topics = settings.topics
        self._new_producer: Callable[[], Producer] = lambda: Producer(
            settings.kafka_config(
                **{"enable.idempotence": True, "linger.ms": 2, "compression.type": "lz4"}
            )
        )
        self._producer = producer or self._new_producer()
        self._in_flight: dict[str, OutboxRecord] = {}  # sent or waiting to be resent, not acked
        self._delivered: set[str] = set()
        self._retries: dict[str, _Retry] = {}
        self._fatal = False
        self.last_error: str | None = None

    # --- building messages (inside the batch, before the commit) ---------------------------

    def alert(
        self,
        verdict: Verdict,
        payment: Payment,
        unknown_customer: bool = False,
        dataset: str = LIVE_DATASET,
    ) -> OutboxRecord:
        body = alert_body(verdict, payment, dataset)
        if unknown_customer:  # not in the customer reference: no new customer to trust
            body["unknown_customer"] = True
        return OutboxRecord(
            str(body["alert_id"]), self.topics.alerts, verdict.customer_id, orjson.dumps(body)
        )

    def dead_letter(self, row: DeadLetterRecord, record: Record) -> OutboxRecord:
        value, headers = dead_letter_message(
            row.reason, record.topic, record.partition, record.offset, record.value
        )
        ident = f"DLQ-{record.topic}-{record.partition}-{record.offset}"
        key = _text_key(record.key)
        if key is None and record.key is not None:
            # The outbox stores keys as text: a binary key rides in a header instead.
            headers["source_key_b64"] = base64.b64encode(record.key).decode("ascii")
        return OutboxRecord(ident, self.topics.dead_letter, key, value, headers)

    # --- publishing (after the commit) -------------------------------------------------------

    def publish(self, rows: list[OutboxRecord]) -> None:
        """Send committed rows; returns without waiting for the brokers."""
        for row in rows:
            if row.id in self._in_flight:
                continue
            self._in_flight[row.id] = row
            self._send(row)
        self._producer.poll(0)

    def poll(self) -> None:
        """Serve delivery reports; resend what failed once its back-off has passed."""
        self._producer.poll(0)
        if self._fatal:
            self._replace_producer()
        now = time.monotonic()
        for ident in [i for i, r in self._retries.items() if r.due <= now]:
            self._send(self._retries[ident].row)

    def take_delivered(self) -> set[str]:
        """Ids acknowledged since the last call: the caller deletes them from the outbox."""
        done, self._delivered = self._delivered, set()
        return done

    def give_back(self, ids: set[str]) -> None:
        """Ids whose deletion was rolled back: delete them with a later batch."""
        self._delivered |= ids

    @property
    def pending(self) -> int:
        return len(self._in_flight)

    def flush(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self._in_flight and time.monotonic() < deadline:
            for retry in self._retries.values():
                if retry.due != math.inf:  # waiting out a back-off: shutdown will not wait
                    retry.due = 0.0
            self.poll()
            self._producer.flush(min(0.5, max(0.0, deadline - time.monotonic())))
        if self._in_flight:
            raise SinkError(
                f"{len(self._in_flight)} alert/dead-letter messages not delivered in "
                f"{timeout_s:.0f}s; they stay in the outbox and are sent again later"
            )

    def _send(self, row: OutboxRecord) -> None:
        for attempt in range(2):
            try:
                self._producer.produce(
                    row.topic,
                    value=row.value,
                    key=row.key,
                    headers=dict(row.headers) if row.headers else None,
                    on_delivery=partial(self._on_delivery, row.id),
                )
                if (retry := self._retries.get(row.id)) is not None:
                    retry.due = math.inf  # sent: its back-off goes on if this fails too
                return
            except BufferError:  # the local queue is full: serve deliveries once, then wait
                if attempt == 0:
                    self._producer.poll(0.05)
                    continue
                self._failure(row, "the producer's local queue is full")
            except KafkaException as exc:  # refused before sending
                self._failure(row, str(exc.args[0]))
                return

    def _on_delivery(self, ident: str, err: KafkaError | None, _msg: Message) -> None:
        row = self._in_flight.get(ident)
        if row is None:
            return
        if err is None:
            del self._in_flight[ident]
            self._retries.pop(ident, None)
            self._delivered.add(ident)
            return
        if err.fatal():  # the idempotent producer cannot go on: a new one resends all
            self._fatal = True
        self._failure(row, f"{err.name()}: {err.str()}")

    def _failure(self, row: OutboxRecord, error: str) -> None:
        # librdkafka has already retried for message.timeout.ms: back off before resending.
        retry = self._retries.setdefault(row.id, _Retry(row))
        delay = next(retry.delays)
        retry.due = time.monotonic() + delay
        self.last_error = error
        log.warning("outbox message %s not delivered (%s); retrying in %.0fs", row.id, error, delay)

    def _replace_producer(self) -> None:
        log.error("the alert producer hit a fatal error (%s); starting a new one", self.last_error)
        self._fatal = False
        self._producer = self._new_producer()
        for row in self._in_flight.values():
            self._retries.setdefault(row.id, _Retry(row)).due = 0.0
