"""Rule tuning: edit points, parameters and thresholds, see the backtest at once, publish."""

from __future__ import annotations

import html
import time

import pandas as pd
import streamlit as st

from desk import (
    DatabaseError,
    DataGenError,
    HitMatrix,
    Objective,
    Permission,
    Refused,
    RuleSet,
    i18n_pages,
    studio,
    tuning,
)
from pages._ui import current_user, inert, lang, refused, require, runtime, sidebar

HISTORY_SHOWN = 20
DEFAULT_CAPACITY = 50
FLASH_S = 15.0

sidebar()
require(Permission.TUNE)
L = lang()
state = st.session_state


def flash(message: str) -> None:
    """A confirmation shown at the top of the next runs for a few seconds: a plain pop-once
    message would be lost to any extra rerun (a fragment's timer, a second click)."""
    state.tun_flash = (message, time.monotonic())


def show_flash() -> None:
    got = state.get("tun_flash")
    if got is None:
        return
    if time.monotonic() - got[1] < FLASH_S:
        st.success(got[0])
    else:
        del state["tun_flash"]


def T(key: str, **fmt: object) -> str:
    return i18n_pages.text(key, L, **fmt)


@st.cache_resource(max_entries=2, show_spinner=False)
def loaded(path: str, stamp: str) -> tuning.LoadedDataset:
    """The dataset and its engine-ordered events, read once per (path, file stamp)."""
    return tuning.load_dataset_events(path)


@st.cache_resource(max_entries=8, show_spinner=False)
def matrix(path: str, stamp: str, fingerprint: str, _ruleset: RuleSet) -> HitMatrix:
    """The hit matrix: depends on the rule parameters only (``fingerprint``), so a change of
    points or thresholds reuses it and only re-scores."""
    return tuning.build_matrix(loaded(path, stamp), _ruleset)


@st.cache_resource(max_entries=8, show_spinner=False)
def reference(
    path: str, stamp: str, fingerprint: str, capacity: int, _hm: HitMatrix, _ruleset: RuleSet
) -> tuning.Backtest:
    """The active rule set's backtest: the same until the dataset, the active version's
    content (``fingerprint``) or the capacity changes, so an edit only evaluates the draft."""
    return tuning.backtest(_hm, _ruleset, capacity)


def reset_editor(base: RuleSet, note: str, message: str | None = None) -> None:
    state.tun_base = base
    state.tun_base_note = note
    state.tun_gen = state.get("tun_gen", 0) + 1
    state.pop("tun_suggestion", None)  # it was fitted from the previous editor content
    if message:
        flash(message)


def pct(x: float) -> str:
    return f"{x:.1%}"


# --------------------------------------------------------------------------- setup
st.title(T("tun.title"))
rt = runtime()
root = studio.datasets_root(rt.settings.data_dir)
datasets = studio.list_datasets(root)
if not datasets:
    st.info(T("tun.no_dataset"))
    st.stop()

top = st.columns([3, 1])
name = top[0].selectbox(
    T("tun.dataset"), [d.name for d in datasets], key="tun_dataset", help=T("tun.dataset_help")
)
capacity = int(
    top[1].number_input(
        T("tun.capacity"),
        min_value=1,
        max_value=1_000_000,
        value=DEFAULT_CAPACITY,
        step=5,
        key="tun_capacity",
        help=T("tun.capacity_help"),
    )
)
path = root / name
stamp = tuning.dataset_stamp(path)
try:
    with st.spinner(T("tun.reading")):
        loaded(str(path), stamp)  # read once here, under a spinner
except DataGenError as exc:
    st.error(T("tun.bad_dataset", error=inert(exc)))
    st.stop()

try:
    active_version, active = tuning.current(rt.sessions)
except DatabaseError as exc:
    st.error(T("db_error"))
    st.code(str(exc).splitlines()[0], language=None, wrap_lines=True)
    st.stop()
if "tun_base" not in state:
    reset_editor(active, T("tun.base_active", v=active_version))
show_flash()
gen = state.tun_gen

