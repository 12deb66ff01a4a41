"""Render bench/out/*.json (written by each bench's report()) into bench/RESULTS.md.

.venv/bin/python -m bench.results
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from bench._common import OUT_DIR, header_lines, table_lines

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
ORDER = ("generate", "detector", "load", "pipeline", "failover", "tuning", "queue", "api", "flink")

HEADER = """# Benchmark results

Measured by the scripts in this folder on the project's shared development machine (2 cores,
24 GiB, no accelerator), usually while other work ran on it. Every run also times a fixed
calibration workload (`bench/_common.py`: a 1M-iteration pure-Python loop, best of 5) and
records the load average; the column "ratio" divides what the column "ratio of" says, by a
baseline from the same run (the calibration, a bare consumer, ...), so figures from noisy runs
can be compared. Targets are the issues'. Re-run a bench and then
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
        load = data.get("load_average", "not recorded")
        parts.extend(header_lines(data["calibration_s"], load, data.get("config") or {}))
        parts.append("")
        parts.extend(table_lines(data["figures"]))
        parts.append("")
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=RESULTS)
    out = ap.parse_args().out
    out.write_text(render())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
