"""Render bench/out/*.json (written by each bench's report()) into bench/RESULTS.md.

.venv/bin/python -m bench.results
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

from bench._common import OUT_DIR

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
ORDER = ("generate", "detector", "load", "pipeline", "failover", "tuning", "queue", "api")

HEADER = """# Benchmark results

Measured by the scripts in this folder on the project's shared development machine (2 cores,
24 GiB, no accelerator), usually while other work ran on it. Every run also times a fixed
calibration workload (`bench/_common.py`: a 1M-iteration pure-Python loop, best of 5); the
column "x calibration" is the measured time divided by that baseline from the same run, so
figures from noisy runs can be compared. Targets are the issues'. Re-run a bench and then
`python -m bench.results` to refresh this file.
"""


def render() -> str:
    parts = [HEADER, f"Python {platform.python_version()} on {platform.machine()}.\n"]
    files = {p.stem: p for p in OUT_DIR.glob("*.json")}
    for name in [*ORDER, *sorted(set(files) - set(ORDER))]:
        if name not in files:
            continue
        data = json.loads(files[name].read_text())
        parts.append(f"## {name}\n")
        parts.append(
            f"Calibration workload in the same run: {data['calibration_s'] * 1000:.0f} ms\n"
        )
        parts.append("| figure | value | target | met | x calibration | note |")
        parts.append("|---|---|---|---|---|---|")
        for f in data["figures"]:
            ratio = "" if f["baseline_ratio"] is None else f"{f['baseline_ratio']:.2f}"
            parts.append(
                f"| {f['name']} | {f['value']:,.2f} {f['unit']} | {f['target']} | "
                f"{'yes' if f['ok'] else '**no**'} | {ratio} | {f['note']} |"
            )
        parts.append("")
    return "\n".join(parts)


def main() -> None:
    RESULTS.write_text(render())
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
