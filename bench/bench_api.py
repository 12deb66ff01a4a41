"""The REST API under load, against a bare FastAPI endpoint measured in the same run.

    .venv/bin/python -m bench.bench_api [--url URL] [--alerts 1000000] [--seconds 15]
                                        [--score-rate 200] [--list-rate 50] [--schema S]

Fills a private PostgreSQL schema like ``bench_queue`` (1,000,000 alerts, their rule rows,
payments) plus 200,000 customer states, starts ``python -m api`` (one Uvicorn process) and
``bench._bare_api`` (the same shapes, no database, no auth) as processes of their own, and
sends each an open-loop load: requests leave on a fixed schedule whatever the answers, and a
latency counts from the scheduled time, so a stall shows up as queueing instead of hiding it.

- ``POST /api/score`` (dry run, a different customer each time): target p99 <= 20 ms at
  200 requests/s;
- ``GET /api/alerts`` first page (50 alerts, unfiltered by score, and pending + HIGH newest
  first, alternately): target p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import yaml
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench._common import Figure, calibration_seconds, report
from bench.bench_queue import DEFAULT_URL, fill, private_schema
from db import accounts, tokens

Call = tuple[str, str, dict[str, Any]]  # method, path, httpx keyword arguments
ROOT = Path(__file__).resolve().parent.parent
SCORE_P99_MS = 20.0
LIST_P99_MS = 50.0

FILL_STATES = """
INSERT INTO detector_state (customer_id, state, updated_at)
SELECT 'C' || lpad(i::text, 6, '0'),
    jsonb_build_object('payments', 3, 'recent_ms', jsonb_build_array(1735689600000),
        'devices', jsonb_build_array('D' || i), 'success_sum', 150.0, 'success_n', 3,
        'cart_start_ms', jsonb_build_object()), now()
FROM generate_series(0, 199999) AS i
ON CONFLICT DO NOTHING
"""


def deployed_workers() -> int:
    """The API's worker processes as docker-compose.yml deploys it (measure what runs)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = [str(c) for c in compose["services"]["api"]["command"]]
    return int(command[command.index("--workers") + 1]) if "--workers" in command else 1


def bench_auth(engine: Engine) -> dict[str, str]:
    """The headers of a fresh token of the analyst ``bench`` (created once per schema)."""
    with Session(engine) as s:
        if accounts.get_user(s, "bench") is None:
            accounts.create_user(s, "bench", "analyst", "a long enough password for load tests")
        secret = tokens.create_token(s, "bench", "bench").secret
        s.commit()
    return {"Authorization": f"Bearer {secret}"}


def api_env(schema_url: str) -> dict[str, str]:
    """The environment of ``python -m api`` on ``schema_url``: no other KVT_* setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVT_")}
    env.update(KVT_DATABASE_URL=schema_url, KVT_SECRETS_FILE="/nonexistent")
    return env


def score_request(auth: dict[str, str]) -> Callable[[int], Call]:
    """A dry-run score of a different customer each time (of the 200,000 with a state)."""

    def make(i: int) -> Call:
        body = {
            "payment_id": f"PAY-BENCH-{i}",
            "customer_id": f"C{(i * 7919) % 200000:06d}",
            "attempt_ts": "2025-01-02T03:04:05Z",
            "amount": 20.0 + i % 300,
            "device": "mobile",
            "device_id": f"D{i % 1000}",
            "result": "failed" if i % 9 == 0 else "success",
        }
        return "POST", "/api/score", {"json": body, "headers": auth}

    return make


def list_request(auth: dict[str, str]) -> Callable[[int], Call]:
    """The first page, alternately unfiltered and pending + HIGH newest first."""

    def make(i: int) -> Call:
        params = {"limit": "50"} if i % 2 == 0 else {
            "limit": "50", "status": "PENDING_REVIEW", "severity": "HIGH", "sort": "time_desc"
        }  # fmt: skip
        return "GET", "/api/alerts", {"params": params, "headers": auth}

    return make


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(
    argv: list[str], env: dict[str, str], port: int
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``argv`` started as a process serving on ``port``: its base URL and the process."""
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/docs", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{argv} did not start")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(10)


async def _open_loop(
    base: str,
    make: Callable[[int], Call],
    rate: float,
    seconds: float,
    conns: int = 32,
    from_due: bool = True,
) -> tuple[list[float], int]:
    """Latencies (ms, from each request's scheduled time) and the number of failures.

    A lean HTTP/1.1 client over ``conns`` keep-alive connections (pre-encoded requests, a
    minimal response parser): on this shared 2-core machine a full client library costs
    more CPU per request than the endpoint under test, and its own queueing would be
    measured instead of the server's."""
    host, port = base.removeprefix("http://").split(":")
    n = int(rate * seconds)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    failures = 0

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        while (job := await queue.get()) is not None:
            due, raw = job
            if not from_due:
                due = time.perf_counter()  # service time: from when the request is sent
            ok = False
            try:
                writer.write(raw)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                ok = head.startswith(b"HTTP/1.1 200")
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                reader, writer = await asyncio.open_connection(host, int(port))
            latencies.append((time.perf_counter() - due) * 1000)
            failures += not ok
        writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(conns)]
    t0 = time.perf_counter() + 0.2
    for i in range(n):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((due, _encode(host, port, make(i))))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return latencies, failures


