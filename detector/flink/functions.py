"""The job's Python functions: decode, score (keyed, event time, broadcast rule sets), write.

Scoring goes through `detector.engine.Detector.process`, as in the backtest and the service;
Flink holds each customer's `CustomerState` (as `to_dict()`, a stable checkpoint format) in
keyed `ValueState` and the events still waiting for the watermark in a second `ValueState`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pyflink.common import Row
from pyflink.common.typeinfo import Types
from pyflink.datastream import (
    KeyedBroadcastProcessFunction,
    MapFunction,
    OutputTag,
    ProcessFunction,
    RuntimeContext,
)
from pyflink.datastream.state import MapStateDescriptor, ValueStateDescriptor
from sqlalchemy.exc import DBAPIError

from common.settings import load_settings
from db import repository as repo
from db.engine import make_engine, session_factory
from detector.backoff import backoff
from detector.codec import BadMessage
from detector.engine import Detector, Verdict
from detector.events import Payment
from detector.flink.timeline import (
    Entry,
    Event,
    add_version,
    decode,
    read_ruleset_message,
    split_due,
    version_for,
)
from detector.rules import RuleSet, default_ruleset
from detector.sink import alert_body, dead_letter_message
from detector.state import CustomerState

log = logging.getLogger("kvt.flink")

BYTES = Types.PRIMITIVE_ARRAY(Types.BYTE())
# Kafka rows for the sink tables: alerts keyed by customer, dead letters with their headers.
ALERT_ROW = Types.ROW_NAMED(["k", "v"], [Types.STRING(), BYTES])
DEAD_ROW = Types.ROW_NAMED(["v", "headers"], [BYTES, Types.MAP(Types.STRING(), BYTES)])
DEAD_TAG = OutputTag("dead-letters", Types.PICKLED_BYTE_ARRAY())
RULESETS = MapStateDescriptor("rulesets", Types.STRING(), Types.PICKLED_BYTE_ARRAY())
TIMELINE = "timeline"


class Decode(ProcessFunction):
    """Input rows (value, topic, partition, offset) to (customer_id, event); poison messages
    to the dead-letter side output with the codec's reason, as the service does."""

    def __init__(self, payments_topic: str, max_bytes: int) -> None:
        self.payments_topic = payments_topic
        self.max_bytes = max_bytes

    def process_element(self, row: Row, ctx: ProcessFunction.Context) -> Iterator[Any]:
        value, topic, partition, offset = row[0], row[1], row[2], row[3]
        try:
            event = decode(topic == self.payments_topic, value, self.max_bytes)
        except BadMessage as exc:
            yield DEAD_TAG, (topic, partition, offset, exc.reason, exc.detail, value)
            return
        if event is not None:
            yield event.customer_id, event


