"""The merger restores event-time order across the two input topics of a partition."""

from __future__ import annotations

from data_gen.wire_format import BadMessage
from detector.ordering import Item, Merger, Record
from tests.unit.detector.factories import cart, pay

EV, PAY = "user-events", "payments"


def item(topic: str, offset: int, event, received: float = 0.0, part: int = 0) -> Item:
    return Item(Record(topic, part, offset, None, b"{}", received), event)


def ids(items: list[Item]) -> list[str]:
    out = []
    for i in items:
        e = i.event
        out.append("dead" if e is None else getattr(e, "payment_id", None) or e.event_id)
    return out


def test_payment_waits_for_the_cart_that_precedes_it() -> None:
    m = Merger(EV, PAY)
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=1_000)))
    assert m.drain(now_s=10.0) == []  # behavioural side not read yet
    m.add(item(EV, 0, cart(900)))
    m.add(item(EV, 1, cart(1_500)))
    # E1500 then waits for the payments side to show something later (or to end).
    assert ids(m.drain(now_s=10.0)) == ["E900", "P1"]
    m.add(item(PAY, 1, pay(payment_id="P2", ts_ms=2_000)))
    assert ids(m.drain(now_s=10.0)) == ["E1500"]


def test_clicks_do_not_run_ahead_of_an_unread_payment() -> None:
    """A day of clicks fetched before the payment they follow must wait for it."""
    m = Merger(EV, PAY)
    for k, ts in enumerate((1_000, 90_000_000, 95_000_000)):
        m.add(item(EV, k, cart(ts)))
    assert ids(m.drain(now_s=0.0)) == []
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=2_000)))
    assert ids(m.drain(now_s=0.0)) == ["E1000", "P1"]


def test_released_when_the_other_side_is_read_to_the_end_and_stays_silent() -> None:
    m = Merger(EV, PAY, idle_s=0.05)
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=1_000), received=1.0))
    m.mark_eof(EV, 0, now_s=1.0)
    assert m.drain(now_s=1.01) == []
    assert ids(m.drain(now_s=1.06)) == ["P1"]
    m.add(item(EV, 0, cart(5_000), received=2.0))  # new data clears the end-of-partition mark
    m.mark_eof(PAY, 0, now_s=2.0)
    assert ids(m.drain(now_s=2.06)) == ["E5000"]


def test_a_payment_fetched_long_before_its_click_waits_however_long_it_queued() -> None:
    """Finding 2: at full speed one topic reaches the brokers ahead of the other; the other's
    partition hits its end for a moment between deliveries.  The payment waits for the event
    time of the click side, not for a clock that started when the payment arrived."""
    m = Merger(EV, PAY, idle_s=0.5)
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=1_000), received=0.0))
    m.mark_eof(EV, 0, now_s=0.0)
    m.add(item(EV, 0, cart(500), received=0.4))  # the click side was not silent
    m.mark_eof(EV, 0, now_s=0.45)
    assert ids(m.drain(now_s=0.9)) == ["E500"]  # P1 has queued 0.9 s: still not released
    m.add(item(EV, 1, cart(900), received=0.95))
    m.add(item(EV, 2, cart(1_100), received=0.95))
    assert ids(m.drain(now_s=1.0)) == ["E900", "P1"]
    assert m.take_late() == []


def test_an_end_seen_before_the_stream_started_is_not_silence() -> None:
    """The detector runs first: the payments partition was read to its (empty) end long before
    the first clicks arrive; they still wait for the payments that follow them."""
    m = Merger(EV, PAY, idle_s=0.5)
    m.mark_eof(PAY, 0, now_s=0.0)
    m.add(item(EV, 0, cart(1_000), received=5.0))
    assert m.drain(now_s=5.1) == []
    assert m.drain(now_s=6.0, caught_up=False) == []  # more may wait in the client's queue
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=1_500), received=6.0))
    assert ids(m.drain(now_s=6.0)) == ["E1000"]


def test_an_event_released_after_a_later_one_is_late_and_still_released() -> None:
    m = Merger(EV, PAY, idle_s=0.05)
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=1_000)))
    m.mark_eof(EV, 0, now_s=0.0)
    assert ids(m.drain(now_s=1.0)) == ["P1"]
    m.add(item(EV, 0, cart(900)))
    m.mark_eof(PAY, 0, now_s=1.0)
    out = m.drain(now_s=2.0)
    assert ids(out) == ["E900"] and m.take_late() == out


def test_a_far_future_event_is_dead_and_moves_no_watermark() -> None:
    """Finding 3: one click dated 2099 must not release every later payment unordered."""
    m = Merger(EV, PAY)
    m.add(item(EV, 0, cart(1_000)))
    m.add(item(EV, 1, cart(4_102_272_000_000)))  # 2099-12-31
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=1_500)))
    out = m.drain(now_s=0.0)
    assert ids(out) == ["E1000", "dead"]
    assert out[1].error is not None and out[1].error.reason == "future_timestamp"
    assert "ahead of partition 0's event time" in out[1].error.detail
    assert m.pending == 1  # P1 still waits: the click side has shown nothing after 1.5 s