def _encode(host: str, port: str, call: Call) -> bytes:
    method, path, kw = call
    body = orjson.dumps(kw["json"]) if "json" in kw else b""
    if "params" in kw:
        path += "?" + urlencode(kw["params"])
    headers = {"Host": f"{host}:{port}", **kw.get("headers", {})}
    if body:
        headers |= {"Content-Type": "application/json", "Content-Length": str(len(body))}
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else 0.0


def service_time(base: str, make: Callable[[int], Call], n: int = 200) -> tuple[float, float]:
    """p50 and p99 (ms) of one request at a time on one connection: the cost of a request
    without queueing behind others (closed loop, so not a latency at a rate)."""
    lat, _ = asyncio.run(_open_loop(base, make, rate=1e6, seconds=n / 1e6, conns=1, from_due=False))
    return _p(lat, 0.5), _p(lat, 0.99)


def measure(
    base: str, make: Callable[[int], Call], rate: float, seconds: float
) -> tuple[float, float, int]:
    asyncio.run(_open_loop(base, make, rate, min(2.0, seconds)))  # warm-up: pools, caches
    lat, failures = asyncio.run(_open_loop(base, make, rate, seconds))
    return _p(lat, 0.5), _p(lat, 0.99), failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=os.environ.get("KVT_TEST_PG_URL", DEFAULT_URL))
    ap.add_argument("--alerts", type=int, default=1_000_000)
    ap.add_argument("--payments", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--score-rate", type=float, default=200.0)
    ap.add_argument("--list-rate", type=float, default=50.0)
    ap.add_argument("--schema", default="", help="reuse a kept schema (no fill)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument(
        "--workers", type=int, default=deployed_workers(), help="default: docker-compose.yml's"
    )
    args = ap.parse_args()

    calib = calibration_seconds()
    figures: list[Figure] = []
    with private_schema(args.url, args.schema, args.keep) as (engine, schema_url):
        if not args.schema:
            fill(engine, args.alerts, args.payments)
            with engine.begin() as conn:
                conn.execute(text(FILL_STATES))
        auth = bench_auth(engine)
        env = api_env(schema_url)
        api_port, bare_port = _free_port(), _free_port()
        workers = str(args.workers)
        api_argv = [sys.executable, "-m", "api", "--port", str(api_port), "--log-level",
                    "warning", "--workers", workers]  # fmt: skip
        bare_argv = [sys.executable, "-m", "uvicorn", "bench._bare_api:app", "--port",
                     str(bare_port), "--log-level", "warning", "--workers", workers,
                     "--http", "api.server:NoDelayH11Protocol"]  # fmt: skip

        results: dict[str, dict[str, tuple[float, float, int]]] = {}
        alone: dict[str, dict[str, tuple[float, float]]] = {}
        for name, argv, port in (("api", api_argv, api_port), ("bare", bare_argv, bare_port)):
            with server(argv, env, port) as (base, _proc):
                results[name] = {
                    "score": measure(base, score_request(auth), args.score_rate, args.seconds),
                    "list": measure(base, list_request(auth), args.list_rate, args.seconds),
                }
                alone[name] = {
                    "score": service_time(base, score_request(auth)),
                    "list": service_time(base, list_request(auth)),
                }
    load = os.getloadavg()[0]
    for key, label, rate, target in (
        ("score", "POST /api/score (dry run)", args.score_rate, SCORE_P99_MS),
        ("list", "GET /api/alerts first page, 1M alerts", args.list_rate, LIST_P99_MS),
    ):
        p50, p99, failed = results["api"][key]
        b50, b99, _ = results["bare"][key]
        note = (f"{rate:g} req/s for {args.seconds:g} s, open loop; p50 {p50:.1f} ms; "
                f"bare FastAPI p99 {b99:.1f} ms (p50 {b50:.1f}): x{p99 / b99:.1f}; "
                f"{failed} failed; load average {load:.1f}")  # fmt: skip
        figures.append(Figure(f"{label}: p99", p99, "ms", f"<= {target:g}",
                              p99 <= target and failed == 0, p99 / 1000 / calib, note))  # fmt: skip
        s50, s99 = alone["api"][key]
        c50, c99 = alone["bare"][key]
        note = (f"one request at a time, 200 requests; p50 {s50:.1f} ms; bare FastAPI p99 "
                f"{c99:.1f} ms (p50 {c50:.1f}): x{s99 / c99:.1f}")  # fmt: skip
        figures.append(Figure(f"{label}: service time p99", s99, "ms", "(info)", True,
                              s99 / 1000 / calib, note))  # fmt: skip
    config = {
        "alerts": args.alerts if not args.schema else f"kept schema {args.schema}",
        "seconds": args.seconds,
        "score_rate": args.score_rate,
        "list_rate": args.list_rate,
        "server": f"{args.workers} Uvicorn worker(s) each (python -m api; bench._bare_api)",
        "client": "lean HTTP/1.1, 32 keep-alive connections, open loop",
    }
    report("api", calib, figures, config)


if __name__ == "__main__":
    main()
