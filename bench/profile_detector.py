"""Where the detector's CPU goes, end to end on Kafka (py-spy, from requirements.txt).

    .venv/bin/python -m bench.profile_detector [--scale 1] [--top 25]

Streams the dataset to fresh topics, then samples this process with ``py-spy record`` only
while the detector consumes it (archive off, as ``python -m detector run`` runs it), and
prints the functions with the most samples, self and inclusive, as percentages of all
samples of the scoring thread.  The raw profile is kept in bench/out/profile-<scale>.txt.

Only samples holding the GIL are kept (``py-spy --gil``; ``--all`` for every sample): py-spy
takes a thread waiting in librdkafka's ``consume`` or for PostgreSQL's reply for a busy one,
so without it a scale-1 run gave 9.2 s of samples for 1.6 CPU-s, and the waits (the consume
call, ``do_execute``) read as the largest costs.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from bench._common import OUT_DIR
from bench.bench_pipeline import drop, end_to_end, fresh, stream_backlog
from data_gen.feed import dataset_messages
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset


def summarize(raw: str, top: int) -> str:
    """py-spy's raw (collapsed) stacks: ``frame;frame;... count`` per line."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if "kvt-detector" not in stack:
            continue  # the scoring thread only
        count = int(n)
        frames = [f.split(" (")[0] for f in stack.split(";")[1:]]
        total += count
        if frames:
            own[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
    lines = [f"{total} samples of the scoring thread", "", "| function | self | inclusive |"]
    lines.append("|---|---|---|")
    for name, count in own.most_common(top):
        lines.append(f"| `{name}` | {count / total:.1%} | {incl[name] / total:.1%} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    ap.add_argument(
        "--all", action="store_true",
        help="every sample of the thread, not only those holding the GIL (waits included)",
    )  # fmt: skip
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, GenParams(scale=args.scale))
        messages = dataset_messages(read_dataset(tmp))
    OUT_DIR.mkdir(exist_ok=True)
    out = OUT_DIR / f"profile-{args.scale:g}.txt"
    tag = f"p{uuid.uuid4().hex[:8]}"
    try:
        s = fresh(tag)
        inputs = stream_backlog(messages, s)
        # After streaming, as a fresh `python -m detector run` starts: the heap keeper's
        # first collection then has nothing of the producer's to traverse.
        gc.collect()
        gc.freeze()
        spy = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "py-spy"), "record", "--pid",
             str(os.getpid()), "--rate", str(args.rate), "--format", "raw", "--threads",
             "--nonblocking", *([] if args.all else ["--gil"]), "-o", str(out)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)  # attached
        rate, _, per_cpu = end_to_end(s, inputs)
        spy.send_signal(signal.SIGINT)
        spy.wait(60)
    finally:
        drop(tag)
    print(f"scale {args.scale:g}: {inputs:,} events, {rate:,.0f}/s, {per_cpu:,.0f} per CPU-s")
    print(summarize(out.read_text(errors="replace"), args.top))  # py-spy may cut a name


if __name__ == "__main__":
    main()
