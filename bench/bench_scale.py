"""Cost per event as the data grows: the detector's events per CPU-second at scale 1 and 10.

    .venv/bin/python -m bench.bench_scale [--scales 1 10]

For each scale, the dataset is streamed to fresh topics, then the detector (this process, one
thread, archive off) consumes it end to end; its CPU time (every thread of the process) and
the garbage collector's time (``gc.callbacks``) are measured over the run.  Target (issue 16):
events per CPU-second at scale 10 within 15 % of scale 1, in the same run.  The scales run
in separate child processes, and in each the detector runs in a process of its own, as
deployed: the producer's dataset is not in its heap.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import tempfile
import time
import uuid

from bench._common import Figure, calibration_seconds, peak_rss_mb, report
from bench.bench_pipeline import drop, end_to_end, fresh, settings_of, stream_backlog
from data_gen.feed import dataset_messages
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset

TARGET = 0.85


def produce(scale: float, tag: str) -> int:
    """Generate the dataset and stream it to fresh topics; returns the input events (with
    the end-of-backlog ones, ``stream_backlog``)."""
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, GenParams(scale=scale))
        messages = dataset_messages(read_dataset(tmp))
    return stream_backlog(messages, fresh(tag))


def consume(tag: str, inputs: int) -> dict[str, float]:
    """The detector alone in a fresh process, as `python -m detector run` runs: no dataset in
    its heap but what it builds itself."""
    s = settings_of(tag)
    spent = [0.0]
    started = [0.0]

    def timing(phase: str, _: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.thread_time()
        else:
            spent[0] += time.thread_time() - started[0]

    gc.collect()
    gc.freeze()  # as `python -m detector run` does before it starts
    gc.callbacks.append(timing)
    rate, seconds, per_cpu = end_to_end(s, inputs)
    gc.callbacks.remove(timing)
    return {
        "inputs": inputs,
        "rate": rate,
        "seconds": seconds,
        "per_cpu_s": per_cpu,
        "cpu_s": inputs / per_cpu,
        "gc_s": spent[0],
        "rss_mb": peak_rss_mb(),
    }


def one_scale(scale: float) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    tag = f"s{uuid.uuid4().hex[:8]}"
    try:
        with ctx.Pool(1) as pool:
            inputs = pool.apply(produce, (scale, tag))
        with ctx.Pool(1) as pool:
            return pool.apply(consume, (tag, inputs))
    finally:
        drop(tag)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    args = ap.parse_args()
    calib = calibration_seconds()
    results = {}
    for scale in args.scales:
        results[scale] = one_scale(scale)
        print(json.dumps({scale: results[scale]}))
    base = results[args.scales[0]]
    figures = []
    for scale, r in results.items():
        ratio = r["per_cpu_s"] / base["per_cpu_s"]
        first = scale == args.scales[0]
        figures.append(
            Figure(
                f"scale {scale:g}: detector events per CPU-second",
                r["per_cpu_s"],
                "events/CPU-s",
                "(baseline)" if first else f">= {TARGET:.0%} of scale {args.scales[0]:g}",
                first or ratio >= TARGET,
                None if first else ratio,
                f"{r['inputs']:,} input events in {r['seconds']:.1f} s ({r['rate']:,.0f}/s "
                f"wall), {r['cpu_s']:.1f} CPU-s; collector {r['gc_s']:.2f} s = "
                f"{r['gc_s'] / r['cpu_s']:.0%} of the CPU; peak RSS {r['rss_mb']:.0f} MB",
                f"÷ scale {args.scales[0]:g}'s",
            )
        )
    config = {
        "archive": "off",
        "brokers": os.environ.get("KVT_TEST_KAFKA_BROKERS", "?"),
        "replication": 1,
        "scales": ", ".join(f"{s:g}" for s in args.scales),
    }
    report("scale", calib, figures, config)


if __name__ == "__main__":
    main()
