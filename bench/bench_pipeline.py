"""Live-pipeline speed against real Kafka, PostgreSQL and MongoDB (``make bench`` brings the
services up; or scripts/services up --brokers 3 and source its env file).

    .venv/bin/python -m bench.bench_pipeline [--scale 1] [--rate 1000] [--seconds 30]
                                             [--runs 3] [--archive both|on|off]

Per run, the same-run baselines first, then the detector with the archive off and on:

1. Producer: the dataset replayed as fast as possible (events/s), beside the prototype's
   published 10,172 events/s.
2. Raw consume: a bare confluent-kafka consumer reading the two input topics (baseline).
3. Floor: produce -> received for events produced at a steady 1,000/s by the same paced
   producer, received by the detector's own source (``KafkaSource``: the same consumer
   settings, fetch wait, topics and poll) doing nothing else (baseline): the producer's send
   (linger 0), the leader's append, the broker's answer to the waiting fetch, the poll; no
   decoding, no ordering, no database.  Also reported: the ordered floor, when that consumer
   held both the payment and the later user event of its partition that the ordering waits
   for (detector/ordering.py).
4. End to end: the detector (this process, one thread) from its first consume to its last
   commit, and its CPU time: events per CPU-second.  The backlog is followed, as a live
   stream would be, by one later page view and payment per partition (``stream_backlog``), so
   the last events are not held back for the ordering's silence period.  Archive on: the
   archiver runs beside it as deployed, a process of its own (``python -m detector archive``)
   on the same topics, and the time until MongoDB holds every event is reported.
5. Latency: the same paced traffic; produce -> alert committed, p50 and p99, and what each
   payment's time is made of (`PARTS`: consume, ordering, queue, score, statement, commit),
   each part's p50 and its mean over the slowest 5 % of payments.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import orjson
import sqlalchemy as sa
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from bench._common import Figure, calibration_seconds, report
from data_gen.feed import OutMessage, dataset_messages
from data_gen.generate import generate
from data_gen.kafka_admin import ensure_topics
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from data_gen.stream import producer_config, stream_messages
from data_gen.wire_format import format_ts
from db.engine import in_schema, make_engine, session_factory
from db.migrate import upgrade
from detector.common.settings import Settings
from detector.events import Payment
from detector.ordering import Item, Record
from detector.pacing import IdleWait
from detector.service import BatchResult, DetectorService
from detector.sink import AlertSink
from detector.sources import KafkaSource, Polled
from detector.wire import decode

PROTOTYPE_DETECT = 169.0
PROTOTYPE_PRODUCE = 10_172.0
PG = os.environ.get("KVT_TEST_PG_URL", "postgresql+psycopg2://kvt:kvt@127.0.0.1:55432/kvt_test")
KAFKA = os.environ.get("KVT_TEST_KAFKA", "127.0.0.1:9092")
MONGO = os.environ.get("KVT_TEST_MONGO", "mongodb://127.0.0.1:57017/")


class TimedSource(KafkaSource):
    """Records when the first message arrives."""

    first_at: float | None = None

    def poll(self, max_records: int, timeout_s: float) -> Polled:
        out = super().poll(max_records, timeout_s)
        if out.records and self.first_at is None:
            self.first_at = time.perf_counter()
        return out


def settings_of(tag: str, replication: int = 1) -> Settings:
    """The settings of a run's schema and topics (``fresh`` makes them)."""
    return replace(
        Settings(),
        database_url=in_schema(PG, tag),
        kafka_bootstrap=KAFKA,
        topic_prefix=f"{tag}-",
        consumer_group=f"{tag}-fraud-detector",
        topic_replication=replication,
    )


