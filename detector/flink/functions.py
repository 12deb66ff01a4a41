"""The job's Python functions: decode, score (keyed, event time, broadcast rule sets), write.

Scoring goes through `detector.engine.Detector.process`, as in the backtest and the service;
Flink holds each customer's `CustomerState` (as `to_dict()`, a stable checkpoint format) in
keyed `ValueState` and the events still waiting for the watermark in a second `ValueState`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from pyflink.common import Row
from pyflink.common.typeinfo import Types
from pyflink.datastream import (
    FlatMapFunction,
    KeyedBroadcastProcessFunction,
    OutputTag,
    RuntimeContext,
)
from pyflink.datastream.state import MapStateDescriptor, ValueStateDescriptor
from sqlalchemy.exc import DBAPIError

from data_gen.wire_format import BadMessage
from db.detector_store import DeadLetterRecord, save_batch
from db.engine import make_engine, session_factory
from db.models import LIVE_DATASET
from detector.backoff import backoff
from detector.common.datasets import DATASET_HEADER, header_dataset
from detector.common.settings import load_settings
from detector.engine import Detector
from detector.events import Payment
from detector.flink.timeline import (
    Entry,
    Event,
    add_version,
    decode,
    read_ruleset_message,
    version_for,
)
from detector.rules import RuleSet, default_ruleset
from detector.sink import alert_body, dead_letter_message
from detector.state import CustomerState

log = logging.getLogger("kvt.flink")

BYTES = Types.PRIMITIVE_ARRAY(Types.BYTE())
# Kafka rows for the sink tables: alerts keyed by customer, dead letters with the original
# message's key (its exact bytes) and headers saying why and where from.
ALERT_ROW = Types.ROW_NAMED(["k", "v"], [Types.STRING(), BYTES])
DEAD_ROW = Types.ROW_NAMED(["k", "v", "headers"], [BYTES, BYTES, Types.MAP(Types.STRING(), BYTES)])
DEAD_TAG = OutputTag("dead-letters", DEAD_ROW)
POISON_KEY = "\x00poison:"  # no customer id holds a NUL (detector.codec)
RULESETS = MapStateDescriptor("rulesets", Types.STRING(), Types.PICKLED_BYTE_ARRAY())
TIMELINE = "timeline"


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
                    save_batch(
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


@dataclass(frozen=True, slots=True)
class Poison:
    """An input message the codec refused, on its way to the dead letters."""

    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    value: bytes | None
    key: bytes | None = None


def state_key(customer_id: str, dataset: str) -> str:
    """The key of a customer's state in one dataset: the customer id for the live stream (as
    before datasets had their own states, so a restored live state keeps its key), else the
    id and the dataset apart by a NUL, which no customer id holds (detector.codec).  Two
    datasets streamed through the live topics number their customers alike; as in the
    service (``detector.service``), each keeps its own states."""
    return customer_id if dataset == LIVE_DATASET else f"{customer_id}\x00{dataset}"


class Decode(FlatMapFunction):
    """Input rows (value, topic, partition, offset, event time, customer's state key, ...,
    key, ahead: detector/flink/job.py) to (key, event or Poison, dataset): events keyed by
    customer and dataset (:func:`state_key`), poison messages (an implausibly future time
    among them) by their source partition. Everything leaves by one output, so Flink fuses
    this with the key selector into one Python operator: a second one could still hold
    records in its buffer when a checkpoint barrier passes."""

    def __init__(
        self, payments_topic: str, max_bytes: int, max_ahead_ms: int, max_ahead_clock_ms: int
    ) -> None:
        self.payments_topic = payments_topic
        self.max_bytes = max_bytes
        self.max_ahead = (max_ahead_ms, max_ahead_clock_ms)

    def flat_map(self, row: Row) -> Iterator[tuple[str, Event | Poison, str]]:
        value, topic, partition, offset = row[0], row[1], row[2], row[3]
        # The dataset the job's SQL found in the kvt-dataset header (after the last NUL of the
        # customer field), checked by the service's rule (detector.sources) all the same.
        named = row[5].rpartition("\x00")[2] if row[5] and "\x00" in row[5] else None
        dataset = header_dataset([(DATASET_HEADER, named)]) or LIVE_DATASET
        try:
            event = decode(
                topic == self.payments_topic, value, self.max_bytes, row[9], partition,
                self.max_ahead,
            )  # fmt: skip
        except BadMessage as exc:
            poison = Poison(topic, partition, offset, exc.reason, exc.detail, value, row[8])
            yield f"{POISON_KEY}{topic}/{partition}", poison, dataset
            return
        if event is not None:  # a page view changes nothing: it stops here
            yield state_key(event.customer_id, dataset), event, dataset


class Score(KeyedBroadcastProcessFunction, _Database):
    """One verdict per payment, in event-time order per customer; alerts to PostgreSQL and,
    as Kafka rows, downstream to the exactly-once sink.

    Events arrive per customer in the engine's order (the Java operator upstream waits for
    the watermark); each goes through `Detector.process` at once."""

    def open(self, ctx: RuntimeContext) -> None:
        self.open_db()
        self.window_ms = load_settings().dedup_window_ms  # as the service's
        self.customer = ctx.get_state(ValueStateDescriptor("customer", Types.PICKLED_BYTE_ARRAY()))
        self.detectors: dict[str, Detector] = {}
        self.fallback = Detector(default_ruleset(), dedup_window_ms=self.window_ms)
        self.payments = ctx.get_metrics_group().counter("verdicts")
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

    def process_element(self, value: tuple[str, Event | Poison, str], ctx: Any) -> Iterator[Any]:
        event = value[1]
        if isinstance(event, Poison):
            yield from self._dead_letter(event)
            return
        yield from self._apply([event], value[2], ctx)

    def _apply(self, events: list[Event], dataset: str, ctx: Any) -> Iterator[Row]:
        """``events`` of one customer in ``dataset``, whose state this key holds."""
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
            if verdict.is_alert:
                # PostgreSQL (the app's queue) at once; Kafka with the next checkpoint. Both
                # here, in the operator that owns the state: an alert handed to a later Python
                # operator could still be in its buffer when a checkpoint completes.
                self.write(verdicts=[(verdict, event)], datasets=[dataset])
                body = alert_body(verdict, event, dataset)
                yield Row(verdict.customer_id, orjson.dumps(body))
        if state is not None:
            self.customer.update(state.to_dict())

    def _dead_letter(self, m: Poison) -> Iterator[Any]:
        """PostgreSQL's dead_letters (idempotent on the source offset), and the dead-letter
        topic's row, with the codec's reason, as the service does."""
        row = DeadLetterRecord(m.topic, m.partition, m.offset, m.reason, m.detail,
                                 _excerpt(m.value))  # fmt: skip
        self.write(dead_letters=[row])
        body, headers = dead_letter_message(m.reason, m.topic, m.partition, m.offset, m.value)
        yield DEAD_TAG, Row(m.key, body, {k: v.encode() for k, v in headers.items()})

    def _detector(self, entry: Entry | None) -> Detector:
        if entry is None:
            return self.fallback
        det = self.detectors.get(entry[1])
        if det is None:
            ruleset = RuleSet.from_dict(entry[2], entry[1])
            det = self.detectors[entry[1]] = Detector(ruleset, dedup_window_ms=self.window_ms)
        return det


def _excerpt(value: bytes | None, limit: int = 4096) -> str:
    return "" if value is None else value[:limit].decode("utf-8", errors="replace")
