"""The retry waits shared by the detector's database, startup and outbox retries."""

from __future__ import annotations

from itertools import islice

from detector.backoff import backoff


def test_waits_double_up_to_the_cap_and_stay_there() -> None:
    assert list(islice(backoff(0.2, 1.0), 6)) == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_each_call_starts_again_from_the_first_wait() -> None:
    first = backoff()
    next(first), next(first)
    assert next(backoff()) == 0.2
