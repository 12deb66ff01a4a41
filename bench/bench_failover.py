"""Failover time after kill -9 against real Kafka and PostgreSQL (scripts/services up first).

    .venv/bin/python -m bench.bench_failover [--kills 3]

A detector process consumes a paced stream; it is killed with SIGKILL and a new one is started
at once (what a supervisor does).  Measured: seconds from the kill to the first batch the new
process commits.  Two modes in the same run: a dynamic group member (the baseline: the dead
member holds its partitions until the session timeout) and static membership
(KVT_CONSUMER_INSTANCE: the restarted member takes its partitions back at once).  Target: <= 5 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from bench._common import Figure, calibration_seconds, report
from bench.bench_pipeline import KAFKA, PG, fresh
from data_gen.feed import dataset_messages
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from data_gen.stream import stream_messages
from detector.common.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def committed(engine: sa.Engine, group: str) -> int:
    with engine.connect() as conn:
        total = conn.execute(
            sa.text(
                "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = :g"
            ),
            {"g": group},
        ).scalar_one()
    return int(total)


def start(settings: Settings, instance: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVT_")}
    env.update(
        {
            "KVT_DATABASE_URL": settings.database_url,
            "KVT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "KVT_TOPIC_PREFIX": settings.topic_prefix,
            "KVT_CONSUMER_GROUP": settings.consumer_group,
            "KVT_CONSUMER_INSTANCE": instance,
        }
    )
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "detector", "run"], cwd=ROOT, env=env,
                            stdout=out, stderr=subprocess.STDOUT)  # fmt: skip


def wait_advance(engine: sa.Engine, group: str, above: int, timeout_s: float = 60) -> float:
    t0 = time.monotonic()
    while committed(engine, group) <= above:
        if time.monotonic() - t0 > timeout_s:
            return float("inf")
        time.sleep(0.02)
    return time.monotonic() - t0


def measure(messages: list, instance: str, kills: int, log: Path) -> list[float]:
    settings = fresh(f"fo{uuid.uuid4().hex[:8]}")
    engine = sa.create_engine(settings.database_url, poolclass=sa.pool.NullPool)
    group = settings.consumer_group
    # Slow enough that there is always something to consume: 3 kills fit in the stream.
    speed = (messages[-1].ts_ms - messages[0].ts_ms) / 1000 / (12.0 * (kills + 2))
    producer = threading.Thread(target=stream_messages, args=(messages, settings, speed))
    producer.start()
    proc = start(settings, instance, log)
    times = []
    try:
        wait_advance(engine, group, 0)
        for _ in range(kills):
            time.sleep(2.0)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            t_kill = time.monotonic()
            # Everything committed by now is the killed process's: wait for the next commit.
            at_kill = committed(engine, group)
            proc = start(settings, instance, log)
            wait_advance(engine, group, at_kill)
            times.append(time.monotonic() - t_kill)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        producer.join()
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--scale", type=float, default=0.06)
    args = ap.parse_args()
    calib = calibration_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), GenParams(scale=args.scale, seed=11))
        messages = dataset_messages(read_dataset(tmp), with_orders=False)
        log = Path(tmp) / "detectors.log"
        dynamic = measure(messages, "", args.kills, log)
        static = measure(messages, f"bench-{uuid.uuid4().hex[:6]}", args.kills, log)
        # The import and start-up of a fresh process: part of every resume, in neither mode's
        # control.
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import detector.__main__"], cwd=ROOT, check=True)
        startup = time.perf_counter() - t0
    figures = [
        Figure("kill -9 -> first commit, dynamic member (baseline)", max(dynamic), "s",
               "(baseline)", True, max(dynamic) / calib,
               f"{args.kills} kills, each restarted at once; median "
               f"{statistics.median(dynamic):.1f} s; session.timeout.ms 6000"),
        Figure("kill -9 -> first commit, static member (KVT_CONSUMER_INSTANCE)", max(static),
               "s", "<= 5", max(static) <= 5, max(static) / calib,
               f"worst of {args.kills}; median {statistics.median(static):.1f} s; "
               f"{max(static) / max(dynamic):.2f}x the dynamic member's"),
        Figure("python -m detector import time", startup, "s", "(info)", True, startup / calib,
               "part of every restart"),
    ]  # fmt: skip
    print(f"load average {os.getloadavg()}; Kafka {KAFKA}; PostgreSQL {PG.split('@')[-1]}")
    print(report("failover", calib, figures))


if __name__ == "__main__":
    main()
