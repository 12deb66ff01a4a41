"""Import check speed: ``check_dataset`` on a large dataset, against the bare read of its files.

    .venv/bin/python -m bench.bench_check [--scale 100] [--dataset DIR]

Target (issue 10): a scale-100 dataset (756k payments, 7.2M events) checked in at most 30 s.
The baseline in the same run is what no check can avoid: pyarrow reading the CSV tables and
the five event columns the check needs (from events.parquet when the dataset has one).  The
check runs in a child process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from bench._common import Figure, calibration_seconds, peak_rss_mb, report
from data_gen import schema

TARGET_S = 30.0
_CHILD = """
import json, sys, time
from data_gen.check import check_dataset
t = time.perf_counter()
r = check_dataset(sys.argv[1])
print(json.dumps({"s": time.perf_counter() - t, "ok": r.ok, "payments": r.payments,
                  "events": r.counts.get("events", 0), "findings": len(r.findings)}))
"""


def bare_read(path: Path) -> float:
    t0 = time.perf_counter()
    for file in schema.TABLES:
        pacsv.read_csv(path / file)
    columns = ("event_id", "customer_id", "session_id", "event_type", "event_timestamp")
    if (path / schema.EVENTS_PARQUET).is_file():
        pq.read_table(path / schema.EVENTS_PARQUET, columns=list(columns))
        return time.perf_counter() - t0
    fields = [(c, pa.string()) for c in columns]
    pajson.read_json(
        path / schema.EVENTS_FILE,
        read_options=pajson.ReadOptions(block_size=1 << 22),
        parse_options=pajson.ParseOptions(
            explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore"
        ),
    )
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=100.0)
    ap.add_argument("--dataset", type=Path, help="an existing dataset (else one is generated)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.dataset
        if path is None:
            path = Path(tmp) / "ds"
            subprocess.run(
                [sys.executable, "-m", "data_gen", "generate", "--out", str(path),
                 "--scale", str(args.scale)],
                check=True, capture_output=True,
            )  # fmt: skip
        calib = calibration_seconds()
        base_s = bare_read(path)
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)], check=True, capture_output=True, text=True
        )
        res = json.loads(out.stdout.strip().splitlines()[-1])
        rss = peak_rss_mb(children=True)
    check_s = res["s"]
    report(
        "check",
        calib,
        [
            Figure(
                "bare read of the tables and 5 event columns (baseline)", base_s, "s",
                "(baseline)", True, base_s / calib, "pyarrow CSV + JSON, no parsing of values",
            ),
            Figure(
                f"import check, {res['payments']:,} payments, {res['events']:,} events",
                check_s, "s", f"<= {TARGET_S:.0f} s", check_s <= TARGET_S, check_s / calib,
                f"{check_s / base_s:.1f}x the bare read; {res['findings']} findings",
            ),
            Figure("import check peak RSS", rss, "MB", "(info)", True, None, "child process"),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
