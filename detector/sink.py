"""Publishes the detector's alerts and dead letters to Kafka from its transactional outbox.

A batch's messages are committed with the batch (``db.detector_store.OutboxRow``) and handed
to :class:`AlertSink` after the commit, so a broker's acknowledgement is never awaited on the
way from an event to its committed alert.  Acknowledged ids are collected for the next batch
to delete; a failed delivery is retried; rows left by a crash are resent at start.  Output to
Kafka is therefore at-least-once, keyed for consumers by the alert id in the message body.
"""

from __future__ import annotations

import logging
import time
from functools import partial

import orjson
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from db.detector_store import DeadLetterRow, OutboxRow, alert_id_for
from detector.backoff import backoff
from detector.engine import Verdict
from detector.errors import DetectorError
from detector.events import Payment
from detector.ordering import Record
from detector.settings import Settings

log = logging.getLogger("kvt.detector")

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0


class SinkError(DetectorError):
    """Outbox messages could not all be delivered in time (at shutdown)."""


class AlertSink:
    def __init__(self, settings: Settings, producer: Producer | None = None) -> None:
        self.topics = settings.topics
        self._producer = producer or Producer(
            settings.kafka_config(
                **{"enable.idempotence": True, "linger.ms": 2, "compression.type": "lz4"}
            )
        )
        self._in_flight: dict[str, OutboxRow] = {}
        self._delivered: set[str] = set()
        self._failed: list[OutboxRow] = []
        self._retry_at = 0.0
        self._delays = backoff(RETRY_FIRST_S, RETRY_MAX_S)
        self.last_error: str | None = None

    # --- building messages (inside the batch, before the commit) ---------------------------

    def alert(self, verdict: Verdict, payment: Payment) -> OutboxRow:
        alert_id = alert_id_for(verdict.payment_id)
        body = {
            "alert_id": alert_id,
            "payment_id": verdict.payment_id,
            "customer_id": verdict.customer_id,
            "score": verdict.score,
            "severity": verdict.severity,
            "ruleset_version": verdict.ruleset_version,
            "amount": payment.amount,
            "reasons": [r.to_dict() for r in verdict.reasons],
        }
        return OutboxRow(alert_id, self.topics.alerts, verdict.customer_id, orjson.dumps(body))

    def dead_letter(self, row: DeadLetterRow, record: Record) -> OutboxRow:
        headers = {
            "reason": row.reason,
            "source_topic": record.topic,
            "source_partition": str(record.partition),
            "source_offset": str(record.offset),
        }
        ident = f"DLQ-{record.topic}-{record.partition}-{record.offset}"
        return OutboxRow(ident, self.topics.dead_letter, None, record.value or b"", headers)

    # --- publishing (after the commit) -------------------------------------------------------

    def publish(self, rows: list[OutboxRow]) -> None:
        """Send committed rows; returns without waiting for the brokers."""
        for row in rows:
            if row.id in self._in_flight:
                continue
            self._in_flight[row.id] = row
            self._send(row)
        self._producer.poll(0)

    def poll(self) -> None:
        """Serve delivery reports; resend failed messages after a pause."""
        self._producer.poll(0)
        if self._failed and time.monotonic() >= self._retry_at:
            failed, self._failed = self._failed, []
            for row in failed:
                self._send(row)

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
            self._retry_at = 0.0
            self.poll()
            self._producer.flush(min(0.5, max(0.0, deadline - time.monotonic())))
        if self._in_flight:
            raise SinkError(
                f"{len(self._in_flight)} alert/dead-letter messages not delivered in "
                f"{timeout_s:.0f}s; they stay in the outbox and are sent at the next start"
            )

    def _send(self, row: OutboxRow) -> None:
        while True:
            try:
                self._producer.produce(
                    row.topic,
                    value=row.value,
                    key=row.key,
                    headers=row.headers,
                    on_delivery=partial(self._on_delivery, row.id),
                )
                return
            except BufferError:  # the local queue is full: let deliveries drain it
                self._producer.poll(0.05)
            except KafkaException as exc:  # refused before sending, e.g. too large
                self._failure(row, str(exc.args[0]))
                return

    def _on_delivery(self, ident: str, err: KafkaError | None, _msg: Message) -> None:
        row = self._in_flight.get(ident)
        if row is None:
            return
        if err is None:
            del self._in_flight[ident]
            self._delivered.add(ident)
            self._delays = backoff(RETRY_FIRST_S, RETRY_MAX_S)
            return
        self._failure(row, f"{err.name()}: {err.str()}")

    def _failure(self, row: OutboxRow, error: str) -> None:
        # librdkafka has already retried for message.timeout.ms: back off before resending.
        delay = next(self._delays)
        self.last_error = error
        log.warning("outbox message %s not delivered (%s); retrying in %.0fs", row.id, error, delay)
        self._failed.append(row)
        self._retry_at = time.monotonic() + delay