# --------------------------------------------------------------------------- editor
st.header(T("tun.sec.editor"))
st.caption(f"{T('tun.editor_help')} · {state.tun_base_note}")
base: RuleSet = state.tun_base
edited = st.data_editor(
    tuning.editor_frame(base, L),
    key=f"tun_editor_{gen}",
    hide_index=True,
    num_rows="fixed",
    width="stretch",
    height=35 * (len(tuning.RULE_DEFS) + 1) + 3,  # every rule visible, no inner scroll
    disabled=["rule_id", "label", "param1", "param2"],
    column_config={
        "rule_id": None,  # the label says which rule; the id stays in the returned frame
        "label": st.column_config.TextColumn(T("col.rule"), width="medium"),
        "enabled": st.column_config.CheckboxColumn(T("col.enabled")),
        "points": st.column_config.NumberColumn(T("col.points"), step=1, format="%d"),
        "param1": st.column_config.TextColumn(T("col.param"), width="medium"),
        "value1": st.column_config.NumberColumn(T("col.value")),
        "param2": st.column_config.TextColumn(T("col.param"), width="medium"),
        "value2": st.column_config.NumberColumn(T("col.value")),
    },
)
c = st.columns([1, 1, 1])
alert_t = c[0].number_input(
    T("field.alert_threshold"), value=int(base.alert_threshold), step=1, key=f"tun_alert_{gen}"
)
high_t = c[1].number_input(
    T("field.high_threshold"), value=int(base.high_threshold), step=1, key=f"tun_high_{gen}"
)
c[2].write("")
if c[2].button(T("tun.reset"), key="tun_reset", help=T("tun.reset_help")):
    reset_editor(active, T("tun.base_active", v=active_version))
    st.rerun()

try:
    draft: RuleSet | None = tuning.ruleset_from_editor(edited, alert_t, high_t, L)
except tuning.EditorError as exc:
    draft = None
    lines = "\n".join(f"- **{inert(p.where)}**: {inert(p.message)}" for p in exc.problems)
    st.error(f"{T('tun.invalid')}\n\n{lines}", icon=":material/error:")


# --------------------------------------------------------------------------- backtest
def metrics_row(bt: tuning.Backtest, ref: tuning.Backtest) -> None:
    m, r = bt.metrics, ref.metrics
    cols = st.columns(6)
    if m is not None and r is not None:
        cols[0].metric(T("m.precision"), pct(m.precision), f"{(m.precision - r.precision):+.1%}")
        cols[1].metric(T("m.recall"), pct(m.recall), f"{(m.recall - r.recall):+.1%}")
        cols[2].metric(
            T("m.alert_rate"),
            pct(m.alert_rate),
            f"{(m.alert_rate - r.alert_rate):+.1%}",
            delta_color="inverse",
        )
        cols[3].metric(
            T("m.auc_pr"),
            f"{m.average_precision:.3f}",
            f"{m.average_precision - r.average_precision:+.3f}",
            help=T("m.auc_pr_help"),
        )
        cols[5].metric(
            T("m.incident_recall"),
            pct(m.incident_recall),
            f"{(m.incident_recall - r.incident_recall):+.1%}",
        )
    else:
        cols[0].metric(T("m.alerts"), f"{bt.alerts:,}", f"{bt.alerts - ref.alerts:+,}")
        cols[1].metric(T("m.alert_rate"), pct(bt.alert_rate), delta_color="inverse")
    cols[4].metric(
        T("m.per_day"),
        f"{bt.alerts_per_day:,.1f}",
        f"{bt.alerts_per_day - ref.alerts_per_day:+,.1f}",
        delta_color="inverse",
        help=T("m.per_day_help", capacity=capacity, over=bt.days_over_capacity),
    )


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


def pr_chart(bt: tuning.Backtest, ref: tuning.Backtest) -> dict:
    data: list[dict] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": bt.pr["recall"],
            "y": bt.pr["precision"],
            "name": T("tun.draft"),
        },
        {
            "type": "scatter",
            "mode": "lines",
            "x": ref.pr["recall"],
            "y": ref.pr["precision"],
            "name": T("tun.active"),
            "line": {"dash": "dot"},
        },
    ]
    for b, label, symbol in ((bt, T("tun.draft"), "circle"), (ref, T("tun.active"), "x")):
        assert b.metrics is not None
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [b.metrics.recall],
                "y": [b.metrics.precision],
                "marker": {"size": 12, "symbol": symbol},
                "name": T("tun.operating_point", who=label, t=int(b.metrics.threshold)),
            }
        )
    axis = {"range": [0, 1.02], "tickformat": ".0%"}
    return {
        "data": data,
        "layout": {
            "title": {"text": T("tun.pr.title")},
            "xaxis": {**axis, "title": {"text": T("m.recall")}},
            "yaxis": {**axis, "title": {"text": T("m.precision")}},
            "legend": {"orientation": "h", "y": -0.2},
        },
    }


