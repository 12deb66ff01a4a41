"""Shared helpers for bench scripts: a calibration workload and result formatting.

Machines here are shared and noisy, so every bench measures a fixed calibration workload in the
same run and reports its figures both raw and as a ratio to that baseline.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "out"


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


def report(bench: str, calib_s: float, figures: list[Figure]) -> str:
    """Print a markdown table and save JSON under bench/out/ for RESULTS.md."""
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / f"{bench}.json").write_text(
        json.dumps(
            {"bench": bench, "calibration_s": calib_s, "figures": [asdict(f) for f in figures]},
            indent=2,
        )
    )
    lines = [
        f"### {bench}",
        "",
        f"Calibration workload (same run): {calib_s * 1000:.0f} ms",
        "",
        "| figure | value | target | met | × calibration | note |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        ratio = "" if f.baseline_ratio is None else f"{f.baseline_ratio:.2f}"
        lines.append(
            f"| {f.name} | {f.value:,.2f} {f.unit} | {f.target} | "
            f"{'yes' if f.ok else 'NO'} | {ratio} | {f.note} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    return text
