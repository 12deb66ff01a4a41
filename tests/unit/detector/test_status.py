"""The detector's status: the events/s figure falls to 0 when nothing arrives."""

from __future__ import annotations

import pytest

from detector import status as status_module
from detector.status import RATE_WINDOW_S, Status


def test_the_rate_decays_to_zero_without_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(status_module.time, "monotonic", lambda: clock[0])
    st = Status()
    for _ in range(5):
        clock[0] += 1.0
        st.count_batch(1000, 10, 1, 0)
    busy = st.snapshot().events_per_s
    assert busy == pytest.approx(1000)
    clock[0] += 2.0
    assert 0 < st.snapshot().events_per_s < busy  # no batch for 2 s: lower
    clock[0] += RATE_WINDOW_S
    assert st.snapshot().events_per_s == 0.0  # idle: 0, not the last busy value
    assert st.snapshot().events_total == 5000  # the totals stay
    st.count_batch(500, 0, 0, 0)
    clock[0] += 0.5
    st.count_batch(500, 0, 0, 0)
    assert st.snapshot().events_per_s == pytest.approx(1000)  # 500 in 0.5 s
