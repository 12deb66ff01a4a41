"""Build the backtest's hit rows on several cores.

Customers are independent (state is per customer), so each worker scores the events of its
share of customers with the same engine, and the rows are put back in payment order.  Workers
are forked, so the event list is shared rather than pickled.  Forking a process that runs
other threads is unsafe, so only command-line tools and benches ask for more than one worker.
"""

from __future__ import annotations

import multiprocessing as mp
import os

from detector.engine import Detector
from detector.events import Activity, Payment
from detector.rules import RuleSet

MIN_EVENTS = 50_000  # below this, starting workers costs more than it saves

_JOB: tuple[list[Activity | Payment], RuleSet, dict[str, int]] | None = None


def _work(shard: int) -> tuple[list[str], list[int]]:
    assert _JOB is not None
    events, ruleset, shard_of = _JOB
    mine = [e for e in events if shard_of[e.customer_id] == shard]
    return Detector(ruleset).hit_rows(mine)


def hit_rows(
    events: list[Activity | Payment], ruleset: RuleSet, workers: int = 1
) -> tuple[list[str], list[int]]:
    """Same result as `Detector(ruleset).hit_rows(events)`, on `workers` processes."""
    workers = max(1, min(workers, os.cpu_count() or 1))
    if workers == 1 or len(events) < MIN_EVENTS or "fork" not in mp.get_all_start_methods():
        return Detector(ruleset).hit_rows(events)
    global _JOB
    customers = sorted({e.customer_id for e in events})
    _JOB = (events, ruleset, {c: i % workers for i, c in enumerate(customers)})
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_work, range(workers))
    finally:
        _JOB = None
    mask_of: dict[str, int] = {}
    for ids, masks in parts:
        mask_of.update(zip(ids, masks, strict=True))
    order = [e.payment_id for e in events if type(e) is Payment]
    return order, [mask_of[i] for i in order]