def threshold_chart(bt: tuning.Backtest, threshold: int) -> dict:
    th = bt.thresholds
    return {
        "data": [
            {"type": "scatter", "x": th["threshold"], "y": th[k], "name": T(f"m.{k}")}
            for k in ("precision", "recall", "alert_rate")
        ],
        "layout": {
            "title": {"text": T("tun.thr.title")},
            "xaxis": {"title": {"text": T("ax.score_threshold")}},
            "yaxis": {"title": {"text": T("ax.share")}, "tickformat": ".0%"},
            "legend": {"orientation": "h", "y": -0.2},
            "shapes": [_line(x=threshold)],
            "annotations": [_note(T("tun.current_threshold"), x=threshold)],
        },
    }


def day_chart(bt: tuning.Backtest) -> dict:
    return {
        "data": [
            {
                "type": "bar",
                "x": bt.per_day["day"],
                "y": bt.per_day["alerts"],
                "name": T("ax.alerts"),
            }
        ],
        "layout": {
            "title": {"text": T("tun.day.title", capacity=capacity)},
            "xaxis": {"title": {"text": T("ax.day", tz="UTC")}},
            "yaxis": {"title": {"text": T("ax.alerts")}},
            "shapes": [_line(y=capacity, colour="red")],
            "annotations": [_note(T("tun.cap"), y=capacity)],
        },
    }


def scenario_chart(bt: tuning.Backtest) -> dict:
    sc = bt.scenarios
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": sc["recall"],
                "y": [html.escape(T(f"sc.{s}")) for s in sc["scenario"]],
                "customdata": sc[["payments", "caught"]].to_numpy(),
                "hovertemplate": "%{x:.0%} (%{customdata[1]}/%{customdata[0]})<extra></extra>",
            }
        ],
        "layout": {
            "title": {"text": T("tun.sc.title")},
            "xaxis": {"title": {"text": T("m.recall")}, "range": [0, 1], "tickformat": ".0%"},
            "yaxis": {"title": {"text": T("ax.scenario")}},
        },
    }


def workbench(draft: RuleSet) -> None:
    with st.spinner(T("tun.building")):
        hm = matrix(str(path), stamp, tuning.matrix_key(draft), draft)
        hm_active = matrix(str(path), stamp, tuning.matrix_key(active), active)
    bt = tuning.backtest(hm, draft, capacity)
    ref = reference(str(path), stamp, active.fingerprint(), capacity, hm_active, active)

    st.header(T("tun.sec.backtest"))
    st.caption(T("tun.backtest_help", n=f"{hm.n:,}", v=active_version))
    metrics_row(bt, ref)
    if bt.metrics is None:
        st.info(T("tun.unlabelled"))
    else:
        left, right = st.columns(2)
        left.plotly_chart(pr_chart(bt, ref), width="stretch", key="tun_pr")
        right.plotly_chart(
            threshold_chart(bt, draft.alert_threshold), width="stretch", key="tun_thr"
        )
    st.plotly_chart(day_chart(bt), width="stretch", key="tun_day")

    left, right = st.columns([3, 2])
    with left:
        st.subheader(T("tun.rules.title"))
        rules = bt.rules.copy()
        rules.insert(1, "label", [tuning.rule_label(r, L) for r in tuning.RULE_DEFS])
        config = {
            "rule_id": None,
            "label": T("col.rule"),
            "points": T("col.points"),
            "hits": st.column_config.NumberColumn(T("tun.rules.hits"), help=T("tun.rules.hits_h")),
            "in_alerts": st.column_config.NumberColumn(T("tun.rules.in_alerts")),
            "decisive": st.column_config.ProgressColumn(
                T("tun.rules.decisive"),
                help=T("tun.rules.decisive_h"),
                format="%d",
                min_value=0,
                max_value=max(int(rules["decisive"].max()), 1),
            ),
        }
        if "precision" in rules:
            config["precision"] = st.column_config.NumberColumn(T("m.precision"), format="percent")
            config["recall"] = st.column_config.NumberColumn(T("m.recall"), format="percent")
        st.dataframe(
            rules,
            hide_index=True,
            column_config=config,
            key="tun_rules",
            height=35 * (len(rules) + 1) + 3,
        )
    with right:
        if not bt.scenarios.empty:
            st.plotly_chart(scenario_chart(bt), width="stretch", key="tun_sc")

    compare_section(hm, draft, hm_active)
    suggest_section(hm, draft)
    publish_section(draft)