def fresh(tag: str, replication: int = 1) -> Settings:
    admin = sa.create_engine(PG, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{tag}"'))
    s = settings_of(tag, replication)
    ensure_topics(s)
    upgrade(make_engine(s.database_url))
    return s


def drop(tag: str) -> None:
    """The run's schema and topics (each run makes 15 topics: a long-lived local cluster
    would otherwise keep them all)."""
    admin = sa.create_engine(PG, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{tag}" CASCADE'))
    topics = replace(Settings(), kafka_bootstrap=KAFKA, topic_prefix=f"{tag}-").topics.all
    kafka = AdminClient({"bootstrap.servers": KAFKA})
    existing = set(kafka.list_topics(timeout=10).topics)
    mine = [t for t in topics if t in existing]
    for fut in (kafka.delete_topics(mine, operation_timeout=30) if mine else {}).values():
        fut.result()


def raw_consume_rate(s: Settings, total: int) -> float:
    c = Consumer(
        {
            "bootstrap.servers": KAFKA,
            "group.id": f"raw-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    c.subscribe(list(s.topics.inputs))
    n = 0
    t0 = None
    while n < total:
        for m in c.consume(1000, 1.0):
            if m.error() is None:
                if t0 is None:
                    t0 = time.perf_counter()
                n += 1
    dt = time.perf_counter() - (t0 or time.perf_counter())
    c.close()
    return n / dt


def stream_backlog(messages: list[OutMessage], s: Settings) -> int:
    """Stream the dataset as fast as possible, then what a live stream sends next: per
    partition, a page view 1 s after the dataset's last event, and a payment 2 s after it.

    A finite stream's last events wait ``order_idle_ms`` (5 s) for the other topic's silence
    before the merger releases them (detector/ordering.py): the end of a file, not throughput,
    and more than the whole detector's work on the scale-1 backlog (79,092 events, raw consume
    about 1 s).  The later events move both topics' event time past the dataset, so everything
    is released as soon as it is scored, the page views too; the payments wait (not counted).
    Returns how many input events `end_to_end` must see committed."""
    stream_messages(messages, s)
    after = max(m.ts_ms for m in messages)
    prod = Producer(producer_config(s))
    for p in range(s.topic_partitions):
        customer = f"BENCHEND{p}"
        view = {"event_id": f"EBENCHEND{p}", "customer_id": customer, "event_type": "page_view",
                "event_timestamp": format_ts(after + 1000)}  # fmt: skip
        pay = {"payment_id": f"PBENCHEND{p}", "customer_id": customer, "amount": 1.0,
               "attempt_ts": format_ts(after + 2000), "result": "success"}  # fmt: skip
        prod.produce(s.topics.user_events, orjson.dumps(view), customer, partition=p)
        prod.produce(s.topics.payments, orjson.dumps(pay), customer, partition=p)
    if prod.flush(60):
        raise RuntimeError("the end-of-backlog events were not delivered in 60 s")
    return sum(1 for m in messages if m.kind in ("user_events", "payments")) + s.topic_partitions


def end_to_end(s: Settings, total: int) -> tuple[float, float, float]:
    """(events/s, seconds, events per CPU-second of this process)."""
    sessions = session_factory(make_engine(s.db_url))
    source = TimedSource(s)
    done = threading.Event()
    seen = [0]
    last = [0.0]

    def on_batch(b: BatchResult) -> None:
        seen[0] += b.events + b.dead
        last[0] = time.perf_counter()
        if seen[0] >= total:
            done.set()

    # As `python -m detector run` runs it: the process is the detector's (detector.heap).
    svc = DetectorService(s, source, sessions, AlertSink(s), on_batch=on_batch, own_process=True)
    cpu0 = time.process_time()
    svc.start_thread()
    done.wait(1800)
    cpu = time.process_time() - cpu0
    svc.stop()
    assert source.first_at is not None
    dt = last[0] - source.first_at
    return total / dt, dt, total / cpu


class Trace:
    """Where each payment's time goes inside the detector (perf_counter, CLOCK_MONOTONIC like
    the producer's clock and `Record.received_s`): received (the poll that returned it),
    released (the ordering merger let it go), batch start, batch statement start and end
    (`save_batch`: scoring and state loading come before it), committed (`on_batch`)."""

    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.released: dict[str, float] = {}
        self.started: dict[str, float] = {}
        self.saving: dict[str, float] = {}
        self.saved: dict[str, float] = {}
        self.committed: dict[str, float] = {}
        self._batch: list[str] = []

    def attach(self, svc: DetectorService) -> None:
        drain = svc.merger.drain
        with_session = svc._with_session

        def traced_drain(
            now_s: float, limit: int | None = None, caught_up: bool = True
        ) -> list[Item]:
            out = drain(now_s, limit, caught_up)
            t = time.perf_counter()
            for item in out:
                if type(item.event) is Payment:
                    self.received[item.event.payment_id] = item.record.received_s
                    self.released[item.event.payment_id] = t
            return out

        def traced_session(items: list[Item]) -> BatchResult:
            t = time.perf_counter()
            self._batch = [i.event.payment_id for i in items if type(i.event) is Payment]
            self.started.update(dict.fromkeys(self._batch, t))
            return with_session(items)

        svc.merger.drain = traced_drain  # type: ignore[method-assign]
        svc._with_session = traced_session  # type: ignore[method-assign]

    def save_batch(self, fn: Callable[..., None]) -> Callable[..., None]:
        def traced(*args: Any, **kwargs: Any) -> None:
            self.saving.update(dict.fromkeys(self._batch, time.perf_counter()))
            fn(*args, **kwargs)
            self.saved.update(dict.fromkeys(self._batch, time.perf_counter()))

        return traced

    def on_batch(self, b: BatchResult) -> None:
        self.committed.update(dict.fromkeys(b.alerted, time.perf_counter()))


# What a payment's produce -> committed time is made of, in order (each: ms between two marks).
PARTS = (
    ("consume", "produce -> received by the detector's poll"),
    ("ordering", "received -> released by the merger (other topic's partition past it)"),
    ("queue", "released -> its batch starts"),
    ("score", "batch start -> batch statement (rule-set check, states, scoring)"),
    ("statement", "the batch statement"),
    ("commit", "statement -> committed (COMMIT, outbox hand-off)"),
)


def latency(
    s: Settings, messages: list[OutMessage], rate: float, seconds: float
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Produce -> alert committed, per alerted payment, and its parts (:data:`PARTS`).  The
    producer runs in a process of its own, as a shop's would: in the detector's process it
    competes for the GIL and adds its own pauses to what is measured."""
    import detector.service as service_module

    sessions = session_factory(make_engine(s.db_url))
    trace = Trace()
    source = KafkaSource(s)
    svc = DetectorService(
        s, source, sessions, AlertSink(s), on_batch=trace.on_batch, own_process=True
    )
    trace.attach(svc)
    real_save = service_module.save_batch
    service_module.save_batch = trace.save_batch(real_save)
    try:
        svc.start_thread()
        # Measure a running detector, not its start: wait until it owns every input partition.
        deadline = time.monotonic() + 60
        while len(source._positions) < 2 * s.topic_partitions and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        sent = produce_from_own_process(s, messages, rate, seconds)
        time.sleep(3)
        svc.stop()
    finally:
        service_module.save_batch = real_save
    ids = [p for p in sent if p in trace.committed]
    marks = [
        [sent[p] for p in ids],
        [trace.received[p] for p in ids],
        [trace.released[p] for p in ids],
        [trace.started[p] for p in ids],
        [trace.saving[p] for p in ids],
        [trace.saved[p] for p in ids],
        [trace.committed[p] for p in ids],
    ]
    t = np.array(marks) * 1000
    parts = {name: t[i + 1] - t[i] for i, (name, _) in enumerate(PARTS)}
    return t[-1] - t[0], parts


def raw_latency(
    s: Settings, messages: list[OutMessage], rate: float, seconds: float
) -> tuple[np.ndarray, np.ndarray]:
    """The floor under the detector's latency: produce -> received by the detector's own
    source (`KafkaSource`: the same consumer settings, fetch wait and topics) polled the way
    the detector polls it (the same batch size and adaptive wait), doing nothing else: no
    decoding, ordering, scoring or database.  The producer is the same paced one (its own
    process, linger.ms 0) as for the detector's latency.

    Also, from the same receipts, the ordered floor: per payment, when this consumer held
    both the payment and a later event of its user-events partition (what the event-time
    ordering waits for, detector/ordering.py: no ordered consumer can release it earlier)."""
    source = KafkaSource(s, group_id=f"raw-{uuid.uuid4().hex[:6]}")
    source.start(lambda tps: {}, lambda stored: None, lambda tps: None)
    deadline = time.monotonic() + 60
    while len(source._positions) < 2 * s.topic_partitions and time.monotonic() < deadline:
        source.poll(1, 0.1)
    got: list[Record] = []
    stop = threading.Event()
    wait = IdleWait(s.poll_timeout_s)

    def consume() -> None:
        while not stop.is_set():
            polled = source.poll(s.batch_max, wait.next())
            if polled.records:
                wait.busy()
                got.extend(polled.records)
            else:
                wait.empty()

    thread = threading.Thread(target=consume)
    thread.start()
    sent = produce_from_own_process(s, messages, rate, seconds)
    time.sleep(2)
    stop.set()
    thread.join()
    source.close()
    return floors(s, sent, got)


def floors(s: Settings, sent: dict[str, float], got: list[Record]) -> tuple[np.ndarray, np.ndarray]:
    """(received - sent, ordered - sent) in ms per payment received; see `raw_latency`."""
    received: dict[str, tuple[int, int, float]] = {}  # payment id -> partition, ts, received
    views: dict[int, list[tuple[int, float]]] = {}  # partition -> (ts, received) in order
    for r in got:
        e = decode(r.value, r.topic == s.topics.payments, s.max_message_bytes)
        if type(e) is Payment:
            received[e.payment_id] = (r.partition, e.ts_ms, r.received_s)
        else:
            views.setdefault(r.partition, []).append((e.ts_ms, r.received_s))
    plain, ordered = [], []
    for pid, t in sent.items():
        if pid not in received:
            continue
        part, ts, at = received[pid]
        # The first later event of the partition (their receipts only grow along it).
        later = next((rx for vts, rx in views.get(part, []) if vts > ts), None)
        plain.append(at - t)
        ordered.append((max(at, later) if later is not None else float("nan")) - t)
    return np.array(plain) * 1000, np.array(ordered) * 1000


def produce_from_own_process(
    s: Settings, messages: list[OutMessage], rate: float, seconds: float
) -> dict[str, float]:
    """:func:`paced_produce` of the input events, in a process of its own (see :func:`latency`)."""
    names = {"user_events": s.topics.user_events, "payments": s.topics.payments}
    todo = [(names[m.kind], m.key, m.value) for m in messages if m.kind in names]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(paced_produce, (producer_config(s), todo[: int(rate * seconds)], rate))


def paced_produce(
    config: dict[str, object], todo: list[tuple[str, bytes | None, bytes]], rate: float
) -> dict[str, float]:
    """Produce ``todo`` at ``rate`` messages/s; returns when each payment was sent."""
    prod = Producer(config | {"linger.ms": 0})
    sent: dict[str, float] = {}
    t0 = time.perf_counter()
    for i, (topic, key, value) in enumerate(todo):
        due = t0 + i / rate
        # Sleep, not poll(wait): librdkafka rounds a wait below 1 ms down to 0, and the loop
        # spun a whole core, starving the detector and brokers it was there to measure.
        if (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        if topic.endswith("payments"):
            sent[orjson_payment_id(value)] = time.perf_counter()
        prod.produce(topic, key=key, value=value)
        prod.poll(0)
    prod.flush(30)
    return sent


def orjson_payment_id(value: bytes) -> str:
    import orjson

    return orjson.loads(value)["payment_id"]


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def archiver_process(s: Settings, mongo_db: str) -> subprocess.Popen[bytes]:
    """``python -m detector archive`` on the run's topics, schema and a MongoDB database of its
    own, as compose runs it."""
    env = dict(os.environ)
    env.update(
        KVT_DATABASE_URL=s.database_url,
        KVT_KAFKA_BOOTSTRAP=s.kafka_bootstrap,
        KVT_TOPIC_PREFIX=s.topic_prefix,
        KVT_CONSUMER_GROUP=s.consumer_group,
        KVT_MONGO_URL=MONGO,
        KVT_MONGO_DB=mongo_db,
        KVT_METRICS_PORT="0",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "detector", "archive"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_archived(s: Settings, n: int, timeout_s: float = 900) -> float:
    """Seconds until the archiver has committed ``n`` events (after MongoDB acknowledged
    them); read from its offsets: counting FerretDB's documents scans them all."""
    from detector.archiver import archive_group

    engine = make_engine(s.db_url)
    query = sa.text("SELECT SUM(next_offset) FROM consumer_offsets WHERE group_id = :g")
    group = archive_group(s.consumer_group)
    t0 = time.perf_counter()
    try:
        while True:
            with engine.connect() as conn:
                if (conn.execute(query, {"g": group}).scalar() or 0) >= n:
                    return time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout_s:
                return float("nan")
            time.sleep(0.2)
    finally:
        engine.dispose()


def drop_archive(mongo_db: str) -> None:
    from db.archive import EventArchive

    with EventArchive(MONGO, mongo_db) as a:
        a.drop_database()


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


FLOOR = (
    "produce -> received by the detector's own source (same consumer settings, fetch wait, "
    "topics and poll) doing nothing else: the producer's send (linger 0), the leader's append, "
    "the fetch, the poll"
)


def breakdown(total: np.ndarray, parts: dict[str, np.ndarray]) -> str:
    """Each part's p50 and its mean over the slowest 5 % of payments (what the p99 is made of)."""
    if not len(total):
        return ""
    tail = total >= np.percentile(total, 95)
    return (
        "parts p50 / slowest-5 % mean: "
        + ", ".join(
            f"{name} {np.percentile(parts[name], 50):.1f}/{parts[name][tail].mean():.1f}"
            for name, _ in PARTS
        )
        + " ms"
    )


def percentiles(ms: np.ndarray) -> tuple[float, float]:
    if not len(ms):
        return 0.0, 0.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def one_mode(
    archive: bool, messages: list[OutMessage], events: int, args: argparse.Namespace
) -> dict[str, Any]:
    tag, tag2 = f"b{uuid.uuid4().hex[:8]}", f"l{uuid.uuid4().hex[:8]}"
    mongo_db = f"bench_{tag}"
    procs: list[subprocess.Popen[bytes]] = []
    out: dict[str, Any] = {}
    try:
        s = fresh(tag, args.replication)
        total = stream_backlog(messages, s)
        if archive:
            procs.append(archiver_process(s, mongo_db))
        out["e2e"], out["e2e_s"], out["per_cpu_s"] = end_to_end(s, total)
        if archive:
            out["archived_s"] = wait_archived(s, events)
            stop(procs.pop())
        s2 = fresh(tag2, args.replication)
        if archive:
            procs.append(archiver_process(s2, mongo_db + "l"))
        lat, parts = latency(s2, messages, args.rate, args.seconds)
        out["n_alerts"] = len(lat)
        out["p50"], out["p99"] = percentiles(lat)
        out["worst"] = float(lat.max()) if len(lat) else 0.0
        out["parts"] = breakdown(lat, parts)
    finally:
        for proc in procs:
            stop(proc)
        for t in (tag, tag2):
            drop(t)
        if archive:
            for name in (mongo_db, mongo_db + "l"):
                drop_archive(name)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--rate", type=float, default=1000.0)
    # 30 s per latency window and mode: three runs with the archive off and on stay under
    # 10 minutes; one stall of the shared machine weighs more on a short window's p99.
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--archive", choices=["both", "on", "off"], default="both")
    ap.add_argument("--replication", type=int, default=1)
    ap.add_argument("--name", default="pipeline", help="bench/out/NAME.json")
    args = ap.parse_args()
    modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.archive]
    calib = calibration_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, GenParams(scale=args.scale))
        messages = dataset_messages(read_dataset(tmp))
    inputs = sum(1 for m in messages if m.kind in ("user_events", "payments"))
    events = sum(1 for m in messages if m.kind == "user_events")
    # As `python -m detector run` does: the long-lived heap (here the dataset's messages)
    # stays out of the collector's full passes.
    gc.collect()
    gc.freeze()
    figures: list[Figure] = []
    for run in range(1, args.runs + 1):
        tag, tag3 = f"b{uuid.uuid4().hex[:8]}", f"r{uuid.uuid4().hex[:8]}"
        try:
            s = fresh(tag, args.replication)
            stats = stream_messages(messages, s)
            produce_rate = stats.rate()
            raw = raw_consume_rate(s, inputs)
            floor, ordered = raw_latency(
                fresh(tag3, args.replication), messages, args.rate, args.seconds
            )
        finally:
            for t in (tag, tag3):
                drop(t)
        f50, f99 = percentiles(floor)
        o50, o99 = percentiles(ordered[~np.isnan(ordered)])
        r = f"run {run}"
        figures += [
            Figure(f"{r}: producer (dataset, --max)", produce_rate, "events/s", "(info)", True,
                   None, f"{stats.total:,} messages; {produce_rate / PROTOTYPE_PRODUCE:.1f}x "
                   "the prototype's 10,172/s"),
            Figure(f"{r}: raw confluent-kafka consume (baseline)", raw, "events/s", "(baseline)",
                   True, None, f"{inputs:,} messages of the two input topics"),
            Figure(f"{r}: bare consumer latency p99 (floor)", f99, "ms", "(baseline)", True,
                   None, f"p50 {f50:.1f} ms; {len(floor)} payments at {args.rate:,.0f} events/s, "
                   f"{FLOOR}; ordered floor (+ the later user event that releases a payment) "
                   f"p50 {o50:.1f} ms, p99 {o99:.1f} ms"),
        ]  # fmt: skip
        for archive in modes:
            m = one_mode(archive, messages, events, args)
            a = f"{r}, archive {'on' if archive else 'off'}"
            e2e, p99 = m["e2e"], m["p99"]
            note = f"{m['e2e_s']:.2f} s first consume -> last commit"
            if archive:
                note += f"; archive complete {m['archived_s']:.1f} s after the detector"
            figures += [
                Figure(f"{a}: detector end to end", e2e, "events/s", ">= 50% of raw",
                       e2e >= 0.5 * raw, e2e / raw, note, "end to end ÷ raw consume"),
                Figure(f"{a}: detector events per CPU-second", m["per_cpu_s"], "events/CPU-s",
                       "(info)", True, None, "this process's CPU time during the run"),
                Figure(f"{a}: latency p99 at {args.rate:,.0f} events/s", p99, "ms",
                       "<= 100 ms and <= 2x floor", p99 <= 100 and (not f99 or p99 <= 2 * f99),
                       p99 / f99 if f99 else None,
                       f"p50 {m['p50']:.1f} ms, worst {m['worst']:.0f} ms, "
                       f"{m['n_alerts']:.0f} alerts, produce -> committed; "
                       + m["parts"],
                       "p99 ÷ floor p99"),
            ]  # fmt: skip
    config = {
        "scale": f"{args.scale:g} ({inputs:,} input events)",
        "archive": {"both": "off and on", "on": "on", "off": "off"}[args.archive]
        + " (on: python -m detector archive beside the detector)",
        "brokers": os.environ.get("KVT_TEST_KAFKA_BROKERS", "?"),
        "replication": args.replication,
        "partitions": Settings().topic_partitions,
        "latency window": f"{args.seconds:g} s at {args.rate:,.0f} events/s",
        "floor": FLOOR,
        "latency parts": "; ".join(f"{name}: {what}" for name, what in PARTS),
    }
    report(args.name, calib, figures, config)


if __name__ == "__main__":
    main()
