"""What one REST API request costs the API process: CPU per request and service time.

    .venv/bin/python -m bench.profile_api [--schema S] [--requests 400] [--conns 1 4]
                                          [--py-spy] [--top 25]

On a shared machine an open-loop p99 says more about the neighbours than about the API; the
CPU time the API process spends per request does not (it is what decides how many requests
per second two workers sustain).  Starts ``python -m api`` (one Uvicorn process) on
``bench_api``'s schema (``--schema`` reuses a kept one; without it a new one is filled and
kept), then for the dry-run score and the first page of alerts (``bench_api``'s requests)
sends ``--requests`` requests closed loop over each number of ``--conns`` connections and
prints the process's CPU milliseconds per request (user + system, from /proc) with the
p50/p99 service time.  ``--py-spy`` also samples the API process for the whole run (py-spy
from requirements-dev.txt) and prints the functions with the most samples; the raw profiles
are kept in bench/out/profile-api-<request>.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from bench._common import OUT_DIR
from bench.bench_api import (
    FILL_STATES,
    Call,
    _free_port,
    _open_loop,
    _p,
    api_env,
    bench_auth,
    list_request,
    score_request,
    server,
)
from bench.bench_queue import DEFAULT_URL, fill, private_schema

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S  # utime, stime


def child_of(pid: int) -> int:
    """The one child process of ``pid`` (the API under py-spy), waiting for it to appear."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if kids:
            return int(kids[0])
        time.sleep(0.1)
    raise SystemExit(f"process {pid} started no child")


def run(
    base: str, pid: int, make: Callable[[int], Call], n: int, conns: int
) -> tuple[float, float, float]:
    """CPU ms per request, p50 and p99 (ms) of ``n`` requests over ``conns`` connections,
    each connection sending its next request when the previous answer is in."""
    c0 = cpu_seconds(pid)
    lat, failures = asyncio.run(
        _open_loop(base, make, rate=1e6, seconds=n / 1e6, conns=conns, from_due=False)
    )
    cpu = cpu_seconds(pid) - c0
    if failures:
        raise SystemExit(f"{failures} of {n} requests failed")
    return cpu / n * 1000, _p(lat, 0.5), _p(lat, 0.99)


def summarize(raw: str, top: int) -> str:
    """py-spy's raw (collapsed) stacks: the functions with the most samples, self and
    inclusive, as percentages of the samples after the start."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        if "_find_and_load" in stack or "startup" in stack:
            continue  # the imports and the start, before the first request
        frames = [f.split(" (")[0] + " " + f.rpartition("/")[2].rstrip(")") for f in
                  stack.split(";")[1:]]  # fmt: skip
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    out = [f"{total} samples", "self:"]
    out += [f"  {n / total:6.1%}  {f}" for f, n in own.most_common(top)]
    out += ["inclusive:"]
    out += [f"  {n / total:6.1%}  {f}" for f, n in incl.most_common(top)]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("KVT_TEST_PG_URL", DEFAULT_URL))
    ap.add_argument("--schema", default="", help="a kept bench_api schema (else: fill one)")
    ap.add_argument("--alerts", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--conns", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--only", choices=["score", "list"], default=None)
    ap.add_argument("--py-spy", action="store_true", help="profile the API process")
    ap.add_argument(
        "--bare", action="store_true", help="bench._bare_api instead: the framework's floor"
    )
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()

    with private_schema(args.url, args.schema, keep=True) as (engine, schema_url):
        if not args.schema:
            fill(engine, args.alerts, args.alerts)
            with engine.begin() as conn:
                conn.execute(text(FILL_STATES))
        auth = bench_auth(engine)
    port = _free_port()
    api = [sys.executable, "-m", "api", "--port", str(port), "--log-level", "warning"]
    if args.bare:
        api = [sys.executable, "-m", "uvicorn", "bench._bare_api:app", "--port", str(port),
               "--log-level", "warning", "--http", "api.server:NoDelayH11Protocol"]  # fmt: skip
    requests = {"score": score_request(auth), "list": list_request(auth)}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, make in requests.items():
        if args.only not in (None, name):
            continue
        raw = OUT_DIR / f"profile-api-{name}.txt"
        spy = [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--format",
            "raw",
            "--rate",
            "250",
            "-o",
            str(raw),
            "--",
        ]
        argv = spy + api if args.py_spy else api
        with server(argv, api_env(schema_url), port) as (base, proc):
            pid = child_of(proc.pid) if args.py_spy else proc.pid
            # Warm-up: the rule set (seeded by the first request on a fresh schema), the
            # pool, the caches.
            asyncio.run(_open_loop(base, make, rate=1e6, seconds=1e-6, conns=1))
            asyncio.run(_open_loop(base, make, rate=1e6, seconds=100e-6, conns=4))
            for conns in args.conns:
                cpu, p50, p99 = run(base, pid, make, args.requests, conns)
                print(
                    f"{name:5} conns={conns}: {cpu:5.2f} ms CPU per request, service time "
                    f"p50 {p50:5.1f} ms, p99 {p99:5.1f} ms ({args.requests} requests)"
                )
            if args.py_spy:
                os.kill(pid, signal.SIGTERM)  # py-spy writes its profile when the API exits
                proc.wait(30)
        if args.py_spy:
            time.sleep(0.5)
            if raw.exists():
                print(summarize(raw.read_text(), args.top))
            else:
                print(f"py-spy wrote no profile ({raw})")


if __name__ == "__main__":
    main()
