"""Chart builders of the pages: plain Plotly figure dicts (and one Altair chart), built from the
desk's frames with the session's words.

Figures are dicts that ``st.plotly_chart`` validates once: plotly.express costs ~40 ms a figure
and the object API several ms, too much for pages that draw a dozen on every rerun.  Plotly
renders a subset of HTML in category labels (links included), so data values reach it escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

import altair as alt
import pandas as pd

from desk import tuning
from pages._ui import day_short, pct, separators, t

Figure = dict[str, Any]

# --------------------------------------------------------------------------- shared

# Okabe & Ito's palette: distinct for the common colour-vision deficiencies, and in grey.
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",  # black
)
DAY_MS = 86_400_000
MAX_DAY_TICKS = 12  # a tick a day up to here, then every k-th day


def axis(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, **extra}


def count_axis(top: float) -> dict[str, Any]:
    """An axis of counts: whole numbers only (no 4.27), from zero, at most ~6 ticks."""
    step = 1
    for nice in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000):
        step = nice
        if top / nice <= 6:
            break
    else:
        step = max(1, math.ceil(top / 6 / 10_000)) * 10_000
    return {"tickmode": "linear", "tick0": 0, "dtick": step, "tickformat": ",d",
            "rangemode": "tozero"}  # fmt: skip


def day_axis(days: Iterable[str]) -> dict[str, Any]:
    """A time axis of calendar days ("YYYY-MM-DD"): one tick a day (every k-th day when there
    are many), labelled in the session's language, never an hour ("23:59:59.9996")."""
    shown = sorted({str(d) for d in days})
    if not shown:
        return {"type": "date"}
    step = max(1, math.ceil(len(shown) / MAX_DAY_TICKS))
    first, last = date.fromisoformat(shown[0]), date.fromisoformat(shown[-1])
    ticks = [first + timedelta(days=i) for i in range(0, (last - first).days + 1, step)]
    return {
        "type": "date",
        "tickmode": "array",
        "tickvals": [d.isoformat() for d in ticks],
        "ticktext": [day_short(d) for d in ticks],
        # half a day either side: a single day is a bar, not a span of milliseconds
        "range": [
            (datetime.combine(first, time()) - timedelta(hours=12)).isoformat(),
            (datetime.combine(last, time()) + timedelta(hours=12)).isoformat(),
        ],
    }


def percents(shares: Iterable[float], digits: int = 0) -> list[str]:
    """Shares (0.333) as percentages the session's language writes them: "33,3 %" in French
    (a no-break space before the sign, as Babel writes it), "33.3%" in English; "" for NaN.

    Plotly's d3 "%" formats glue the sign to the number whatever ``separators`` say, so
    percentages reach figures as text (tick labels, slice texts, hover ``customdata``).  The
    sign and decimal mark come from Babel once; each value is then plain string formatting,
    cheap enough for every point of a curve."""
    tail = pct(0.0, 0).lstrip("0")  # "\xa0%" / "%"
    decimal = separators()[0]
    return [
        "" if v != v else f"{v * 100:.{digits}f}".replace(".", decimal) + tail  # NaN != NaN
        for v in (float(x) for x in shares)
    ]


def share_axis(top: float = 1.0, step: float = 0.2) -> dict[str, Any]:
    """An axis of shares from 0 to ``top``, its ticks labelled by :func:`percents` (every
    ``step``); with ``top`` 1 the ticks Plotly would pick itself: 0 %, 20 % ... 100 %."""
    values = [round(i * step, 10) for i in range(round(top / step) + 1)]
    # Plotly hides a tick label that would cross the figure's edge ("hide past div"), and
    # Streamlit's theme leaves almost no right margin: on an x-axis the last label, "100 %",
    # vanished.  Draw every label; charts with shares across give it room (SHARE_X_MARGIN).
    return {
        "tickmode": "array",
        "tickvals": values,
        "ticktext": percents(values),
        "ticklabeloverflow": "allow",
    }


