"""Shared helpers for bench scripts: a calibration workload and result formatting.

Machines here are shared and noisy, so every bench measures a fixed calibration workload in the
same run and reports its figures both raw and as a ratio to that baseline.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "out"
# The machine is shared: the load when the bench started and when it reported go with its
# figures (1-minute load average, 2 cores).
LOAD_AT_START = os.getloadavg()[0]


def calibration_seconds(repeats: int = 5) -> float:
    """Best-of-N time of a fixed pure-Python workload (1M dict/arith ops, ~0.1-0.2 s)."""

    def work() -> int:
        acc: dict[int, int] = {}
        total = 0
        for i in range(1_000_000):
            k = i & 1023
            acc[k] = acc.get(k, 0) + i
            total += i % 7
        return total + len(acc)

    return best_of(work, repeats)


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def peak_rss_mb(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: str
    ok: bool
    baseline_ratio: float | None = None
    note: str = ""
    ratio_of: str = "time ÷ calibration"  # what `baseline_ratio` divides by what


def load_average() -> str:
    return f"{LOAD_AT_START:.2f} at start, {os.getloadavg()[0]:.2f} at the end (2 cores)"


def report(
    bench: str,
    calib_s: float,
    figures: list[Figure],
    config: Mapping[str, object] | None = None,
) -> str:
    """Print a markdown table and save JSON under bench/out/ for RESULTS.md.  ``config``:
    what was measured (archive on/off, brokers, scale, ...), recorded with the figures."""
    OUT_DIR.mkdir(exist_ok=True)
    load = load_average()
    conf = dict(config or {})
    (OUT_DIR / f"{bench}.json").write_text(
        json.dumps(
            {
                "bench": bench,
                "calibration_s": calib_s,
                "load_average": load,
                "config": conf,
                "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "figures": [asdict(f) for f in figures],
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    lines = [f"### {bench}", "", *header_lines(calib_s, load, conf), "", *table_lines(figures)]
    text = "\n".join(lines) + "\n"
    print(text)
    return text


def header_lines(calib_s: float, load: str, config: Mapping[str, object]) -> list[str]:
    lines = [f"Calibration workload in the same run: {calib_s * 1000:.0f} ms; load average {load}"]
    if config:
        lines.append("; ".join(f"{k}: {v}" for k, v in config.items()))
    return lines


def table_lines(figures: list[Mapping[str, object]] | list[Figure]) -> list[str]:
    lines = [
        "| figure | value | target | met | ratio | ratio of | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        d = asdict(f) if isinstance(f, Figure) else dict(f)
        r = d.get("baseline_ratio")
        ratio = "" if r is None else f"{r:.2f}"
        of = d.get("ratio_of", "time ÷ calibration") if r is not None else ""
        lines.append(
            f"| {d['name']} | {d['value']:,.2f} {d['unit']} | {d['target']} | "
            f"{'yes' if d['ok'] else '**no**'} | {ratio} | {of} | {d['note']} |"
        )
    return lines
