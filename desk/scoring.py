"""Scoring one payment on demand (the checkout asks before it charges).

The verdict comes from the one engine (:func:`detector.engine.score`) with the active rule
set and the customer's committed state, exactly as the detector would score the payment now.
A dry run stops there: nothing is written.  Otherwise the payment is handed to the stream
(the payments topic, keyed by customer, in the stream's own wire format), so the detector
records it like any other payment: state, alert, outbox, offsets in one transaction, and a
payment that later arrives again from the shop's own stream is the same payment id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from data_gen.wire_format import BadMessage, payment_message
from db import audit as trail
from db.alerts import scoring_lookup
from db.detector_store import alert_id_for
from db.models import RulesetRow
from db.rulesets import active_ruleset
from desk.auth import Permission, Principal, Sessions, authorize
from detector.codec import decode_payment
from detector.common.settings import Settings
from detector.engine import CompiledRules, Verdict, score
from detector.state import CustomerState

__all__ = ["BadPayment", "ScoreResult", "Scorer", "StreamUnavailable"]

RULESET_CHECK_S = 0.5  # as the detector: a publication reaches scoring within this
SEND_TIMEOUT_S = 5.0
PAYMENT_SCORE = "payment.score"


class BadPayment(ValueError):
    """The payment cannot be scored; ``reason`` and ``detail`` as for a dead letter."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class StreamUnavailable(RuntimeError):
    """A payment to record could not be handed to the stream (no broker, or no ack)."""


@dataclass(frozen=True)
class ScoreResult:
    verdict: Verdict
    known_customer: bool  # the detector holds a state for this customer
    recorded: bool  # handed to the stream (not a dry run)
    existing_alert: str | None  # an alert the detector already raised for this payment id

    @property
    def alert_id(self) -> str | None:
        """The payment's alert: the one raised already, else the one the detector raises
        from this verdict (the checkout's payments go to the live stream); None without."""
        if self.existing_alert is not None:
            return self.existing_alert
        return alert_id_for(self.verdict.payment_id) if self.verdict.is_alert else None


class Scorer:
    """Per process: the active rule set (re-checked every half second) and, for payments to
    record, one Kafka producer."""

    def __init__(
        self, settings: Settings, sessions: Sessions, lookups: Sessions | None = None
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        # Sessions without a transaction (no BEGIN, nothing to roll back) for the lookups
        # of a score: each round trip to the database is on the checkout's clock.
        self.lookups = lookups or sessions
        self._rules: tuple[int, CompiledRules] | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._producer: Any = None

    def score(
        self, who: Principal | None, message: Mapping[str, Any], dry_run: bool = True
    ) -> ScoreResult:
        me = authorize(self, who, Permission.SCORE_PAYMENTS)  # a handle: its sessions and lookups
        try:
            payment = decode_payment(message)
        except BadMessage as exc:
            raise BadPayment(exc.reason, exc.detail) from None
        with self.lookups() as session:
            version, compiled = self._active(session)
            state, existing = scoring_lookup(session, payment.customer_id, payment.payment_id)
        verdict = score(payment, state or CustomerState(), compiled)
        if not dry_run:
            self._send(payment.customer_id, payment_message(payment))
            with self.sessions() as session:
                trail.record(
                    session,
                    trail.Entry(me.username, PAYMENT_SCORE, trail.OK, payment.payment_id,
                                me.role, {"score": verdict.score, "ruleset": version}),
                )  # fmt: skip
                session.commit()
        return ScoreResult(verdict, state is not None, not dry_run, existing)

    def _active(self, session: Session) -> tuple[int, CompiledRules]:
        now = time.monotonic()
        with self._lock:
            cached, fresh = self._rules, now - self._checked < RULESET_CHECK_S
        if cached is not None and fresh:
            return cached
        version = session.scalar(select(RulesetRow.version).where(RulesetRow.active))
        if cached is None or version != cached[0]:
            if version is None:
                # A fresh database: version 1 (the defaults) is seeded under a lock that lasts
                # a transaction, which the autocommit lookups do not have: first scores that
                # arrive together would each seed it.
                with self.sessions() as tx:
                    number, ruleset = active_ruleset(tx)
                    tx.commit()
            else:
                number, ruleset = active_ruleset(session)
            cached = (number, CompiledRules.of(ruleset))
        with self._lock:
            self._rules, self._checked = cached, now
        return cached

    def _send(self, key: str, message: dict[str, Any]) -> None:
        if self.settings.embedded:
            raise StreamUnavailable(
                "dry_run=false hands the payment to the stream, and no broker is configured "
                "(KVT_KAFKA_BOOTSTRAP); score with dry_run=true"
            )
        from confluent_kafka import KafkaException, Producer

        from data_gen.stream import producer_config

        with self._lock:
            if self._producer is None:
                self._producer = Producer({**producer_config(self.settings), "linger.ms": 0})
            producer = self._producer
        errors: list[str] = []
        done = threading.Event()

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(err.str())
            done.set()

        try:
            producer.produce(
                self.settings.topics.payments,
                key=key.encode(),
                value=orjson.dumps(message),
                on_delivery=delivered,
            )
            deadline = time.monotonic() + SEND_TIMEOUT_S
            while not done.is_set() and time.monotonic() < deadline:
                producer.poll(0.05)
        except (KafkaException, BufferError) as exc:
            raise StreamUnavailable(f"payments topic: {exc}") from None
        if not done.is_set():
            raise StreamUnavailable(f"payments topic: no acknowledgement in {SEND_TIMEOUT_S:g} s")
        if errors:
            raise StreamUnavailable(f"payments topic: {errors[0]}")

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(SEND_TIMEOUT_S)
