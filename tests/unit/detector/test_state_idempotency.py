"""A payment or event a customer's state has already applied changes nothing (issue 15, 1)."""

from __future__ import annotations

from detector.engine import Detector
from detector.rules import default_ruleset
from detector.state import DEDUP_WINDOW_MS, DUPLICATE, STALE, CustomerState
from tests.unit.detector.factories import cart, ms, pay

RS = default_ruleset()


def history() -> list:
    """Two payments two minutes apart, then a failed one: VELOCITY_HIGH needs all three."""
    return [
        cart(ms("2025-12-31T09:59:00")),
        pay(payment_id="P1", ts_ms=ms("2025-12-31T10:00:00")),
        pay(payment_id="P2", ts_ms=ms("2025-12-31T10:02:00")),
        pay(payment_id="P3", ts_ms=ms("2025-12-31T10:04:00"), result="failed"),
    ]


def test_a_payment_sent_twice_is_applied_once_and_scores_stay_clean() -> None:
    clean = Detector(RS).process_all(history())
    det = Detector(RS)
    events = history()
    seen = det.process_all([events[0], events[1], events[1], events[2], events[3]])
    assert [(v.payment_id, v.score) for v in seen] == [(v.payment_id, v.score) for v in clean]
    assert [(s.event.payment_id, s.reason) for s in det.skipped] == [("P1", DUPLICATE)]


def test_a_duplicate_changes_no_state_even_after_a_restart() -> None:
    det = Detector(RS)
    det.process_all(history())
    before = det.states["C1"].to_dict()
    # A restart: the state comes back from its stored form.
    reloaded = Detector(RS, {"C1": CustomerState.from_dict(before)})
    assert reloaded.process_all(history()) == []
    assert reloaded.states["C1"].to_dict() == before
    assert [s.reason for s in reloaded.skipped] == [DUPLICATE] * 4


def test_a_repeated_cart_event_is_a_duplicate_too() -> None:
    det = Detector(RS)
    det.process(cart(ms("2025-12-31T09:59:00"), session_id="S9"))
    state = det.states["C1"].to_dict()
    det.process(cart(ms("2025-12-31T09:59:00"), session_id="S9"))
    assert det.states["C1"].to_dict() == state
    assert [s.reason for s in det.skipped] == [DUPLICATE]


def test_a_full_resend_of_a_long_history_changes_nothing() -> None:
    """Ids are remembered for a window of event time; what is older than the window behind the
    customer's latest event is refused as stale, so a replay from the beginning is absorbed."""
    start = ms("2025-11-01T00:00:00")
    day = 24 * 3600 * 1000
    events = [pay(payment_id=f"P{i}", ts_ms=start + i * day) for i in range(30)]
    det = Detector(RS)
    first = det.process_all(events)
    assert len(first) == 30
    state = det.states["C1"].to_dict()
    assert len(state["payment_ids"]) <= DEDUP_WINDOW_MS // day + 1  # bounded, not the history
    assert det.process_all(events) == []
    assert det.states["C1"].to_dict() == state
    reasons = [s.reason for s in det.skipped]
    assert reasons.count(STALE) + reasons.count(DUPLICATE) == 30 and STALE in reasons


def test_a_new_payment_arriving_late_within_the_window_is_still_scored() -> None:
    det = Detector(RS)
    det.process(pay(payment_id="P2", ts_ms=ms("2025-12-31T10:02:00")))
    v = det.process(pay(payment_id="P1", ts_ms=ms("2025-12-31T10:00:00")))
    assert v is not None and v.payment_id == "P1" and det.skipped == []


def test_the_backtest_path_skips_the_same_events() -> None:
    events = history()
    repeated = [*events, events[1], events[3]]
    det = Detector(RS)
    ids, _ = det.hit_rows(repeated)
    assert ids == ["P1", "P2", "P3"]
    assert [s.reason for s in det.skipped] == [DUPLICATE, DUPLICATE]


def test_states_stored_before_ids_were_kept_still_load() -> None:
    old = {
        "payments": 1,
        "recent_ms": [1],
        "devices": [],
        "success_sum": 0.0,
        "success_n": 0,
        "cart_start_ms": {},
    }
    s = CustomerState.from_dict(old)
    assert (s.latest_ms, s.payment_ids, s.event_ids) == (-1, {}, {})


def test_the_window_is_the_detectors_setting_on_both_paths() -> None:
    """KVT_DEDUP_WINDOW_MS reaches the states through the Detector: with a two-day window, a
    payment three days behind the customer's latest is stale, and ids older than two days are
    forgotten; the default window still admits it."""
    day = 24 * 3600 * 1000
    start = ms("2025-12-01T10:00:00")
    events = [pay(payment_id=f"P{i}", ts_ms=start + i * day) for i in range(5)]
    late = pay(payment_id="PLATE", ts_ms=start + day)
    short = Detector(RS, dedup_window_ms=2 * day)
    short.process_all(events)
    assert sorted(short.states["C1"].payment_ids) == ["P2", "P3", "P4"]
    assert short.process(late) is None and [s.reason for s in short.skipped] == [STALE]
    default = Detector(RS)
    default.process_all(events)
    assert len(default.states["C1"].payment_ids) == 5
    assert default.process(late) is not None and default.skipped == []
    matrix = Detector(RS, dedup_window_ms=2 * day)
    ids, _ = matrix.hit_rows([*events, late])
    assert "PLATE" not in ids and [s.reason for s in matrix.skipped] == [STALE]
