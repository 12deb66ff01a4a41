"""The merger restores event-time order across the two input topics of a partition."""

from __future__ import annotations

from detector.codec import BadMessage
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
    m = Merger(EV, PAY, grace_s=0.05)
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
    m = Merger(EV, PAY, grace_s=0.05)
    for k, ts in enumerate((1_000, 90_000_000, 95_000_000)):
        m.add(item(EV, k, cart(ts)))
    assert ids(m.drain(now_s=0.0)) == []
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=2_000)))
    assert ids(m.drain(now_s=0.0)) == ["E1000", "P1"]


def test_released_after_grace_when_the_other_side_is_read_to_the_end() -> None:
    m = Merger(EV, PAY, grace_s=0.05)
    m.add(item(PAY, 0, pay(payment_id="P1", ts_ms=1_000), received=1.0))
    m.mark_eof(EV, 0)
    assert m.drain(now_s=1.01) == []
    assert ids(m.drain(now_s=1.06)) == ["P1"]
    m.add(item(EV, 0, cart(5_000), received=2.0))  # new data clears the end-of-partition mark
    m.mark_eof(PAY, 0)
    assert ids(m.drain(now_s=2.06)) == ["E5000"]


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
    m.mark_eof(PAY, 0)
    assert len(m.drain(now_s=1.0, limit=4)) == 4
    assert m.pending == 6