# Room on the right for half of an x-axis's last tick label ("100 %"), in pixels.
SHARE_X_MARGIN = {"r": 32}


def share_hover(label: str, first: str = "") -> str:
    """A hover template ending in the line "label : 40 %", whose value is the point's
    ``customdata`` (its :func:`percents` text); ``first``: a line before it."""
    line = t("sidebar.line", label=label, value="%{customdata}")
    return (f"{first}<br>{line}" if first else line) + "<extra></extra>"


def localized(fig: Figure) -> Figure:
    """The figure with the session's decimal and group signs (7 530,5 / 7,530.5)."""
    fig["layout"]["separators"] = separators()
    return fig


def bars(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    title: str,
    x_title: str,
    y_title: str,
    color: str | None = None,
    colours: dict[str, str] | None = None,
    horizontal: bool = False,
    barmode: str = "stack",
    legend_title: str = "",
    days: bool = False,
    counts: bool = True,
) -> Figure:
    """A bar chart, one trace per ``color`` value (coloured from ``colours``, else from the
    Okabe-Ito palette in order).  ``days``: ``x`` holds calendar days ("YYYY-MM-DD");
    ``counts``: ``y`` holds counts (whole-number ticks)."""
    groups = [(None, frame)] if color is None else list(frame.groupby(color, sort=False))
    data = []
    for i, (name, part) in enumerate(groups):
        # Plotly renders a subset of HTML in category labels (links included): data values
        # (countries, devices, sources) must reach it escaped; days stay dates.
        labels = part[x] if days else part[x].map(lambda v: html.escape(str(v)))
        trace: dict[str, Any] = {
            "type": "bar",
            "x": part[y] if horizontal else labels,
            "y": labels if horizontal else part[y],
            "orientation": "h" if horizontal else "v",
            "name": str(name) if name is not None else y_title,
        }
        if name is not None:
            given = (colours or {}).get(str(name))
            trace["marker"] = {"color": given or OKABE_ITO[i % len(OKABE_ITO)]}
        data.append(trace)
    if not data:  # plotly refuses a figure without traces
        data.append({"type": "bar", "x": [], "y": []})
    label_axis = day_axis(frame[x]) if days else {}
    value_axis: dict[str, Any] = {}
    if counts:
        stacked = barmode == "stack" and color is not None and not frame.empty
        top = frame.groupby(x)[y].sum().max() if stacked else frame[y].max()
        value_axis = count_axis(float(top) if len(frame) and top == top else 0.0)
    x_axis, y_axis = (value_axis, label_axis) if horizontal else (label_axis, value_axis)
    return localized(
        {
            "data": data,
            "layout": {
                "title": {"text": title},
                "barmode": barmode,
                "xaxis": axis(y_title if horizontal else x_title, **x_axis),
                "yaxis": axis(x_title if horizontal else y_title, **y_axis),
                "showlegend": color is not None,
                "legend": {"title": {"text": legend_title}},
            },
        }
    )


# --------------------------------------------------------------------------- rule tuning


# Figures are built as plain dicts and validated once by st.plotly_chart: adding traces and
# shapes one call at a time through plotly's object API costs several times more, and this page
# redraws on every edit.
def _line(x: float | None = None, y: float | None = None, colour: str = "grey") -> dict:
    """A dashed rule across the plot at ``x`` (vertical) or ``y`` (horizontal)."""
    if x is not None:
        pos = {"x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": "paper"}
    else:
        pos = {"y0": y, "y1": y, "yref": "y", "x0": 0, "x1": 1, "xref": "paper"}
    return {"type": "line", **pos, "line": {"dash": "dash", "color": colour}}


def _note(text_: str, x: float | None = None, y: float | None = None) -> dict:
    if x is not None:
        return {
            "x": x,
            "y": 1,
            "xref": "x",
            "yref": "paper",
            "text": text_,
            "showarrow": False,
            "xanchor": "left",
            "yanchor": "bottom",
        }
    return {
        "x": 1,
        "y": y,
        "xref": "paper",
        "yref": "y",
        "text": text_,
        "showarrow": False,
        "xanchor": "right",
        "yanchor": "bottom",
    }


