"""The detector's own process keeps survivors out of the collector's traversals."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from detector import heap
from detector.heap import HeapKeeper


@pytest.fixture
def gc_state() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def test_survivors_are_frozen_after_a_collection_every_few_seconds(
    gc_state: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(heap.time, "monotonic", lambda: clock[0])
    keeper = HeapKeeper(every_s=2.0)
    keeper.start()
    assert not gc.isenabled()  # between ticks, reference counting frees a batch's garbage
    states = [{"customer": i, "recent": [i]} for i in range(1000)]  # long-lived, like states
    frozen = gc.get_freeze_count()
    keeper.tick()
    assert gc.get_freeze_count() == frozen  # not yet: 2 s have not passed

    class Cycle:
        pass

    a, b = Cycle(), Cycle()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    del a, b  # cyclic garbage: must be collected, not frozen for ever
    clock[0] += 2.5
    keeper.tick()
    assert gc.get_freeze_count() >= frozen + len(states)
    assert not any(type(o).__name__ == "Cycle" for o in gc.get_objects())
    keeper.stop()
    assert gc.isenabled()  # the process goes on as before the loop
