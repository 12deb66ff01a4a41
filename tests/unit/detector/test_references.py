"""The customer reference as the detector asks it: known ids cached, an empty reference kept
for half a second (a round trip on every alert's way otherwise)."""

from __future__ import annotations

from detector.references import EMPTY_RECHECK_S, CustomerReference


def test_listed_ids_are_not_asked_again_and_the_others_are_unknown() -> None:
    ref = CustomerReference(clock=lambda: 0.0)
    ask = ref.to_ask(["C1", "C2"])
    assert sorted(ask) == ["C1", "C2"]
    assert ref.learn(ask, {"C1"}) == {"C2"}
    assert ref.to_ask(["C1", "C2"]) == ["C2"]  # an unknown one is asked again: it may be added


def test_an_empty_reference_calls_nobody_unknown_and_is_asked_again_half_a_second_later() -> None:
    now = [10.0]
    ref = CustomerReference(clock=lambda: now[0])
    assert ref.learn(ref.to_ask(["C1"]), None) == set()
    now[0] += EMPTY_RECHECK_S / 2
    assert ref.to_ask(["C1", "C2"]) == []  # still taken as empty: nothing to ask
    now[0] += EMPTY_RECHECK_S
    assert ref.to_ask(["C1"]) == ["C1"]  # loaded since? asked again
    assert ref.learn(["C1"], {"C1"}) == set() and ref.to_ask(["C1"]) == []
