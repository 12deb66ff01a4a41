"""CPU of an idle detector and archiver, and what they cost the brokers (issues 14 and 16).

    .venv/bin/python -m bench.bench_idle [--seconds 10]

Nothing is produced.  Each phase runs its consumer loop in this process for a warm-up, then
measures this process's CPU time (every thread: the loop's and librdkafka's) and the Kafka
brokers' CPU (``/proc/PID/stat`` of the nodes ``scripts/services`` started) over the window:

1. brokers alone (baseline: no client of this bench connected);
2. the detector on Kafka, as configured (adaptive wait, ``fetch.wait.max.ms`` 100);
3. the same detector with the former fixed waits (5 ms consume, 10 ms fetch), for comparison;
4. the archiver on Kafka (a consumer group of its own);
5. the detector after a replay finished (the app's embedded mode; it used to spin).

Figures are percent of one core; the brokers' "extra" is phase minus baseline.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bench._common import Figure, calibration_seconds, report
from bench.bench_pipeline import KAFKA, drop, fresh
from data_gen.generate import generate
from data_gen.params import GenParams
from db.engine import make_engine, session_factory
from detector.common.settings import Settings
from detector.pacing import IdleWait
from detector.runner import replay_messages
from detector.service import DetectorService
from detector.sink import AlertSink
from detector.sources import FETCH_WAIT_MAX_MS, KafkaSource, ReplaySource, fetch_wait_for

TICKS = os.sysconf("SC_CLK_TCK")
DETECTOR_TARGET = 2.0  # % of a core
BROKER_TARGET = 5.0


def broker_pids() -> list[int]:
    run = Path(os.environ.get("KVT_SERVICES_DIR", ".services")) / "run"
    return [int(p.read_text()) for p in sorted(run.glob("kafka-*.pid"))]


def cpu_of(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(seconds: float) -> tuple[float, float]:
    """(this process's CPU, the brokers' CPU), % of a core, over ``seconds``."""
    pids = broker_pids()
    p0, b0, t0 = time.process_time(), sum(map(cpu_of, pids)), time.monotonic()
    time.sleep(seconds)
    p1, b1, t1 = time.process_time(), sum(map(cpu_of, pids)), time.monotonic()
    wall = t1 - t0
    return 100 * (p1 - p0) / wall, 100 * (b1 - b0) / wall


def running(worker: Callable[[], None], stop: Callable[[], None], warm_s: float, seconds: float):
    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    time.sleep(warm_s)
    try:
        return measure(seconds)
    finally:
        stop()
        thread.join(15)


def kafka_detector(s: Settings, fixed: bool) -> DetectorService:
    source = KafkaSource(s, fetch_wait_ms=10 if fixed else None, gather=fixed)
    svc = DetectorService(s, source, session_factory(make_engine(s.db_url)), AlertSink(s))
    if fixed:  # the former loop: a 5 ms consume whatever happens
        svc._wait = IdleWait(s.poll_timeout_s, max_s=s.poll_timeout_s)
    return svc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warm", type=float, default=8.0, help="join the group, let waits grow")
    args = ap.parse_args()
    if not broker_pids():
        raise SystemExit("no broker pid under $KVT_SERVICES_DIR/run: scripts/services up first")
    calib = calibration_seconds()
    tag = f"i{os.getpid()}"
    figures: list[Figure] = []
    try:
        s = fresh(tag)
        _, base = measure(args.seconds)

        def phase(worker, warm: float = args.warm) -> tuple[float, float]:
            return running(worker.run, worker.stop, warm, args.seconds)

        det, det_b = phase(kafka_detector(s, fixed=False))
        old, old_b = phase(kafka_detector(s, fixed=True))
        arch = arch_b = None
        mongo = os.environ.get("KVT_TEST_MONGO")
        if mongo:
            from db.archive import EventArchive
            from detector.archiver import Archiver, archive_group

            group = archive_group(s.consumer_group)
            src = KafkaSource(s, group, (s.topics.user_events,), FETCH_WAIT_MAX_MS, True)
            archive = EventArchive(mongo, f"bench_idle_{tag}")
            archiver = Archiver(s, src, session_factory(make_engine(s.db_url)), archive)
            arch, arch_b = phase(archiver)
            with EventArchive(mongo, archive.db_name) as a:
                a.drop_database()
        with tempfile.TemporaryDirectory() as tmp:
            generate(tmp, GenParams(scale=0.05))
            rs = replace(s, data_dir=Path(tmp), database_url="")
            engine = make_engine(rs.db_url)
            from db.migrate import upgrade

            upgrade(engine)
            src = ReplaySource(replay_messages(tmp), rs, "replay:idle-bench")
            svc = DetectorService(rs, src, session_factory(engine))
            thread = threading.Thread(target=svc.run, daemon=True)
            thread.start()
            while not src.finished() or svc.merger.pending:
                time.sleep(0.1)
            time.sleep(2)  # the wait grows to its cap
            replay, _ = measure(args.seconds)
            rate = svc.status.snapshot().events_per_s
            svc.stop()
            thread.join(15)
    finally:
        drop(tag)
    figures += [
        Figure("brokers alone (baseline)", base, "% of a core", "(baseline)", True, None,
               f"{len(broker_pids())} Kafka nodes, no client of this bench"),
        Figure("detector idle, Kafka", det, "% of a core", f"<= {DETECTOR_TARGET:g}",
               det <= DETECTOR_TARGET, None,
               f"adaptive wait 5 -> 250 ms, fetch.wait.max.ms {fetch_wait_for(s)}"),
        Figure("brokers' extra for the idle detector", det_b - base, "% of a core",
               f"<= {BROKER_TARGET:g}", det_b - base <= BROKER_TARGET, None,
               f"brokers {det_b:.1f} % with it, {base:.1f} % alone"),
        Figure("detector idle, former fixed waits", old, "% of a core", "(before)", True, None,
               "5 ms consume, fetch.wait.max.ms 10"),
        Figure("brokers' extra, former fixed waits", old_b - base, "% of a core", "(before)",
               True, None, f"brokers {old_b:.1f} % with it"),
    ]  # fmt: skip
    if arch is not None and arch_b is not None:
        figures += [
            Figure("archiver idle, Kafka", arch, "% of a core", f"<= {DETECTOR_TARGET:g}",
                   arch <= DETECTOR_TARGET, None,
                   f"its own consumer group on user-events, fetch.wait.max.ms {FETCH_WAIT_MAX_MS}"),
            Figure("brokers' extra for the idle archiver", arch_b - base, "% of a core",
                   f"<= {BROKER_TARGET:g}", arch_b - base <= BROKER_TARGET, None, ""),
        ]  # fmt: skip
    figures.append(
        Figure("detector after a replay finished", replay, "% of a core",
               f"<= {DETECTOR_TARGET:g}", replay <= DETECTOR_TARGET, None,
               f"embedded mode, SQLite; events/s shown: {rate:g}"),
    )  # fmt: skip
    config = {"brokers": len(broker_pids()), "bootstrap": KAFKA, "window": f"{args.seconds:g} s"}
    report("idle", calib, figures, config)


if __name__ == "__main__":
    main()
