"""Bulk load and detector-batch write speed on PostgreSQL.

    .venv/bin/python -m bench.bench_load [--url URL] [--scale 1] [--repeats 3]

Generates the default dataset (scale 1) into a temp dir and loads it into a private schema of
the PostgreSQL database at ``--url`` (default: ``KVT_TEST_PG_URL``), which is dropped at the
end.  Same-run baseline: a raw ``COPY`` of the same rows from pre-built CSV buffers, the floor
any loader pays.  Also times ``save_batch`` with the detector's batch size on the dataset's
own verdicts, and on a batch where every payment alerts (the worst case).  Targets: load
>= 50,000 rows/s; save_batch >= 20,000 alerts+states/s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench._common import Figure, calibration_seconds, report
from data_gen.feed import dataset_events
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from db import migrate
from db.detector_store import save_batch
from db.engine import in_schema, make_engine
from db.loader import TABLES, dataset_tables, load_dataset
from db.pg_copy import arrow_csv, copy_csv
from detector.common.settings import Settings
from detector.engine import Detector, Verdict
from detector.events import Payment
from detector.rules import default_ruleset
from detector.state import CustomerState

DEFAULT_URL = "postgresql+psycopg2://kvt:kvt@127.0.0.1:55432/kvt_test"
LOAD_TARGET = 50_000
BATCH_TARGET = 20_000

Batch = tuple[list[tuple[Verdict, Payment]], dict[str, CustomerState]]


@contextmanager
def private_schema(url: str) -> Iterator[Engine]:
    schema = f"bench_load_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(in_schema(url, schema))
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def truncate(engine: Engine, tables: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables}"))


def clear_detector_tables(engine: Engine) -> None:
    """Empty what save_batch writes.  DELETE, not TRUNCATE: a TRUNCATE of fraud_alerts must
    include alert_decisions, which is append-only and refuses it (it is empty here)."""
    with engine.begin() as conn:
        for table in ("alert_reasons", "fraud_alerts", "detector_state", "consumer_offsets"):
            conn.execute(text(f"DELETE FROM {table}"))


def raw_copy_s(engine: Engine, directory: str) -> float:
    """COPY of pre-built CSV buffers, one per table: no reading, no checks, no temp table."""
    arrow = dataset_tables(read_dataset(directory))
    buffers = {t.name: arrow_csv(arrow[t.name]) for t in TABLES}
    truncate(engine, ", ".join(t.name for t in TABLES))
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for t in TABLES:
            copy_csv(conn, t.name, [c.name for c in t.columns], buffers[t.name])
    return time.perf_counter() - t0


def detector_batches(directory: str, size: int) -> list[Batch]:
    """What the service would write: per ``size`` events, the verdicts and touched states."""
    detector = Detector(default_ruleset())
    events = dataset_events(read_dataset(directory))
    out: list[Batch] = []
    for start in range(0, len(events), size):
        chunk = events[start : start + size]
        verdicts = []
        for e in chunk:
            v = detector.process(e)
            if v is not None:
                verdicts.append((v, e))
        touched = {e.customer_id for e in chunk}
        # Snapshots: the detector keeps mutating its live states.
        states = {c: CustomerState.from_dict(detector.states[c].to_dict()) for c in touched}
        out.append((verdicts, states))  # type: ignore[arg-type]
    return out


def write_batches(engine: Engine, batches: list[Batch]) -> tuple[float, int, int]:
    """Seconds, alerts and states for writing ``batches`` as the service does, fenced."""
    alerts = states = 0
    offset: int | None = None
    t0 = time.perf_counter()
    for i, (verdicts, touched) in enumerate(batches):
        with Session(engine) as s:
            save_batch(
                s,
                group_id="bench",
                verdicts=verdicts,
                states=touched,
                offsets={("payments", 0): i + 1},
                expected_offsets={("payments", 0): offset},
                dead_letters=[],
            )
            s.commit()
        offset = i + 1
        alerts += sum(v.is_alert for v, _ in verdicts)
        states += len(touched)
    return time.perf_counter() - t0, alerts, states


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", default=os.environ.get("KVT_TEST_PG_URL", DEFAULT_URL))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    calib = calibration_seconds()
    batch_size = Settings().batch_max
    with tempfile.TemporaryDirectory() as tmp, private_schema(args.url) as engine:
        generate(tmp, GenParams(scale=args.scale))
        dataset_tables_sql = ", ".join(t.name for t in TABLES)

        # First load into empty tables (direct COPY), best of N.
        loads = []
        for _ in range(args.repeats):
            truncate(engine, dataset_tables_sql)
            t0 = time.perf_counter()
            r = load_dataset(engine, tmp)
            loads.append((time.perf_counter() - t0, r))
        total_s, first = min(loads, key=lambda x: x[0])
        rows = first.rows
        write_s = min(r.write_s for _, r in loads)
        # Idempotent reload over a full database (temp table + ON CONFLICT DO NOTHING).
        t0 = time.perf_counter()
        again = load_dataset(engine, tmp)
        reload_s = time.perf_counter() - t0
        assert again.inserted == 0, again
        baseline_s = min(raw_copy_s(engine, tmp) for _ in range(args.repeats))

        batches = detector_batches(tmp, batch_size)
        clear_detector_tables(engine)
        live_s, live_alerts, live_states = write_batches(engine, batches)
        every = [
            ([(replace(v, is_alert=True), p) for v, p in verdicts], states)
            for verdicts, states in batches
        ]
        clear_detector_tables(engine)
        worst_s, worst_alerts, worst_states = write_batches(engine, every)

    load_rate = rows / total_s
    live_rate = (live_alerts + live_states) / live_s
    figures = [
        Figure("load (read + validate + COPY)", load_rate, "rows/s", f">= {LOAD_TARGET:,}",
               load_rate >= LOAD_TARGET, total_s / calib,
               f"{rows:,} rows in {total_s:.2f} s: read {first.read_s:.2f} s, "
               f"write {first.write_s:.2f} s, the rest is the schema check"),
        Figure("load, database phase only", rows / write_s, "rows/s", "(info)", True,
               write_s / calib, f"{write_s / baseline_s:.2f}x the raw COPY time"),
        Figure("baseline: raw COPY of pre-built CSV", rows / baseline_s, "rows/s", "(baseline)",
               True, baseline_s / calib, "same rows, same run, one buffer per table"),
        Figure("idempotent reload (0 new rows)", rows / reload_s, "rows/s", "(info)", True,
               reload_s / calib, "temp table + INSERT ... ON CONFLICT DO NOTHING"),
        Figure("save_batch, dataset verdicts", live_rate, "alerts+states/s",
               f">= {BATCH_TARGET:,}", live_rate >= BATCH_TARGET, live_s / calib,
               f"{len(batches)} batches of {batch_size} events: {live_alerts:,} alerts, "
               f"{live_states:,} states, fenced offsets, one commit each"),
        Figure("save_batch, every payment alerts", (worst_alerts + worst_states) / worst_s,
               "alerts+states/s", "(worst case)", True, worst_s / calib,
               f"{worst_alerts:,} alerts (+ reasons), {worst_states:,} states"),
    ]  # fmt: skip
    report("load", calib, figures)


if __name__ == "__main__":
    main()
