"""How long to wait between retries of something that is down (a database, a broker)."""

from __future__ import annotations

from collections.abc import Iterator

FIRST_S = 0.2
MAX_S = 5.0  # an outage of minutes is retried every few seconds, not every few minutes


def backoff(first_s: float = FIRST_S, max_s: float = MAX_S) -> Iterator[float]:
    """Waits that double from ``first_s`` up to ``max_s``, then stay there."""
    delay = first_s
    while True:
        yield delay
        delay = min(delay * 2, max_s)