def _recall_precision(recall: Iterable[float], precision: Iterable[float]) -> dict[str, Any]:
    """A trace's hover: its recall and precision as percentages of the session's language."""
    hover = "<br>".join(
        t("sidebar.line", label=t(key), value=f"%{{customdata[{i}]}}")
        for i, key in enumerate(("m.recall", "m.precision"))
    )
    return {
        "customdata": list(zip(percents(recall, 1), percents(precision, 1), strict=True)),
        "hovertemplate": hover + "<extra>%{fullData.name}</extra>",
    }


def pr_chart(bt: tuning.Backtest, ref: tuning.Backtest) -> dict:
    data: list[dict] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": bt.pr["recall"],
            "y": bt.pr["precision"],
            "name": t("tun.draft"),
            **_recall_precision(bt.pr["recall"], bt.pr["precision"]),
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": ref.pr["recall"],
            "y": ref.pr["precision"],
            "name": t("tun.active"),
            "line": {"dash": "dot"},
            **_recall_precision(ref.pr["recall"], ref.pr["precision"]),
        },
    ]
    for b, label, symbol in ((bt, t("tun.draft"), "circle"), (ref, t("tun.active"), "x")):
        assert b.metrics is not None
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [b.metrics.recall],
                "y": [b.metrics.precision],
                "marker": {"size": 12, "symbol": symbol},
                "name": t("tun.operating_point", who=label, t=int(b.metrics.threshold)),
                **_recall_precision([b.metrics.recall], [b.metrics.precision]),
            }
        )
    axis = {"range": [0, 1.02], **share_axis()}
    return localized(
        {
            "data": data,
            "layout": {
                "title": {"text": t("tun.pr.title")},
                "xaxis": {**axis, "title": {"text": t("m.recall")}},
                "yaxis": {**axis, "title": {"text": t("m.precision")}},
                "legend": {"orientation": "h", "y": -0.2},
                "margin": SHARE_X_MARGIN,
            },
        }
    )


def threshold_chart(bt: tuning.Backtest, threshold: int) -> dict:
    th = bt.thresholds
    return localized(
        {
            "data": [
                {
                    "type": "scatter",
                    "x": th["threshold"],
                    "y": th[k],
                    "name": t(f"m.{k}"),
                    "customdata": percents(th[k], 1),
                    "hovertemplate": share_hover(
                        t(f"m.{k}"), t("sidebar.line", label=t("ax.score_threshold"), value="%{x}")
                    ),
                }
                for k in ("precision", "recall", "alert_rate")
            ],
            "layout": {
                "title": {"text": t("tun.thr.title")},
                "xaxis": {"title": {"text": t("ax.score_threshold")}},
                "yaxis": {"title": {"text": t("ax.share")}, **share_axis()},
                "legend": {"orientation": "h", "y": -0.2},
                "shapes": [_line(x=threshold)],
                "annotations": [_note(t("tun.current_threshold"), x=threshold)],
            },
        }
    )


def day_chart(bt: tuning.Backtest, capacity: int) -> dict:
    top = max(float(bt.per_day["alerts"].max()) if len(bt.per_day) else 0.0, capacity)
    return localized(
        {
            "data": [
                {
                    "type": "bar",
                    "x": bt.per_day["day"],
                    "y": bt.per_day["alerts"],
                    "name": t("m.alerts"),
                }
            ],
            "layout": {
                "title": {"text": t("tun.day.title", capacity=capacity)},
                "xaxis": axis(t("ax.day", tz="UTC"), **day_axis(bt.per_day["day"])),
                "yaxis": axis(t("m.alerts"), **count_axis(top)),
                "shapes": [_line(y=capacity, colour=OKABE_ITO[5])],
                "annotations": [_note(t("tun.cap"), y=capacity)],
            },
        }
    )


