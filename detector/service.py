"""The detector service: consume, score with the engine, commit effectively once.

Each batch is one database transaction holding the new alerts, the touched customers' states
and the next offsets of every partition the batch read from.  Offsets are fenced (the stored
value must be the one this consumer last saw), so a consumer that lost its partitions in a
rebalance cannot write.  After a crash the service resumes from the committed offsets with
the committed states: the alerts are those of an uninterrupted run, no more and no less.

Alerts and dead letters for Kafka join the same transaction as outbox rows and are published
after the commit (``detector.sink``), so no broker acknowledgement is awaited on the way from
an event to its committed alert; unacknowledged rows are resent after a crash (at-least-once on
the topics, keyed by alert id; exactly once in the database).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from confluent_kafka import KafkaException
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from data_gen.wire_format import BadMessage, format_ts
from db.detector_store import (
    DeadLetterRecord,
    OutboxRecord,
    count_outbox,
    delete_outbox,
    load_batch_reads,
    load_offsets,
    load_outbox,
    load_states,
    save_batch,
)
from db.errors import OffsetConflict
from db.models import LIVE_DATASET
from db.rulesets import active_ruleset, active_version
from db.types import utc_now
from detector.backoff import backoff
from detector.common.settings import Settings
from detector.engine import Detector, Skipped, Verdict
from detector.events import STATEFUL_EVENT_TYPES, Activity, Payment
from detector.heap import HeapKeeper
from detector.ordering import Item, Merger, Record, TopicPartition
from detector.pacing import IdleWait
from detector.references import DEAD_LETTER, CustomerReference
from detector.rules import RuleSet
from detector.sink import AlertSink, SinkError
from detector.sources import Source
from detector.state import CustomerState
from detector.status import Status
from detector.telemetry import Telemetry
from detector.wire import decode

log = logging.getLogger("kvt.detector")

RULESET_CHECK_S = 0.5
LAG_CHECK_S = 1.0
OUTBOX_TIDY_S = 1.0  # when idle, acknowledged outbox rows are deleted this often
OUTBOX_SWEEP_S = 10.0  # how often the outbox is counted and searched for forgotten rows
OUTBOX_STALE_S = 30.0  # a row this old and not in flight here was left by a crash or a peer
STOP_FLUSH_S = 10.0


@dataclass
class BatchResult:
    events: int
    payments: int
    alerts: int
    dead: int
    alerted: tuple[str, ...] = ()  # payment ids, for latency measurements


class DetectorService:
    def __init__(
        self,
        settings: Settings,
        source: Source,
        sessions: sessionmaker[Session],
        sink: AlertSink | None = None,
        status: Status | None = None,
        telemetry: Telemetry | None = None,
        on_batch: Callable[[BatchResult], None] | None = None,
        own_process: bool = False,
        dataset: str = LIVE_DATASET,
    ) -> None:
        self.settings = settings
        self.source = source
        self.dataset = dataset  # what the alerts name as their origin: a replay's dataset, or live
        self.sessions = sessions
        self.sink = sink
        self.status = status or Status()
        self.telemetry = telemetry or Telemetry()
        self.on_batch = on_batch
        # Alone in its process (`python -m detector run`), the service may freeze the heap.
        self._heap = HeapKeeper() if own_process else None
        self._wait = IdleWait(settings.poll_timeout_s)
        topics = settings.topics
        self._payments_topic = topics.payments
        self.merger = Merger(
            topics.user_events,
            topics.payments,
            idle_s=settings.order_idle_ms / 1000,
            max_ahead_ms=settings.max_ahead_ms,
            # Live input is checked against the wall clock too; a replay's dates are history.
            clock_ms=_wall_ms if source.name == "kafka" else None,
            max_ahead_clock_ms=settings.max_ahead_clock_ms,
        )
        # Customer states per dataset, then per customer: a dataset streamed through the live
        # topics (``kvt-dataset``) numbers its customers as any other does, so each dataset's
        # customers have their own states; the live stream's are those of LIVE_DATASET.
        self._states: dict[str, dict[str, CustomerState]] = {}
        self._late: set[int] = set()
        self._reference = CustomerReference()  # ids of this batch's items the merger released late
        self._expected: dict[TopicPartition, int | None] = {}
        self._ruleset: RuleSet | None = None
        self._ruleset_checked = 0.0
        self._lag_checked = 0.0
        self._outbox_tidied = 0.0
        self._outbox_swept = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start_thread(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name="kvt-detector", daemon=True)
        self._thread.start()
        return self._thread

    @property
    def alive(self) -> bool:
        """Whether the consumer thread started by :meth:`start_thread` still runs."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self, until_idle: bool = False) -> None:
        """Consume until stopped (or, with `until_idle`, until a replay is fully scored)."""
        self.status.update(state="starting", source=self.source.name, started_at=time.time())
        if self._heap is not None:
            self._heap.start()
        try:
            self._with_db(lambda s: self._load_ruleset(s, force=True))
            if self.sink is not None:
                self.sink.publish(self._with_db(load_outbox))
            self.source.start(self._lookup_offsets, self._on_assign, self._on_revoke)
            self.status.update(state="running")
            while not self._stop.is_set():
                self.step()
                if self._heap is not None:
                    self._heap.tick()  # here: the step's batch is garbage already
                if until_idle and self.source.finished() and self.merger.pending == 0:
                    break
        except Exception as exc:  # the thread must report, never die silently
            log.exception("detector stopped on an unexpected error")
            self.status.error(f"{type(exc).__name__}: {exc}")
            self.status.update(state="failed")
            raise
        finally:
            if self._heap is not None:
                self._heap.stop()
            self.source.close()
            self._drain_outbox()
            if self.status.snapshot().state != "failed":
                self.status.update(state="stopped")

    # --- one iteration -------------------------------------------------------------------

    def step(self) -> BatchResult | None:
        polled = self.source.poll(self.settings.batch_max, self._wait.next())
        for msg in polled.errors:
            self.status.error(msg)
            log.warning("consumer: %s", msg)
        for rec in polled.records:
            self.merger.add(self._decode(rec))
        now = time.monotonic()
        for topic, part in polled.eof:
            self.merger.mark_eof(topic, part, now)
        if now - self._lag_checked >= LAG_CHECK_S:
            self._lag_checked = now
            self._report_lag()
        caught_up = len(polled.records) < self.settings.batch_max
        items = self.merger.drain(now, limit=self.settings.batch_max, caught_up=caught_up)
        self._late = {id(i) for i in self.merger.take_late()}
        if idle_released := self.merger.take_idle_released():
            self.telemetry.idle_released.inc(idle_released)
            self.status.count(idle_released_total=idle_released)
        if polled.records:
            self._wait.busy()
        elif self.merger.pending:
            # Held events wait for the other topic to move on, or to be silent for
            # order_idle_ms: polling every 5 ms meanwhile (at the end of every burst) cost
            # 0.4 CPU-s per 5 s wait, a quarter of scoring the 79k-event backlog before it.
            # A tenth of the period is on time, and the wait still ends at the first message.
            self._wait.empty(cap_s=self.settings.order_idle_ms / 10_000)
        else:
            self._wait.empty()
        if self.sink is not None:
            self.sink.poll()
            if now - self._outbox_swept >= OUTBOX_SWEEP_S:
                self._outbox_swept = now
                self._sweep_outbox()
            if self.sink.last_error is not None:
                self.status.error(f"alert topic: {self.sink.last_error}")
                self.sink.last_error = None
        if not items:
            self._while_idle(now)
            return None
        return self._commit_batch(items)

    def _decode(self, rec: Record) -> Item:
        try:
            is_payment = rec.topic == self._payments_topic
            return Item(rec, decode(rec.value, is_payment, self.settings.max_message_bytes))
        except BadMessage as exc:
            return Item(rec, None, exc)

    def _commit_batch(self, items: list[Item]) -> BatchResult:
        t0 = time.perf_counter()
        delays = backoff()
        while True:
            try:
                result = self._with_session(items)
                break
            except OffsetConflict as exc:
                log.warning("offsets moved under us (%s); re-reading from the database", exc)
                self.status.error(f"offset conflict: {exc}")
                self._resync()
                return BatchResult(0, 0, 0, 0)
            except (DBAPIError, KafkaException) as exc:
                self._states.clear()
                what = _outage(exc)
                if what == "database":
                    self.telemetry.db_retries.inc()
                self.status.update(state=f"waiting_for_{what}")
                self.status.error(f"{what}: {_first_line(exc)}")
                delay = next(delays)
                log.warning("batch not committed, retrying in %.1fs: %s", delay, exc)
                if self._stop.wait(delay):
                    raise
            except BaseException:
                self._states.clear()
                raise
        self.status.update(state="running")
        self.telemetry.batch_seconds.observe(time.perf_counter() - t0)
        self.status.count_batch(result.events, result.payments, result.alerts, result.dead)
        if self.on_batch is not None:
            self.on_batch(result)
        return result

    def _with_session(self, items: list[Item]) -> BatchResult:
        # Outbox rows acknowledged since the last batch are deleted in this transaction.
        published = self.sink.take_delivered() if self.sink is not None else set()
        try:
            return self._write_batch(items, published)
        except BaseException:
            if self.sink is not None:
                self.sink.give_back(published)
            raise

    def _write_batch(self, items: list[Item], published: set[str]) -> BatchResult:
        with self.sessions() as session, session.begin():
            self._load_ruleset(session)
            assert self._ruleset is not None
            # Only payments and the few stateful behavioural events read or change a state: a
            # page view's customer needs no state loaded, serialised or upserted (at scale 10 a
            # backlog batch of 10,000 events touched 4x more customers than it changed).
            payers: set[str] = set()
            touched: dict[str, set[str]] = {}  # dataset -> its customers with a state to keep
            for i in items:
                e = i.event
                if type(e) is Payment:
                    payers.add(e.customer_id)
                elif type(e) is not Activity or e.event_type not in STATEFUL_EVENT_TYPES:
                    continue
                touched.setdefault(i.record.dataset or self.dataset, set()).add(e.customer_id)
            missing = {
                ds: [c for c in customers if c not in self._states.setdefault(ds, {})]
                for ds, customers in touched.items()
            }
            # A batch is one dataset's as a rule: its states and the customer reference in one
            # round trip (load_batch_reads), any other dataset's states on their own.
            first = next((ds for ds, m in missing.items() if m), self.dataset)
            ask = self._reference.to_ask(payers)
            listed: set[str] | None = set()
            if missing.get(first) or ask:
                loaded, listed = load_batch_reads(session, missing.get(first, []), ask, first)
                self._states.setdefault(first, {}).update(loaded)
            for ds, ids in missing.items():
                if ids and ds != first:
                    self._states[ds].update(load_states(session, ids, ds))
            # States are scored in place; any failure below clears the cache, so memory
            # never runs ahead of the database.  One engine shell per dataset, each over that
            # dataset's states only.
            detectors = {
                ds: Detector(self._ruleset, work, dedup_window_ms=self.settings.dedup_window_ms)
                for ds, work in self._states.items()
                if ds in touched
            }
            verdicts: list[tuple[Verdict, Payment]] = []
            origins: list[str] = []  # each verdict's dataset: its message's, else the source's
            dead: list[DeadLetterRecord] = []
            dead_records: list[Record] = []
            offsets: dict[TopicPartition, int] = {}
            payments = 0
            unknown = self._reference.learn(ask, listed)
            refuse = unknown if self.settings.unknown_customers == DEAD_LETTER else set()
            for item in items:
                r = item.record
                offsets[(r.topic, r.partition)] = r.offset + 1
                error = item.error
                if type(item.event) is Payment and item.event.customer_id in refuse:
                    error = BadMessage(
                        "unknown_customer",
                        f"customer_id {item.event.customer_id!r} is not in the customer reference",
                    )
                if error is not None:
                    dead.append(
                        DeadLetterRecord(
                            r.topic, r.partition, r.offset, error.reason, error.detail,
                            _excerpt(r.value),
                        )
                    )  # fmt: skip
                    dead_records.append(r)
                    continue
                assert item.event is not None
                origin = r.dataset or self.dataset
                detector = detectors.get(origin)
                if detector is None:  # no state to read or change (a page view): no verdict
                    continue
                v = detector.process(item.event)
                if v is not None:
                    payments += 1
                    assert isinstance(item.event, Payment)
                    verdicts.append((v, item.event))
                    origins.append(origin)
            alerting = [i for i, (v, _) in enumerate(verdicts) if v.is_alert]
            alerts = [verdicts[i] for i in alerting]
            datasets = [origins[i] for i in alerting]
            skipped = [sk for d in detectors.values() for sk in d.skipped]
            repeated = {id(sk.event) for sk in skipped}
            late = (
                [
                    i.event
                    for i in items
                    if id(i) in self._late and i.event is not None and id(i.event) not in repeated
                ]
                if self._late
                else []
            )
            flagged = [p for _, p in verdicts if p.customer_id in unknown]
            outbox: list[OutboxRecord] = []
            if self.sink is not None:
                outbox = [
                    self.sink.alert(v, p, p.customer_id in unknown, d)
                    for (v, p), d in zip(alerts, datasets, strict=True)
                ]
                outbox += [
                    self.sink.dead_letter(d, r) for d, r in zip(dead, dead_records, strict=True)
                ]
            save_batch(
                session,
                group_id=self.source.group_id,
                verdicts=alerts,
                states={
                    (ds, c): self._states[ds][c]
                    for ds, customers in touched.items()
                    for c in customers
                    if c in self._states[ds]
                },
                offsets=offsets,
                expected_offsets={tp: self._expected.get(tp) for tp in offsets},
                dead_letters=dead,
                outbox=outbox,
                published=published,
                dataset=self.dataset,
                datasets=datasets,
                unknown_customers=unknown,
            )
        self._expected.update(offsets)
        self.source.committed(offsets)
        if self.sink is not None:
            self.sink.publish(outbox)
        for v, _ in alerts:
            self.telemetry.alerts.labels(v.severity).inc()
        for row in dead:
            self.telemetry.dead_letters.labels(row.reason).inc()
        if future := sum(1 for row in dead if row.reason == "future_timestamp"):
            self.status.count(future_total=future)
        if skipped:
            self._count_skipped(skipped)
        if late:
            self._count_late(late)
        if unknown:
            self._count_unknown(flagged, dead)
        n_events = len(items) - len(dead)
        self.telemetry.events.labels("payment").inc(payments)
        self.telemetry.events.labels("behavioural").inc(n_events - payments)
        alerted = tuple(v.payment_id for v, _ in alerts)
        return BatchResult(n_events, payments, len(alerts), len(dead), alerted)

    def _count_skipped(self, skipped: list[Skipped]) -> None:
        for sk in skipped:
            kind = "payment" if isinstance(sk.event, Payment) else "behavioural"
            self.telemetry.repeated.labels(sk.reason, kind).inc()
        self.status.count(repeated_total=len(skipped))
        first = skipped[0]
        ident = getattr(first.event, "payment_id", None) or getattr(first.event, "event_id", "")
        log.info(
            "ignored %d event(s) the customers' states had already applied or no longer "
            "remember (first: %s %s of %s, %s)",
            len(skipped), ident, first.reason, first.event.customer_id,
            format_ts(first.event.ts_ms),
        )  # fmt: skip

    def _count_unknown(self, flagged: list[Payment], dead: list[DeadLetterRecord]) -> None:
        refused = sum(1 for d in dead if d.reason == "unknown_customer")
        self.telemetry.unknown_customers.labels("flagged").inc(len(flagged))
        self.telemetry.unknown_customers.labels("dead_lettered").inc(refused)
        self.status.count(unknown_customers_total=len(flagged) + refused)
        if flagged:
            log.warning(
                "%d payment(s) of customers the customer reference does not list were scored "
                "as flagged (first: %s of %s)",
                len(flagged), flagged[0].payment_id, flagged[0].customer_id,
            )  # fmt: skip

    def _count_late(self, late: list[Activity | Payment]) -> None:
        """Events scored after a later one of their partition: applied, but maybe too late
        for a payment that came before them (a click after its payment's FAST_CHECKOUT)."""
        for e in late:
            t = self.settings.topics
            topic = t.payments if isinstance(e, Payment) else t.user_events
            self.telemetry.late.labels(topic).inc()
        self.status.count(late_total=len(late))
        first = late[0]
        ident = getattr(first, "payment_id", None) or getattr(first, "event_id", "")
        log.warning(
            "%d event(s) arrived after later events of their partition were scored "
            "(first: %s of %s at %s)",
            len(late), ident, first.customer_id, format_ts(first.ts_ms),
        )  # fmt: skip

    # --- rule sets, offsets, rebalances ----------------------------------------------------

    def _load_ruleset(self, session: Session, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._ruleset_checked < RULESET_CHECK_S:
            return
        self._ruleset_checked = now
        held = self._ruleset
        if not force and held is not None and str(active_version(session)) == held.version:
            return  # one small query: the rule set is loaded and parsed only when it changed
        version, ruleset = active_ruleset(session)
        if self._ruleset is None or self._ruleset.version != ruleset.version:
            self._ruleset = ruleset
            self.status.update(ruleset_version=ruleset.version)
            log.info("scoring with rule set version %s", version)

    def _lookup_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        stored = self._with_db(lambda s: load_offsets(s, self.source.group_id))
        return {tp: stored[tp] for tp in tps if tp in stored}

    def _on_assign(self, stored: dict[TopicPartition, int]) -> None:
        self._states.clear()
        self.merger.clear()
        self._expected = dict(stored)
        self.status.update(lag={})

    def _on_revoke(self, tps: set[TopicPartition]) -> None:
        self.merger.drop({p for _, p in tps})
        self._states.clear()
        for tp in tps:
            self._expected.pop(tp, None)

    def _resync(self) -> None:
        self._states.clear()
        self.merger.clear()
        stored = self._with_db(lambda s: load_offsets(s, self.source.group_id))
        mine = {tp: stored.get(tp, 0) for tp in self._expected}
        self._expected = {tp: stored.get(tp) for tp in self._expected}
        self.source.seek(mine)

    def _with_db(self, fn: Callable[[Session], Any]) -> Any:
        delays = backoff()
        while True:
            try:
                with self.sessions() as session, session.begin():
                    return fn(session)
            except DBAPIError as exc:
                self.status.update(state="waiting_for_database")
                self.status.error(f"database: {_first_line(exc)}")
                if self._stop.wait(next(delays)):
                    raise

    def _db_once(self, fn: Callable[[Session], Any]) -> bool:
        """One attempt, for housekeeping a later tick or batch redoes: a database error is
        reported, not waited out (the batches do the waiting)."""
        try:
            with self.sessions() as session, session.begin():
                fn(session)
            return True
        except DBAPIError as exc:
            self.status.error(f"database: {_first_line(exc)}")
            return False

    def _while_idle(self, now: float) -> None:
        """No batch to carry them: pick up a newly published rule set (so the status tells
        the truth before the next event) and delete acknowledged outbox rows."""
        if now - self._ruleset_checked >= RULESET_CHECK_S:
            self._db_once(self._load_ruleset)
        if now - self._outbox_tidied >= OUTBOX_TIDY_S:
            self._outbox_tidied = now
            self._tidy_outbox()

    def _sweep_outbox(self) -> None:
        """Count the outbox, and resend rows that nobody here is sending: those of a crashed
        or stopped instance, or of a batch whose commit succeeded unseen.  A peer may send
        them too: at-least-once, deduplicated downstream by alert id."""
        assert self.sink is not None
        stale = utc_now() - timedelta(seconds=OUTBOX_STALE_S)
        rows: list[OutboxRecord] = []

        def read(session: Session) -> None:
            self.telemetry.outbox_pending.set(count_outbox(session))
            rows.extend(load_outbox(session, older_than=stale))

        if self._db_once(read):
            self.sink.publish(rows)  # rows in flight here are skipped

    def _tidy_outbox(self) -> None:
        """Delete acknowledged rows while no batch comes to carry the deletion."""
        if self.sink is None:
            return
        done = self.sink.take_delivered()
        if done and not self._db_once(lambda s: delete_outbox(s, done)):
            self.sink.give_back(done)  # the next batch or tidy-up deletes them

    def _drain_outbox(self) -> None:
        """At stop: wait a little for the brokers, then forget what they acknowledged."""
        if self.sink is None:
            return
        try:
            self.sink.flush(STOP_FLUSH_S)
        except SinkError as exc:
            log.warning("%s", exc)
        self._tidy_outbox()

    def _report_lag(self) -> None:
        lag = self.source.lag()
        self.status.update(lag={f"{t}[{p}]": n for (t, p), n in sorted(lag.items())})
        for (t, p), n in lag.items():
            self.telemetry.lag.labels(t, str(p)).set(n)


def _wall_ms() -> int:
    return int(time.time() * 1000)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _outage(exc: BaseException) -> str:
    return "database" if isinstance(exc, DBAPIError) else "broker"


def _excerpt(value: bytes | None, limit: int = 4096) -> str:
    if value is None:
        return ""
    return value[:limit].decode("utf-8", errors="replace")