def compare_section(hm: HitMatrix, draft: RuleSet, hm_active: HitMatrix) -> None:
    st.header(T("tun.sec.compare", v=active_version))
    cmp = tuning.compare(hm, draft, hm_active, active)
    c = st.columns(2)
    c[0].metric(T("tun.cmp.new"), f"{cmp.new_alerts:,}", help=T("tun.cmp.frauds", n=cmp.new_frauds))
    c[1].metric(
        T("tun.cmp.dropped"), f"{cmp.dropped:,}", help=T("tun.cmp.frauds", n=cmp.dropped_frauds)
    )
    if cmp.examples.empty:
        st.caption(T("tun.cmp.same"))
        return
    ex = cmp.examples.assign(change=lambda f: f["change"].map(lambda v: T(f"tun.cmp.{v}_label")))
    st.dataframe(
        ex,
        hide_index=True,
        key="tun_cmp",
        column_config={
            "change": T("tun.cmp.change"),
            "payment_id": T("col.payment"),
            "customer_id": T("col.customer"),
            "time": st.column_config.DatetimeColumn(T("col.time"), format="YYYY-MM-DD HH:mm"),
            "amount": st.column_config.NumberColumn(T("col.amount"), format="%.2f €"),
            "score_active": T("tun.cmp.score_active"),
            "score_draft": T("tun.cmp.score_draft"),
            "is_fraud": T("col.is_fraud"),
            "scenario": T("ax.scenario"),
        },
    )


def suggest_section(hm: HitMatrix, draft: RuleSet) -> None:
    st.header(T("tun.sec.suggest"))
    st.caption(T("tun.suggest_help"))
    if hm.labels is None:
        st.info(T("tun.unlabelled"))
        return
    c = st.columns(3)
    kind = c[0].selectbox(
        T("tun.objective"),
        ["recall_at_budget", "f1", "precision_at_recall"],
        format_func=lambda k: T(f"obj.{k}"),
        key="tun_objective",
    )
    budget = c[1].slider(
        T("tun.budget"),
        0.005,
        0.5,
        0.05,
        0.005,
        format="%.3f",
        key="tun_budget",
        disabled=kind != "recall_at_budget",
        help=T("tun.budget_help"),
    )
    min_recall = c[2].slider(
        T("tun.min_recall"),
        0.05,
        1.0,
        0.7,
        0.05,
        key="tun_min_recall",
        disabled=kind != "precision_at_recall",
    )
    if st.button(T("tun.suggest"), key="tun_suggest", icon=":material/auto_fix_high:"):
        objective = Objective(
            kind,
            budget=budget if kind == "recall_at_budget" else None,
            min_recall=min_recall if kind == "precision_at_recall" else None,
        )
        with st.spinner(T("tun.suggesting")):
            if tuning.judged_on_own_labels(loaded(str(path), stamp).dataset):
                report = tuning.suggest_own(hm, draft, objective, capacity)
            else:
                try:
                    hold = tuning.ensure_holdout(loaded(str(path), stamp), rt.settings.data_dir)
                    hold_stamp = tuning.dataset_stamp(hold)
                    hm_hold = matrix(str(hold), hold_stamp, tuning.matrix_key(draft), draft)
                except DataGenError as exc:
                    st.error(T("tun.holdout_failed", error=inert(exc)))
                    return
                report = tuning.suggest(hm, hm_hold, hold.name, draft, objective, capacity)
        state.tun_suggestion = (str(path), report)
    got = state.get("tun_suggestion")
    if got is None or got[0] != str(path):
        return
    report = got[1]
    st.success(
        T("tun.suggested", obj=T(f"obj.{report.objective.kind}"), h=inert(report.holdout_path))
    )
    left, right = st.columns(2)
    points = tuning.suggestion_points(report, L)
    left.dataframe(
        points,
        hide_index=True,
        height=35 * (len(points) + 1) + 3,
        key="tun_sug_points",
        column_config={"what": "", "before": T("tun.before"), "after": T("tun.after")},
    )
    hold = tuning.suggestion_holdout(report)
    hold["metric"] = hold["metric"].map(lambda k: T(f"m.{k}"))
    right.dataframe(
        hold,
        hide_index=True,
        key="tun_sug_holdout",
        column_config={
            "metric": T("tun.holdout_metric"),
            "before": st.column_config.NumberColumn(T("tun.before"), format="percent"),
            "after": st.column_config.NumberColumn(T("tun.after"), format="percent"),
        },
    )
    spread = tuning.validation_spread(report, L)
    if spread is not None:
        assert report.validation is not None
        st.caption(T("tun.cv_title", k=len(report.validation.folds)))
        st.dataframe(spread, hide_index=True, key="tun_sug_cv")
    for warning in report.validation.warnings if report.validation else ():
        st.warning(warning)
    if st.button(T("tun.apply"), key="tun_apply", icon=":material/input:"):
        reset_editor(report.suggested, T("tun.base_suggested"), T("tun.applied"))
        st.rerun()