def scenario_chart(bt: tuning.Backtest) -> dict:
    sc = bt.scenarios
    return localized(
        {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "x": sc["recall"],
                    "y": [html.escape(t(f"sc.{s}")) for s in sc["scenario"]],
                    "customdata": list(
                        zip(sc["payments"], sc["caught"], percents(sc["recall"]), strict=True)
                    ),
                    "hovertemplate": "%{customdata[2]} (%{customdata[1]}/%{customdata[0]})"
                    "<extra></extra>",
                }
            ],
            "layout": {
                "title": {"text": t("tun.sc.title")},
                "xaxis": {"title": {"text": t("m.recall")}, "range": [0, 1], **share_axis()},
                "yaxis": {"title": {"text": t("ax.scenario")}},
                "margin": SHARE_X_MARGIN,
            },
        }
    )


# --------------------------------------------------------------------------- dataset studio


def per_day_chart(per_day: pd.DataFrame) -> Figure:
    """Payments per day (bars) and frauds per day (line, right axis)."""
    top = float(per_day["payments"].max()) if len(per_day) else 0.0
    frauds = float(per_day["frauds"].max()) if len(per_day) else 0.0
    return localized(
        {
            "data": [
                {
                    "type": "bar",
                    "x": per_day["day"],
                    "y": per_day["payments"],
                    "name": t("st.payments"),
                    "marker": {"color": OKABE_ITO[1]},
                },
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "x": per_day["day"],
                    "y": per_day["frauds"],
                    "name": t("st.frauds"),
                    "yaxis": "y2",
                    "line": {"color": OKABE_ITO[5]},
                },
            ],
            "layout": {
                "title": {"text": t("st.per_day.title")},
                "xaxis": axis(t("ax.day", tz="UTC"), **day_axis(per_day["day"])),
                "yaxis": axis(t("st.payments"), **count_axis(top)),
                "yaxis2": axis(
                    t("st.frauds"),
                    overlaying="y",
                    side="right",
                    showgrid=False,
                    **count_axis(frauds),
                ),
                "legend": {"orientation": "h", "y": -0.25},
            },
        }
    )


def fraud_scenarios_chart(by_scenario: pd.DataFrame) -> Figure:
    # Scenario names come from the file; Plotly renders some HTML (links) in
    # labels, and decodes entities back to text: escaped, they show as written.
    sc = by_scenario.assign(label=lambda f: f["scenario"].map(lambda s: html.escape(t(f"sc.{s}"))))
    return localized(
        {
            "data": [
                {
                    "type": "bar",
                    "x": sc["label"],
                    "y": sc["payments"],
                    "customdata": sc["incidents"],
                    "marker": {"color": OKABE_ITO[5]},
                    "hovertemplate": "%{x}: %{y} (%{customdata} incidents)<extra></extra>",
                }
            ],
            "layout": {
                "title": {"text": t("st.by_scenario.title")},
                "xaxis": {"title": {"text": t("ax.scenario")}},
                "yaxis": axis(t("st.frauds"), **count_axis(float(sc["payments"].max() or 0))),
            },
        }
    )


# --------------------------------------------------------------------------- pipeline


def throughput_chart(points: list[tuple[Any, float]]) -> alt.Chart:
    """Events per second over time, from :func:`desk.pipeline.throughput`."""
    frame = pd.DataFrame(points, columns=["time", "events_per_s"])
    return (
        alt.Chart(frame)
        .mark_area(line=True, opacity=0.35)
        .encode(
            x=alt.X("time:T", title=None),
            # whole events per second, never "0.000000"
            y=alt.Y(
                "events_per_s:Q",
                title=t("sidebar.events_s"),
                axis=alt.Axis(format=",.0f", tickMinStep=1),
            ),
            tooltip=["time:T", alt.Tooltip("events_per_s:Q", format=",.0f")],
        )
        .properties(height=220)
    )