def test_live_input_is_checked_against_the_wall_clock() -> None:
    now = 1_767_175_200_000  # 2025-12-31T10:00Z
    m = Merger(EV, PAY, clock_ms=lambda: now, max_ahead_clock_ms=3_600_000)
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=now + 7_200_000)))  # the partition's first
    m.add(item(PAY, 1, pay(payment_id="P2", ts_ms=now + 60_000)))
    out = m.drain(now_s=0.0)
    assert ids(out) == ["dead"]
    assert out[0].error is not None and "ahead of the wall clock" in out[0].error.detail


def test_the_wall_clock_is_read_again_only_for_an_event_beyond_its_last_bound() -> None:
    now = [1_767_175_200_000]
    reads = []

    def clock() -> int:
        reads.append(now[0])
        return now[0]

    m = Merger(EV, PAY, clock_ms=clock, max_ahead_clock_ms=3_600_000)
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=now[0])))
    m.add(item(PAY, 1, pay(payment_id="P2", ts_ms=now[0] + 1_000)))
    assert len(reads) == 1  # P2 is within the bound of the first reading
    now[0] += 7_200_000  # two hours later, P3 is beyond the old bound but not the new one
    m.add(item(PAY, 2, pay(payment_id="P3", ts_ms=now[0] + 1_800_000)))
    m.add(item(PAY, 3, pay(payment_id="P4", ts_ms=now[0] + 3_700_000)))
    assert len(reads) == 3
    m.add(item(EV, 0, cart(now[0] + 3_500_000)))  # P1-P3 precede it; it waits for a later one
    out = m.drain(now_s=0.0)
    assert ids(out) == ["P1", "P2", "P3", "dead"] and len(reads) == 3
    assert out[3].error is not None and "ahead of the wall clock" in out[3].error.detail


def test_equal_timestamps_put_the_cart_first() -> None:
    m = Merger(EV, PAY)
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=1_000)))
    m.add(item(EV, 0, cart(1_000)))
    m.add(item(EV, 1, cart(2_000)))
    assert ids(m.drain(now_s=0.0)) == ["E1000", "P1"]


def test_dead_messages_keep_their_place_and_never_block() -> None:
    m = Merger(EV, PAY)
    bad = Item(Record(PAY, 0, 0, None, b"x", 0.0), None, BadMessage("invalid_json", "x"))
    m.add(bad)
    m.add(item(PAY, 1, pay(payment_id="P1", ts_ms=5_000)))
    out = m.drain(now_s=0.0)
    assert ids(out) == ["dead"]  # P1 still waits for the behavioural watermark
    assert m.pending == 1


def test_partitions_are_independent_and_drop_forgets_revoked_ones() -> None:
    m = Merger(EV, PAY)
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=1_000), part=0))
    m.add(item(EV, 0, cart(2_000), part=1))
    m.add(item(EV, 1, cart(2_500), part=0))
    m.add(item(PAY, 1, pay(payment_id="P2", ts_ms=3_000), part=1))
    assert ids(m.drain(now_s=0.0)) == ["P1", "E2000"]
    m.drop({1})
    assert m.pending == 1  # only partition 0's cart is left


def test_drain_respects_the_batch_limit() -> None:
    m = Merger(EV, PAY)
    for k in range(10):
        m.add(item(EV, k, cart(k)))
    m.mark_eof(PAY, 0, now_s=0.0)
    assert len(m.drain(now_s=6.0, limit=4)) == 4
    assert m.pending == 6


def test_a_fast_stream_never_waits_out_the_idle_timer_however_slow_the_consumer() -> None:
    """Issue 15, the wall-clock last resort: while both topics of a partition keep delivering,
    the idle release never fires, even when each poll comes a minute after the last (a loaded
    machine) and one topic runs a chunk ahead of the other; order is exact and nothing is late.
    It fires only once a side has stayed silent for `idle_s`: the end of the stream."""
    m = Merger(EV, PAY, idle_s=5.0)
    clicks = [cart(k * 1_000) for k in range(200)]
    payments = [pay(payment_id=f"P{k}", ts_ms=k * 1_000 + 500) for k in range(200)]
    out: list[Item] = []
    now = 0.0
    for r in range(21):  # each poll: ten payments, and the ten clicks of the poll before
        for k in range(10 * r - 10, 10 * r) if r else ():
            m.add(item(EV, k, clicks[k], received=now))
        for k in range(10 * r, min(10 * r + 10, 200)):
            m.add(item(PAY, k, payments[k], received=now))
        m.mark_eof(EV, 0, now)  # the consumer reads both partitions to their end every time
        m.mark_eof(PAY, 0, now)
        out += m.drain(now)
        assert m.idle_released == 0, r
        now += 60.0
    last_poll = now - 60.0
    want = sorted([*clicks, *payments[:-1]], key=lambda e: e.ts_ms)
    assert ids(out) == [getattr(e, "payment_id", None) or e.event_id for e in want]
    assert m.take_late() == [] and m.pending == 1  # P199 waits for a later click, or silence
    assert m.drain(now_s=last_poll + 4.9) == [] and m.idle_released == 0
    assert ids(m.drain(now_s=last_poll + 5.0)) == ["P199"] and m.take_idle_released() == 1
