"""Keep the garbage collector's work proportional to what is new, not to the whole heap.

The detector's heap grows with the data: one state per customer seen, kept for the process's
life.  CPython's collector traverses every tracked object of a generation when it collects
it, so with the default settings the full collections that batches trigger cost more and more
as customers accumulate (a third of the scoring loop's CPU at scale 10).  After a batch,
every second, the survivors are moved to the permanent generation (``gc.freeze``, O(1)),
which collections never traverse; a collection of the non-frozen rest just before makes sure
no garbage cycle is frozen with them.  Objects frozen that die later are still freed by
reference counting (states have no cycles).

Between those ticks the collector does not run at all: a batch's messages, events and rows
are freed by reference counting, and automatic young collections (every 20,000 allocations
before this) only traversed the 10,000 live messages of a backlog batch again and again,
7-12 % of the detector's CPU.  A garbage cycle waits at most a second.

Only for a process that runs nothing but the detector (``python -m detector run``): in the
app's process, freezing would also keep Streamlit's own cyclic garbage forever.
"""

from __future__ import annotations

import gc
import time

FREEZE_EVERY_S = 1.0


class HeapKeeper:
    def __init__(self, every_s: float = FREEZE_EVERY_S) -> None:
        self.every_s = every_s
        self._last = time.monotonic()

    def start(self) -> None:
        """When the loop starts: from now on, the ticks collect."""
        gc.disable()
        self._last = time.monotonic()

    def stop(self) -> None:
        """When the loop ends (the process may go on: a bench, a test)."""
        gc.enable()

    def tick(self) -> None:
        """Between two steps of the loop (a batch's messages are no longer referenced)."""
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        self._last = now
        gc.collect()  # traverses only what is not frozen yet: what came since the last time
        gc.freeze()