class Score(KeyedBroadcastProcessFunction):
    """One verdict per payment, in event-time order per customer.

    An event waits in keyed state until the watermark passes its time, then the customer's
    due events are applied in the engine's order; an event that arrives behind the watermark
    is applied at once.  `fail_at` names payments whose first scoring fails the job (the
    failure tests), remembered by a marker file so that the replay goes through."""

    def __init__(self, fail_at: tuple[str, ...] = (), fail_dir: str = "") -> None:
        self.fail_at = frozenset(fail_at)
        self.fail_dir = fail_dir

    def open(self, ctx: RuntimeContext) -> None:
        self.customer = ctx.get_state(ValueStateDescriptor("customer", Types.PICKLED_BYTE_ARRAY()))
        self.pending = ctx.get_state(ValueStateDescriptor("pending", Types.PICKLED_BYTE_ARRAY()))
        self.detectors: dict[str, Detector] = {}
        self.fallback = Detector(default_ruleset())
        self.payments = ctx.get_metrics_group().counter("verdicts")
        self.late = ctx.get_metrics_group().counter("late_events")
        self.repeated = ctx.get_metrics_group().counter("repeated_events")

    def process_broadcast_element(self, value: str, ctx: Any) -> None:
        try:
            ruleset, effective = read_ruleset_message(value)
        except BadMessage as exc:
            log.error("ignoring a rule-set message: %s", exc)
            return
        state = ctx.get_broadcast_state(RULESETS)
        entries = add_version(
            state.get(TIMELINE) or [], ruleset, effective, ctx.current_watermark()
        )
        if entries is not None:
            state.put(TIMELINE, entries)

    def process_element(self, value: tuple[str, Event], ctx: Any) -> Iterator[Any]:
        event = value[1]
        timers = ctx.timer_service()
        if event.ts_ms <= timers.current_watermark():
            self.late.inc()
            yield from self._apply([event], ctx)
            return
        pending = self.pending.value() or []
        pending.append(event)
        self.pending.update(pending)
        timers.register_event_time_timer(event.ts_ms)

    def on_timer(self, timestamp: int, ctx: Any) -> Iterator[Any]:
        due, rest = split_due(self.pending.value() or [], timestamp)
        if rest:
            self.pending.update(rest)
        else:
            self.pending.clear()
        if due:
            yield from self._apply(due, ctx)

    def _apply(self, events: list[Event], ctx: Any) -> Iterator[tuple[Verdict, Payment]]:
        raw = self.customer.value()
        state = None if raw is None else CustomerState.from_dict(raw)
        entries: list[Entry] = ctx.get_broadcast_state(RULESETS).get(TIMELINE) or []
        for event in events:
            det = self._detector(version_for(entries, event.ts_ms))
            if state is not None:
                det.states[event.customer_id] = state
            verdict = det.process(event)
            state = det.states.pop(event.customer_id)
            if det.skipped:  # already applied (a repeat): no second verdict
                self.repeated.inc(len(det.skipped))
                det.skipped.clear()
            if verdict is None:
                continue
            assert isinstance(event, Payment)
            self.payments.inc()
            self._maybe_fail(event.payment_id)
            if verdict.is_alert:
                yield verdict, event
        if state is not None:
            self.customer.update(state.to_dict())

    def _detector(self, entry: Entry | None) -> Detector:
        if entry is None:
            return self.fallback
        det = self.detectors.get(entry[1])
        if det is None:
            det = self.detectors[entry[1]] = Detector(RuleSet.from_dict(entry[2], entry[1]))
        return det

    def _maybe_fail(self, payment_id: str) -> None:
        if payment_id not in self.fail_at:
            return
        marker = Path(self.fail_dir) / payment_id
        if not marker.exists():
            marker.touch()
            raise RuntimeError(f"injected failure at payment {payment_id}")


class _Database:
    """The PostgreSQL side of a writer: one connection pool per task, retried writes."""

    def open_db(self) -> None:
        settings = load_settings()
        self.sessions = session_factory(make_engine(settings.db_url))

    def write(self, **rows: Any) -> None:
        """One idempotent write (alerts on their id, dead letters on their source offset):
        a replay after a restore writes nothing twice and never touches a decided alert."""
        delays = backoff()
        while True:
            try:
                with self.sessions() as session, session.begin():
                    repo.save_batch(
                        session,
                        group_id="flink",
                        states={},
                        offsets={},
                        expected_offsets={},
                        **{"verdicts": (), "dead_letters": (), **rows},
                    )
                return
            except DBAPIError as exc:
                delay = next(delays)
                log.warning("database write failed, retrying in %.1fs: %s", delay, exc)
                time.sleep(delay)


class WriteAlert(MapFunction, _Database):
    """An alert to PostgreSQL (the app's queue), then as the fraud-alerts Kafka row."""

    def open(self, ctx: RuntimeContext) -> None:
        self.open_db()

    def map(self, value: tuple[Verdict, Payment]) -> Row:
        verdict, payment = value
        self.write(verdicts=[(verdict, payment)])
        return Row(verdict.customer_id, orjson.dumps(alert_body(verdict, payment)))


class WriteDeadLetter(MapFunction, _Database):
    """A poison message to PostgreSQL's dead_letters, then as the dead-letter Kafka row."""

    def open(self, ctx: RuntimeContext) -> None:
        self.open_db()

    def map(self, value: tuple[str, int, int, str, str, bytes | None]) -> Row:
        topic, partition, offset, reason, detail, raw = value
        self.write(
            dead_letters=[
                repo.DeadLetterRecord(topic, partition, offset, reason, detail, _excerpt(raw))
            ]
        )
        body, headers = dead_letter_message(reason, topic, partition, offset, raw)
        return Row(body, {k: v.encode() for k, v in headers.items()})


def _excerpt(value: bytes | None, limit: int = 4096) -> str:
    return "" if value is None else value[:limit].decode("utf-8", errors="replace")
