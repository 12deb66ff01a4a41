"""Run calls at the same moment, each on its own thread: the shape of every race test here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def at_once(*calls: Callable[[], Any], timeout_s: float = 30.0) -> list[Any]:
    """Each call's result, or the exception it raised, in the order given.  The threads are
    released together by a barrier, so whatever the calls contend for, they contend for it."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait(5)
        try:
            out[i] = call()
        except BaseException as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s)
    stuck = [i for i, t in enumerate(threads) if t.is_alive()]
    assert not stuck, f"calls {stuck} still running after {timeout_s}s"
    return out
