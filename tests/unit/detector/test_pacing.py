"""The adaptive wait of the consumer loops: short while messages flow, long when idle."""

from __future__ import annotations

from detector.pacing import IDLE_AFTER, IdleWait


def test_the_wait_grows_only_after_a_few_empty_polls_and_stops_at_the_cap() -> None:
    w = IdleWait(0.005, max_s=0.25)
    for _ in range(IDLE_AFTER - 1):
        w.empty()
        assert w.next() == 0.005 and not w.idle  # a pause between two bursts is not idle
    waits = []
    for _ in range(12):
        w.empty()
        waits.append(w.next())
    assert w.idle
    assert waits == sorted(waits) and waits[0] == 0.01
    assert waits[-1] == 0.25 and max(waits) == 0.25


def test_one_message_brings_the_short_wait_back() -> None:
    w = IdleWait(0.005, max_s=0.25)
    for _ in range(20):
        w.empty()
    w.busy()
    assert w.next() == 0.005 and not w.idle


def test_a_cap_bounds_the_growth_but_never_goes_below_the_busy_wait() -> None:
    w = IdleWait(0.005, max_s=0.25)
    for _ in range(20):
        w.empty(cap_s=0.05)
    assert w.next() == 0.05 and w.idle
    w.empty(cap_s=0.0)
    assert w.next() == 0.005
    for _ in range(20):
        w.empty(cap_s=10.0)
    assert w.next() == 0.25
