"""Charts a manager reads at a glance: the figure specs of ``pages/_charts.py`` (day axes with a
tick per day, whole-number count axes, one distinct colour-blind-safe colour per status, the
session's number signs)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise

import pandas as pd
import pytest
import streamlit as st

from pages import _charts as charts
from pages._ui import SEVERITY_COLOURS, STATUS_COLOURS

DAY_MS = 86_400_000


@pytest.fixture(autouse=True)
def french() -> Iterator[None]:
    st.session_state.clear()  # the session's language: French by default
    yield
    st.session_state.clear()


def _ms(day: str) -> int:
    return int(pd.Timestamp(day).value // 1_000_000)


def test_a_day_axis_has_one_tick_a_day_at_midnight_in_the_session_language() -> None:
    days = ["2026-12-01", "2026-12-02", "2026-12-04"]
    ax = charts.day_axis(days)
    assert ax["type"] == "date" and ax["tickmode"] == "array"
    assert ax["tickvals"] == ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"]
    assert ax["ticktext"][:2] == ["1 déc.", "2 déc."]
    gaps = {_ms(b) - _ms(a) for a, b in pairwise(ax["tickvals"])}
    assert gaps == {DAY_MS}
    st.session_state["lang"] = "en"
    assert charts.day_axis(days)["ticktext"][0] == "1 Dec"


def test_a_single_day_is_one_tick_on_a_day_wide_range_not_milliseconds() -> None:
    ax = charts.day_axis(["2026-12-01"])
    assert ax["tickvals"] == ["2026-12-01"]
    lo, hi = (pd.Timestamp(v) for v in ax["range"])
    assert (hi - lo) == pd.Timedelta(days=1)  # "23:59:59.9996 ... 00:00:00.0004" no more


def test_many_days_tick_every_kth_day_never_within_a_day() -> None:
    days = [d.strftime("%Y-%m-%d") for d in pd.date_range("2025-11-01", periods=61)]
    ax = charts.day_axis(days)
    assert len(ax["tickvals"]) <= charts.MAX_DAY_TICKS
    gaps = {_ms(b) - _ms(a) for a, b in pairwise(ax["tickvals"])}
    assert len(gaps) == 1 and gaps.pop() % DAY_MS == 0


@pytest.mark.parametrize(
    ("top", "step"), [(0, 1), (4.27, 1), (9, 2), (27, 5), (99, 20), (7530, 2000)]
)
def test_count_axes_tick_whole_numbers_only(top: float, step: int) -> None:
    ax = charts.count_axis(top)
    assert ax["tickmode"] == "linear" and ax["tick0"] == 0 and ax["dtick"] == step
    assert isinstance(ax["dtick"], int) and ax["tickformat"] == ",d"
    assert top / ax["dtick"] <= 6


def test_bars_over_days_use_a_day_axis_a_count_axis_and_the_session_separators() -> None:
    frame = pd.DataFrame(
        {"day": ["2026-12-01", "2026-12-01", "2026-12-02"], "who": ["a", "b", "a"], "n": [3, 2, 1]}
    )
    fig = charts.bars(
        frame, "day", "n", color="who", title="T", x_title="X", y_title="Y", days=True
    )
    lay = fig["layout"]
    assert lay["xaxis"]["type"] == "date" and lay["xaxis"]["tickvals"] == [
        "2026-12-01",
        "2026-12-02",
    ]
    assert lay["yaxis"]["dtick"] == 1 and lay["yaxis"]["tickformat"] == ",d"  # stacked top: 5
    assert lay["separators"] == ",\u202f"  # French: 7 530,5
    colours = [tr["marker"]["color"] for tr in fig["data"]]
    assert len(set(colours)) == 2 and set(colours) <= set(charts.OKABE_ITO)


def test_horizontal_bars_count_on_the_x_axis() -> None:
    frame = pd.DataFrame({"rule": ["a", "b"], "alerts": [12, 40]})
    fig = charts.bars(frame, "rule", "alerts", horizontal=True, title="", x_title="", y_title="")
    assert fig["layout"]["xaxis"]["dtick"] == 10 and "dtick" not in fig["layout"]["yaxis"]


def test_each_status_and_severity_has_its_own_colour_blind_safe_colour() -> None:
    for colours in (STATUS_COLOURS, SEVERITY_COLOURS):
        values = list(colours.values())
        assert len(set(values)) == len(values)  # "investigating" and "blocked": no two reds
        assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in values)
        assert set(values) <= set(charts.OKABE_ITO)
    assert set(STATUS_COLOURS) == {"PENDING_REVIEW", "INVESTIGATING", "APPROVED", "BLOCKED"}


def test_percentages_are_written_the_session_way_not_plotlys() -> None:
    """Plotly's d3 "%" glues the sign to the number ("33,3%"); French writes "33,3 %"."""
    assert charts.percents([0.3333, float("nan"), 1.0], 1) == ["33,3\xa0%", "", "100,0\xa0%"]
    ax = charts.share_axis()
    assert ax["tickvals"] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert ax["ticktext"] == ["0\xa0%", "20\xa0%", "40\xa0%", "60\xa0%", "80\xa0%", "100\xa0%"]
    assert "tickformat" not in ax
    st.session_state["lang"] = "en"
    assert charts.percents([0.3333], 1) == ["33.3%"]
    assert charts.share_axis()["ticktext"][-1] == "100%"


def test_share_x_axes_show_both_ends_0_and_100_percent() -> None:
    """The precision-recall and scenario charts' x-axes label 0 % and 100 %: both ticks lie in
    the axis range, Plotly may draw a label that reaches the figure's edge, and the figure
    keeps a right margin for it (Streamlit's theme leaves almost none: "100 %" vanished)."""
    from types import SimpleNamespace

    bt = SimpleNamespace(
        pr=pd.DataFrame({"recall": [0.0, 0.5, 1.0], "precision": [1.0, 0.5, 0.1]}),
        metrics=SimpleNamespace(recall=0.5, precision=0.5, threshold=60),
        scenarios=pd.DataFrame(
            {"scenario": ["card_testing"], "payments": [4], "caught": [4], "recall": [1.0]}
        ),
    )
    for fig in (charts.pr_chart(bt, bt), charts.scenario_chart(bt)):  # type: ignore[arg-type]
        x = fig["layout"]["xaxis"]
        lo, hi = x["range"]
        assert lo <= 0 and hi >= 1
        assert x["tickvals"][0] == 0 and x["tickvals"][-1] == 1
        assert x["ticktext"][0] == "0\xa0%" and x["ticktext"][-1] == "100\xa0%"
        assert x["ticklabeloverflow"] == "allow"
        assert fig["layout"]["margin"]["r"] >= 24
