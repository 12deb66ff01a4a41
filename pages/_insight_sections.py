"""The insights page's sections: each chart with the CSV of exactly the data it draws.

The page script (``pages/2_insights.py``) reads the aggregates and the headline figures and
calls these in order.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from desk import insights as svc
from pages._charts import Figure, axis, bars, localized, percents, share_axis, share_hover
from pages._ui import SEVERITY_COLOURS, STATUS_COLOURS, rule_label, severity_label, share, t


def show(fig: Figure, data: pd.DataFrame, name: str) -> None:
    """A chart and, under it, the CSV of exactly the data it draws."""
    fig["layout"]["margin"] = {"l": 10, "r": 10, "t": 50, "b": 10}
    localized(fig)
    st.plotly_chart(fig, width="stretch", key=f"chart_{name}")
    st.download_button(
        t("csv"),
        data=svc.to_csv(data),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv_{name}",
        icon=":material/download:",
        on_click="ignore",
    )


def with_rule_labels(frame: pd.DataFrame, column: str = "rule_id") -> pd.DataFrame:
    out = frame.copy()
    out.insert(out.columns.get_loc(column) + 1, "rule", out[column].map(rule_label))
    return out


def _sev_colours() -> dict[str, str]:
    """Severity colours keyed by the severity's label in the session's language."""
    return {severity_label(k): v for k, v in SEVERITY_COLOURS.items()}


def _action_colours() -> dict[str, str]:
    """Each decision in the colour of the status it leads to (the queue's colours)."""
    status = {"APPROVE": "APPROVED", "BLOCK": "BLOCKED", "INVESTIGATE": "INVESTIGATING"}
    return {t(key): STATUS_COLOURS[status[act]] for act, key in svc.ACTION_LABELS.items()}


def reasons_section(data: svc.Insights) -> None:
    """Which rules fire, how severe the alerts are, and which rules fire together."""
    st.header(t("ins.sec.reasons"))
    left, right = st.columns([3, 2])
    with left:
        reasons = with_rule_labels(data.reasons).sort_values("alerts")
        fig = bars(
            reasons,
            "rule",
            "alerts",
            horizontal=True,
            title=t("ins.reasons.title"),
            x_title=t("ax.rule"),
            y_title=t("m.alerts"),
        )
        show(fig, reasons, "reasons")
    with right:
        sev = data.severity.assign(label=lambda f: f["severity"].map(severity_label))
        total = float(sev["alerts"].sum())
        # Each slice's share as text: Plotly's own percent writes "33,3%" in French.
        slices = percents(sev["alerts"] / total if total else sev["alerts"] * 0.0, 1)
        fig = {
            "data": [
                {
                    "type": "pie",
                    "labels": sev["label"],
                    "values": sev["alerts"],
                    "customdata": slices,
                    "texttemplate": "%{customdata}",
                    "hovertemplate": "%{label}<br>%{value:,d} (%{customdata})<extra></extra>",
                    "hole": 0.45,
                    "sort": False,
                    "marker": {"colors": [SEVERITY_COLOURS.get(s) for s in sev["severity"]]},
                }
            ],
            "layout": {
                "title": {"text": t("ins.severity.title")},
                "legend": {"title": {"text": t("ax.severity")}},
            },
        }
        show(fig, sev, "severity")

    co = data.cooccurrence.assign(
        rule_a_label=lambda f: f["rule_a"].map(rule_label),
        rule_b_label=lambda f: f["rule_b"].map(rule_label),
    )
    order = [rule_label(r) for r in data.reasons["rule_id"]]
    matrix = co.pivot(index="rule_a_label", columns="rule_b_label", values="alerts").reindex(
        index=order, columns=order
    )
    fig = {
        "data": [
            {
                "type": "heatmap",
                "z": matrix.values,
                "x": order,
                "y": order,
                "colorscale": "Blues",
                "text": matrix.values,
                "texttemplate": "%{text}",
                "colorbar": {"title": {"text": t("ax.alerts_both")}},
                "hovertemplate": "%{y} + %{x}: %{z}<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": t("ins.cooc.title")},
            "height": 620,
            "xaxis": axis(t("ax.rule"), tickangle=-30),
            "yaxis": axis(t("ax.rule"), autorange="reversed"),
        },
    }
    show(fig, co, "reason_cooccurrence")


def time_section(data: svc.Insights, tz: str) -> None:
    """Alerts per local hour of the day and per local day, by severity."""
    st.header(t("ins.sec.time"))
    left, right = st.columns(2)
    with left:
        fig = bars(
            data.by_hour,
            "hour",
            "alerts",
            title=t("ins.hour.title"),
            x_title=t("ax.hour", tz=tz),
            y_title=t("m.alerts"),
        )
        fig["layout"]["xaxis"].update(tickmode="linear", tick0=0, dtick=2)
        show(fig, data.by_hour, "alerts_by_hour")
    with right:
        by_day = data.by_day.assign(label=lambda f: f["severity"].map(severity_label))
        fig = bars(
            by_day,
            "day",
            "alerts",
            color="label",
            colours=_sev_colours(),
            legend_title=t("ax.severity"),
            title=t("ins.day.title"),
            x_title=t("ax.day", tz=tz),
            y_title=t("m.alerts"),
            days=True,
        )
        show(fig, by_day, "alerts_by_day")


def breakdown_section(data: svc.Insights) -> None:
    """Alerts per country, device, campaign and payment method."""
    st.header(t("ins.sec.breakdown"))
    cols = st.columns(2)
    for i, dim in enumerate(svc.DIMENSIONS):
        frame = data.breakdowns[dim].copy()
        frame["value"] = frame["value"].replace(svc.UNKNOWN, t("unknown"))
        with cols[i % 2]:
            if frame.empty:  # the method of payments not loaded is not known here
                st.subheader(t(f"ins.by.{dim}"))
                st.info(t("ins.method_unknown"))
                continue
            fig = bars(
                frame.head(15),
                "value",
                "alerts",
                title=t(f"ins.by.{dim}"),
                x_title=t(f"ax.{dim}"),
                y_title=t("m.alerts"),
            )
            show(fig, frame, f"alerts_by_{dim}")


def decisions_section(data: svc.Insights, tz: str) -> None:
    """The analysts' decisions per day, and each analyst's workload."""
    st.header(t("ins.sec.decisions"))
    if data.decisions_by_day.empty:
        st.info(t("ins.no_decisions"))
    else:
        dec = data.decisions_by_day.assign(
            label=lambda f: f["action"].map(lambda a: t(svc.ACTION_LABELS.get(str(a), str(a))))
        )
        fig = bars(
            dec,
            "day",
            "decisions",
            color="label",
            colours=_action_colours(),
            legend_title=t("ax.action"),
            title=t("ins.decisions.title"),
            x_title=t("ax.day", tz=tz),
            y_title=t("ax.decisions"),
            days=True,
        )
        show(fig, dec, "decisions_by_day")
        fig = bars(
            data.workload,
            "day",
            "decisions",
            color="analyst",
            barmode="group",
            legend_title=t("ax.analyst"),
            title=t("ins.workload.title"),
            x_title=t("ax.day", tz=tz),
            y_title=t("ax.decisions"),
            days=True,
        )
        show(fig, data.workload, "analyst_workload")


def precision_section(data: svc.Insights) -> None:
    """Per rule: how often its alerts were confirmed, by decisions and by labels."""
    st.header(t("ins.sec.precision"))
    st.caption(t("ins.precision.help"))
    prec = with_rule_labels(data.rule_precision)
    long = prec.melt(
        id_vars=["rule"],
        value_vars=["decision_precision", "label_precision"],
        var_name="source",
        value_name="precision",
    ).dropna(subset=["precision"])
    long["source"] = long["source"].map(lambda s: t(f"ins.precision.{s}"))
    if long.empty:  # no decided alert and no label yet: nothing to measure a precision on
        st.info(t("ins.precision.none"))
        return
    fig = bars(
        long,
        "rule",
        "precision",
        color="source",
        barmode="group",
        legend_title=t("ax.source"),
        title=t("ins.precision.title"),
        x_title=t("ax.rule"),
        y_title=t("m.precision"),
        counts=False,
    )
    fig["layout"]["yaxis"].update(range=[0, 1], **share_axis())
    for trace in fig["data"]:  # each bar's precision in the hover, written as the axis is
        trace["customdata"] = percents(trace["y"], 1)
        trace["hovertemplate"] = share_hover(t("m.precision"), "%{x} · %{fullData.name}")
    show(fig, prec, "rule_precision")
    shares = {c: prec[c].map(share) for c in ("decision_precision", "label_precision")}
    st.dataframe(
        prec.assign(**shares),
        hide_index=True,
        placeholder="",
        height=35 * (len(prec) + 1) + 3,
        column_config={
            "rule_id": None,
            "rule": t("ax.rule"),
            "alerts": t("m.alerts"),
            "blocked": t("ins.col.blocked"),
            "approved": t("ins.col.approved"),
            "decision_precision": st.column_config.TextColumn(
                t("ins.precision.decision_precision"), alignment="right"
            ),
            "labelled": t("ins.col.labelled"),
            "frauds": t("ins.col.frauds"),
            "label_precision": st.column_config.TextColumn(
                t("ins.precision.label_precision"), alignment="right"
            ),
        },
    )
