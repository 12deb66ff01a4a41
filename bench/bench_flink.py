"""The Flink job against the consumer-group detector, same run, real Kafka and PostgreSQL.

    .venv/bin/python -m bench.bench_flink [--scale 0.3] [--rate 1000] [--seconds 30]
        [--state-scales 1,10] [--skip rate,latency,state] [--quick]

1. Throughput, events/s: a backlog of `--scale` (the default dataset's shape) scored by the
   Flink job (mini-cluster, `--until-caught-up`) at parallelism 1 and 2, and by the detector
   service with 1 and 2 processes in one consumer group. The job writes each alert to
   PostgreSQL as it scores it, so `alert_ts` (the write time) gives its scoring window: events
   between the first and the last alert over the seconds between them. The service writes a
   batch at a time: its window runs from its first committed batch to its last (consumer
   offsets, polled every 50 ms). Start-up (JVM, Python workers) is reported apart.
2. Latency at `--rate` events/s, produce -> alert in PostgreSQL (the app's queue), p50/p99,
   for the Flink job at parallelism 2 (checkpoint interval 1 s; a read_committed reader of
   fraud-alerts sees an alert only when the checkpoint after it completes).
3. Checkpoints at each of `--state-scales` (the default dataset and scale 10): duration and
   size of the last checkpoint, hashmap state backend. Page views change no state and the job drops
   them at decoding, so the state runs are fed payments and add_to_cart events only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import orjson
import sqlalchemy as sa
from confluent_kafka.admin import AdminClient

from bench._common import Figure, calibration_seconds, report
from bench.bench_pipeline import KAFKA, PG, drop, fresh, produce_from_own_process, stream_backlog
from data_gen.feed import OutMessage, dataset_messages
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from data_gen.stream import stream_messages
from detector.common.settings import ROOT, Settings

FLINK_PYTHON = ROOT / ".venv-flink" / "bin" / "python"
# `--quick` (scripts/bench --quick): a small backlog, a short latency run, scale 1 state only.
QUICK = ("--scale", "0.1", "--seconds", "10", "--state-scales", "1")


def env_for(s: Settings, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVT_")}
    env.update(
        KVT_DATABASE_URL=s.db_url,
        KVT_KAFKA_BOOTSTRAP=KAFKA,
        KVT_TOPIC_PREFIX=s.topic_prefix,
        KVT_CONSUMER_GROUP=s.consumer_group,
        KVT_DATA_DIR=str(data_dir),
        **extra,
    )
    return env


def alert_window(s: Settings, messages: list[OutMessage]) -> tuple[float, int, int]:
    """(seconds between the first and last alert written, events between them, alerts)."""
    engine = sa.create_engine(s.db_url, poolclass=sa.pool.NullPool)
    with engine.connect() as c:
        rows = c.execute(sa.text("SELECT payment_id, alert_ts FROM fraud_alerts")).all()
    engine.dispose()
    first = min(rows, key=lambda r: r[1])
    last = max(rows, key=lambda r: r[1])
    ids = [orjson.loads(m.value)["payment_id"] if m.kind == "payments" else None for m in messages]
    i, j = ids.index(first[0]), ids.index(last[0])
    return (last[1] - first[1]).total_seconds(), abs(j - i), len(rows)


def drop_all(tag: str) -> None:
    """The run's schema and topics, the job's rule-set topic included."""
    drop(tag)
    kafka = AdminClient({"bootstrap.servers": KAFKA})
    for fut in kafka.delete_topics([f"{tag}-rulesets"], operation_timeout=30).values():
        with contextlib.suppress(Exception):
            fut.result()


def flink_backlog(messages: list[OutMessage], parallelism: int, **extra: str) -> dict:
    """A backlog read to its end (no idle partitions to wait for: idleness off)."""
    extra = {"KVT_FLINK_IDLE_TIMEOUT_MS": "0", **extra}
    tag = f"bf{uuid.uuid4().hex[:8]}"
    s = fresh(tag)
    try:
        stream_messages(messages, s)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            out = subprocess.run(
                [
                    str(FLINK_PYTHON),
                    "-m",
                    "detector.flink",
                    "--until-caught-up",
                    "--parallelism",
                    str(parallelism),
                ],
                cwd=ROOT,
                env=env_for(s, Path(tmp), **extra),
                capture_output=True,
                timeout=1800,
            )
            wall = time.perf_counter() - t0
        assert out.returncode == 0, out.stderr.decode()[-3000:]
        summary = orjson.loads(out.stdout.decode().strip().splitlines()[-1])
        window, events, alerts = alert_window(s, messages)
        return {
            "summary": summary,
            "wall_s": wall,
            "window_s": window,
            "events": events,
            "alerts": alerts,
        }
    finally:
        drop_all(tag)


def service_backlog(messages: list[OutMessage], processes: int) -> dict:
    tag = f"bs{uuid.uuid4().hex[:8]}"
    s = fresh(tag)
    total_alerts = None
    try:
        # What a live stream sends next follows the backlog: without it the backlog's last
        # events wait order_idle_ms (5 s) for the other topic's silence, more than the
        # service's whole work at these scales.
        want = stream_backlog(messages, s)
        with tempfile.TemporaryDirectory() as tmp:
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "detector", "run"],
                    cwd=ROOT,
                    env=env_for(s, Path(tmp)),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for _ in range(processes)
            ]
            try:
                window, events = _consumed(s, want)
            finally:
                for p in procs:
                    p.send_signal(signal.SIGTERM)
                for p in procs:
                    p.wait(60)
        _, _, total_alerts = alert_window(s, messages)
        return {"window_s": window, "events": events, "alerts": total_alerts}
    finally:
        drop(tag)


def _consumed(s: Settings, want: int) -> tuple[float, int]:
    """(seconds, events) from the service's first committed batch to the one that makes
    ``want`` input events committed: its batches are too few for the alert window (one batch
    writes many alerts at one time)."""
    engine = sa.create_engine(s.db_url, poolclass=sa.pool.NullPool)
    first: tuple[float, int] | None = None
    deadline = time.monotonic() + 1200
    try:
        while time.monotonic() < deadline:
            with engine.connect() as c:
                # sum() of bigint is numeric on PostgreSQL: a Decimal without the int()
                done = int(
                    c.execute(
                        sa.text("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets")
                    ).scalar_one()
                )
            now = time.perf_counter()
            if done and first is None:
                first = (now, done)
            if done >= want:
                assert first is not None
                return now - first[0], want - first[1]
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise TimeoutError(f"{s.consumer_group}: not every event consumed in 1200 s")


def per_second(events: int, seconds: float) -> float:
    """NaN when everything went in one batch: too small a backlog to time (raise --scale)."""
    return events / seconds if seconds > 0 and events > 0 else float("nan")


def flink_latency(messages: list[OutMessage], rate: float, seconds: float) -> np.ndarray:
    """Produce -> alert written to PostgreSQL, per alerted payment, wall clock on both sides."""
    tag = f"bl{uuid.uuid4().hex[:8]}"
    s = fresh(tag)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = env_for(s, Path(tmp), KVT_FLINK_CHECKPOINT_INTERVAL_S="1")
            err = open(Path(tmp) / "job.log", "wb")  # noqa: SIM115
            job = subprocess.Popen(
                [str(FLINK_PYTHON), "-m", "detector.flink", "--parallelism", "2"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
            )
            log = Path(tmp) / "job.log"
            deadline = time.monotonic() + 600
            while b"running (REST" not in log.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(20)  # the Python workers start after the job is submitted
            offset = time.time() - time.perf_counter()  # CLOCK_MONOTONIC is system-wide
            sent = produce_from_own_process(s, messages, rate, seconds)
            time.sleep(10)
            job.send_signal(signal.SIGTERM)
            job.communicate(timeout=300)
        engine = sa.create_engine(s.db_url, poolclass=sa.pool.NullPool)
        with engine.connect() as c:
            rows = c.execute(sa.text("SELECT payment_id, alert_ts FROM fraud_alerts")).all()
        engine.dispose()
        return np.array(
            [(ts.timestamp() - (sent[p] + offset)) * 1000 for p, ts in rows if p in sent]
        )
    finally:
        drop_all(tag)


def state_only(messages: list[OutMessage]) -> list[OutMessage]:
    return [m for m in messages if m.kind == "payments" or b'"add_to_cart"' in m.value]


def dataset(scale: float, root: Path) -> list[OutMessage]:
    out = root / f"scale-{scale}"
    if not (out / "manifest.json").exists():
        generate(out, GenParams(scale=scale, seed=1))
    return dataset_messages(read_dataset(out), with_orders=False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.3)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--state-scales", default="1,10", help="dataset scales of the checkpoint runs")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: rate,latency,state")
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"smallest run that still shows every figure: {' '.join(QUICK)}",
    )
    argv = sys.argv[1:]
    args = ap.parse_args([*QUICK, *argv] if "--quick" in argv else argv)
    skip = set(args.skip.split(","))
    state_scales = sorted({float(x) for x in args.state_scales.split(",")})
    assert FLINK_PYTHON.exists(), "run scripts/flink-setup first"
    calib = calibration_seconds()
    figures: list[Figure] = []
    root = Path(tempfile.gettempdir()) / "kvt-bench-flink"
    load = os.getloadavg()[0]
    msgs = dataset(args.scale, root)
    n = len(msgs)
    if "rate" not in skip:
        rates = {}
        for p in (1, 2):
            r = flink_backlog(msgs, p)
            rates[f"flink p{p}"] = per_second(r["events"], r["window_s"])
            figures.append(
                Figure(
                    f"Flink job, parallelism {p}",
                    rates[f"flink p{p}"],
                    "events/s",
                    "vs detector",
                    True,
                    None,
                    f"{n:,} events; run {r['wall_s']:.0f} s incl. start-up; {r['alerts']} alerts",
                )
            )
        for k in (1, 2):
            r = service_backlog(msgs, k)
            rates[f"service {k}"] = per_second(r["events"], r["window_s"])
            figures.append(
                Figure(
                    f"detector service, {k} process(es)",
                    rates[f"service {k}"],
                    "events/s",
                    "baseline",
                    True,
                    None,
                    f"{r['alerts']} alerts",
                )
            )
        figures.append(
            Figure(
                "Flink p2 / detector 2 processes",
                rates["flink p2"] / rates["service 2"],
                "x",
                "",
                True,
            )
        )
    if "latency" not in skip:
        lat = flink_latency(msgs, args.rate, args.seconds)
        for q in (50, 99):
            figures.append(
                Figure(
                    f"Flink p2 latency p{q} at {args.rate:,.0f} events/s",
                    float(np.percentile(lat, q)),
                    "ms",
                    "",
                    True,
                    None,
                    f"produce -> alert in PostgreSQL, {len(lat)} alerts",
                )
            )
    if "state" not in skip:
        for scale in state_scales:
            m = state_only(dataset(scale, root))
            r = flink_backlog(m, 2, KVT_FLINK_CHECKPOINT_INTERVAL_S="2")
            cp = r["summary"]["checkpoints"]
            figures.append(
                Figure(
                    f"checkpoint size, scale {scale:g}",
                    (cp["last_full_size_bytes"] or 0) / 1e6,
                    "MB",
                    "",
                    True,
                    None,
                    f"{len(m):,} state events, parallelism 2",
                )
            )
            figures.append(
                Figure(
                    f"checkpoint duration, scale {scale:g}",
                    cp["last_duration_ms"] or 0,
                    "ms",
                    "",
                    True,
                    None,
                    f"{cp['completed']} checkpoints",
                )
            )
    config = {
        "scale": args.scale,
        "events": f"{n:,}",
        "latency rate": f"{args.rate:,.0f} events/s for {args.seconds:g} s",
        "state scales": ", ".join(f"{x:g}" for x in state_scales),
        "skipped": ", ".join(sorted(skip - {""})) or "none",
        "load average at start": f"{load:.1f}",
        "services": f"PG {PG.split('@')[-1]}; Kafka {KAFKA}",
    }
    report("flink", calib, figures, config)


if __name__ == "__main__":
    main()