def publish_section(draft: RuleSet) -> None:
    st.header(T("tun.sec.publish"))
    unchanged = draft.fingerprint() == active.fingerprint()
    note = st.text_input(T("tun.note"), key="tun_note", max_chars=500)
    if unchanged:
        st.caption(T("tun.unchanged", v=active_version))
    if st.button(
        T("tun.publish"),
        key="tun_publish",
        type="primary",
        disabled=unchanged,
        icon=":material/publish:",
    ):
        try:
            version = tuning.publish(rt.sessions, draft, current_user(), note)
        except Refused as exc:
            refused(exc)
            return
        reset_editor(
            RuleSet.from_dict(draft.to_dict(), version=str(version)),
            T("tun.base_active", v=version),
            T("tun.published", v=version),
        )
        st.rerun()


if draft is not None:
    workbench(draft)
else:
    st.info(T("tun.fix_first"))

# --------------------------------------------------------------------------- history
st.header(T("tun.sec.history"))
with rt.sessions() as session:
    n_versions = tuning.version_count(session)
    n_pages = max(1, -(-n_versions // HISTORY_SHOWN))
    st.caption(T("tun.history_count", n=n_versions))
    hist_page = (
        int(st.number_input(T("tun.history_page", pages=n_pages), 1, n_pages, key="tun_hist"))
        if n_pages > 1
        else 1
    )
    entries = tuning.history(
        session, L, limit=HISTORY_SHOWN, offset=(hist_page - 1) * HISTORY_SHOWN
    )
for entry in entries:
    info = entry.info
    when = info.created_at.strftime("%Y-%m-%d %H:%M UTC")
    title = T(
        "tun.version",
        v=info.version,
        label=inert(info.label),
        author=inert(info.author),
        when=when,
    )
    if info.active:
        title += f" · {T('tun.is_active')}"
    with st.expander(title, expanded=info.active):
        if info.note:
            st.text(info.note)
        changes = pd.DataFrame(
            [(c.what, c.before, c.after) for c in entry.changes],
            columns=[T("tun.what"), T("tun.before"), T("tun.after")],
        )
        if changes.empty:
            st.caption(T("tun.no_change"))
        else:
            st.dataframe(changes, hide_index=True, key=f"tun_diff_{info.version}")
        if not info.active and st.button(
            T("tun.rollback", v=info.version),
            key=f"tun_rollback_{info.version}",
            icon=":material/undo:",
        ):
            try:
                new = tuning.rollback(
                    rt.sessions, info.version, current_user(), T("tun.rollback_note")
                )
            except Refused as exc:
                refused(exc)
                st.stop()
            _, rs = tuning.current(rt.sessions)
            reset_editor(
                rs, T("tun.base_active", v=new), T("tun.rolled_back", v=info.version, new=new)
            )
            st.rerun()
