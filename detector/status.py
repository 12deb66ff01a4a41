"""A small thread-safe status object: the detector thread writes it, pages read snapshots."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class StatusSnapshot:
    state: str = "stopped"  # starting, running, waiting_for_database, waiting_for_broker, ...
    source: str = ""
    events_total: int = 0
    payments_total: int = 0
    alerts_total: int = 0
    dead_letters_total: int = 0
    # Input the states had already applied (duplicate) or no longer remember (stale): ignored.
    repeated_total: int = 0
    unknown_customers_total: int = 0  # payments of customers the reference does not list
    late_total: int = 0  # events that arrived after a later event of their partition was scored
    future_total: int = 0  # dead-lettered as future_timestamp (implausibly far ahead)
    # Events the ordering released because the other topic's partition was silent (the end of
    # a stream, a topic nobody writes) rather than because it moved past them.
    idle_released_total: int = 0
    events_per_s: float = 0.0  # over the last RATE_WINDOW_S: 0 once nothing arrives
    lag: dict[str, int] = field(default_factory=dict)  # "topic[p]" -> messages behind
    ruleset_version: str = ""
    last_error: str = ""
    last_error_at: float = 0.0
    last_batch_at: float = 0.0
    started_at: float = 0.0

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())


RATE_WINDOW_S = 5.0


class Status:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snap = StatusSnapshot()
        self._rate_window: list[tuple[float, int]] = []

    def snapshot(self) -> StatusSnapshot:
        with self._lock:
            snap = self._snap
            # No batch has come to update the rate: it decays to 0 over the window, as
            # though an empty batch were counted now.
            if snap.events_per_s and self._rate_window:
                rate = self._rate(time.monotonic(), snap.events_total + snap.dead_letters_total)
                if rate != snap.events_per_s:
                    snap = self._snap = replace(snap, events_per_s=rate)
            return snap

    def _rate(self, now: float, total: int) -> float:
        window = [(t, n) for t, n in self._rate_window if now - t <= RATE_WINDOW_S]
        if not window:
            return 0.0
        t0, n0 = window[0]
        return (total - n0) / (now - t0) if now > t0 else self._snap.events_per_s

    def update(self, **changes: object) -> None:
        with self._lock:
            self._snap = replace(self._snap, **changes)  # type: ignore[arg-type]

    def count(self, **increments: int) -> None:
        """Add to counters of the snapshot (repeated_total=3, ...)."""
        with self._lock:
            s = self._snap
            self._snap = replace(s, **{k: getattr(s, k) + n for k, n in increments.items()})

    def error(self, message: str) -> None:
        self.update(last_error=message[:500], last_error_at=time.time())

    def count_batch(self, events: int, payments: int, alerts: int, dead: int) -> None:
        now = time.monotonic()
        with self._lock:
            s = self._snap
            total = s.events_total + s.dead_letters_total + events + dead
            window = [(t, n) for t, n in self._rate_window if now - t <= RATE_WINDOW_S]
            window.append((now, total))
            self._rate_window = window
            t0, n0 = window[0]
            rate = (total - n0) / (now - t0) if now > t0 else s.events_per_s
            self._snap = replace(
                s,
                events_total=s.events_total + events,
                payments_total=s.payments_total + payments,
                alerts_total=s.alerts_total + alerts,
                dead_letters_total=s.dead_letters_total + dead,
                events_per_s=rate,
                last_batch_at=time.time(),
            )
