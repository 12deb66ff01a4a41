"""Dataset generation speed and memory.

    .venv/bin/python -m bench.bench_generate [--quick]

Targets: the default dataset (scale 1: 2,500 customers, ~7.6k payments, ~72k events) in
<= 3 s; scale 100 (~7 M events, ~756k payments) in <= 5 min with peak RSS < 2 GB.  Scale 100
runs once, as ``python -m data_gen generate`` in a child process, so that its peak RSS is the
child's own (RUSAGE_CHILDREN).  ``--quick`` skips it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import Figure, best_of, calibration_seconds, peak_rss_mb, report
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.schema import MANIFEST_FILE

DEFAULT_TARGET_S = 3.0
BIG_SCALE = 100.0
BIG_TARGET_S = 300.0
BIG_RSS_TARGET_MB = 2048.0


def _default_run() -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = generate(tmp, GenParams())
        rows = manifest.rows("events.jsonl")

        def run() -> None:
            generate(tmp, GenParams())

        return best_of(run, 3), rows


def _big_run() -> tuple[float, float, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "data_gen", "generate", "--out", tmp]
        t0 = time.perf_counter()
        subprocess.run([*cmd, "--scale", str(BIG_SCALE)], check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
        files = json.loads((Path(tmp) / MANIFEST_FILE).read_text())["files"]
        rows = {name: info["rows"] for name, info in files.items()}
    return seconds, peak_rss_mb(children=True), rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help=f"skip the scale-{BIG_SCALE:g} run")
    args = ap.parse_args()
    calib = calibration_seconds()
    default_s, default_events = _default_run()
    figures = [
        Figure(
            "default dataset (scale 1), best of 3",
            default_s,
            "s",
            f"<= {DEFAULT_TARGET_S:g} s",
            default_s <= DEFAULT_TARGET_S,
            default_s / calib,
            f"{default_events:,} events",
        )
    ]
    if not args.quick:
        big_s, rss, rows = _big_run()
        note = f"{rows['events.jsonl']:,} events, {rows['payments.csv']:,} payments"
        figures += [
            Figure(
                f"scale {BIG_SCALE:g}, one run (CLI, child process)",
                big_s,
                "s",
                f"<= {BIG_TARGET_S:g} s",
                big_s <= BIG_TARGET_S,
                big_s / calib,
                note,
            ),
            Figure(
                f"scale {BIG_SCALE:g} peak RSS",
                rss,
                "MB",
                f"< {BIG_RSS_TARGET_MB:g} MB",
                rss < BIG_RSS_TARGET_MB,
                None,
                "ru_maxrss of the child",
            ),
            Figure(
                f"scale {BIG_SCALE:g} throughput",
                rows["events.jsonl"] / big_s,
                "events/s",
                "",
                True,
                None,
                "all files written, sorted and hashed",
            ),
        ]
    report("generate", calib, figures)


if __name__ == "__main__":
    main()
