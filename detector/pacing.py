"""How long a consumer loop waits for messages: short while they flow, longer when idle.

A busy loop waits at most ``busy_s`` (a few milliseconds), and the detector's source ends the
wait at the first message.  With nothing arriving, that short wait would wake the loop, and
the brokers' fetch handling, hundreds of times a second for nothing; the wait doubles up to
``max_s`` instead.  The sources wake on the
first message however long the wait (``KafkaSource.poll``), so a long idle wait costs no
latency.
"""

from __future__ import annotations

IDLE_MAX_S = 0.25  # also bounds how late a stop or the idle housekeeping is noticed
IDLE_AFTER = 3  # empty polls in a row before the wait starts to grow


class IdleWait:
    def __init__(self, busy_s: float, max_s: float = IDLE_MAX_S) -> None:
        self.busy_s = busy_s
        self.max_s = max(max_s, busy_s)
        self._empty = 0
        self._wait = busy_s

    def next(self) -> float:
        return self._wait

    @property
    def idle(self) -> bool:
        return self._empty >= IDLE_AFTER

    def busy(self) -> None:
        self._empty = 0
        self._wait = self.busy_s

    def empty(self, cap_s: float | None = None) -> None:
        """An empty poll: after a few in a row, wait twice as long next time (at most
        `cap_s`, when given, or the idle maximum)."""
        self._empty += 1
        if self._empty >= IDLE_AFTER:
            cap = self.max_s if cap_s is None else max(self.busy_s, min(cap_s, self.max_s))
            self._wait = min(cap, max(self._wait, 0.001) * 2)
