"""Rule tuning: edit points, parameters and thresholds, see the backtest at once, publish."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from desk import (
    OBJECTIVES,
    DatabaseError,
    DataGenError,
    HitMatrix,
    Objective,
    Permission,
    Refused,
    RuleSet,
    studio,
    tuning,
)
from pages._charts import day_chart, pr_chart, scenario_chart, threshold_chart
from pages._ui import current_user, inert, lang, refused, require, runtime, sidebar, t

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
st.title(t("nav.tuning"))
rt = runtime()
root = studio.datasets_root(rt.settings.data_dir)
datasets = studio.list_datasets(root)
if not datasets:
    st.info(t("tun.no_dataset"))
    st.stop()

top = st.columns([3, 1])
name = top[0].selectbox(
    t("tun.dataset"), [d.name for d in datasets], key="tun_dataset", help=t("tun.dataset_help")
)
capacity = int(
    top[1].number_input(
        t("tun.capacity"),
        min_value=1,
        max_value=1_000_000,
        value=DEFAULT_CAPACITY,
        step=5,
        key="tun_capacity",
        help=t("tun.capacity_help"),
    )
)
path = root / name
stamp = tuning.dataset_stamp(path)
try:
    with st.spinner(t("tun.reading")):
        loaded(str(path), stamp)  # read once here, under a spinner
except DataGenError as exc:
    st.error(t("tun.bad_dataset", error=inert(exc)))
    st.stop()

try:
    active_version, active = tuning.current(rt.sessions)
except DatabaseError as exc:
    st.error(t("db_error"))
    st.code(str(exc).splitlines()[0], language=None, wrap_lines=True)
    st.stop()
if "tun_base" not in state:
    reset_editor(active, t("tun.base_active", v=active_version))
show_flash()
gen = state.tun_gen

# --------------------------------------------------------------------------- editor
st.header(t("tun.sec.editor"))
st.caption(f"{t('tun.editor_help')} · {state.tun_base_note}")
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
        "label": st.column_config.TextColumn(t("ax.rule"), width="medium"),
        "enabled": st.column_config.CheckboxColumn(t("col.enabled")),
        "points": st.column_config.NumberColumn(t("queue.points"), step=1, format="%d"),
        "param1": st.column_config.TextColumn(t("col.param"), width="medium"),
        "value1": st.column_config.NumberColumn(t("value")),
        "param2": st.column_config.TextColumn(t("col.param"), width="medium"),
        "value2": st.column_config.NumberColumn(t("value")),
    },
)
c = st.columns([1, 1, 1])
alert_t = c[0].number_input(
    t("field.alert_threshold"), value=int(base.alert_threshold), step=1, key=f"tun_alert_{gen}"
)
high_t = c[1].number_input(
    t("field.high_threshold"), value=int(base.high_threshold), step=1, key=f"tun_high_{gen}"
)
c[2].write("")
if c[2].button(t("tun.reset"), key="tun_reset", help=t("tun.reset_help")):
    reset_editor(active, t("tun.base_active", v=active_version))
    st.rerun()

try:
    draft: RuleSet | None = tuning.ruleset_from_editor(edited, alert_t, high_t, L)
except tuning.EditorError as exc:
    draft = None
    lines = "\n".join(f"- **{inert(p.where)}**: {inert(p.message)}" for p in exc.problems)
    st.error(f"{t('tun.invalid')}\n\n{lines}", icon=":material/error:")


# --------------------------------------------------------------------------- backtest
def metrics_row(bt: tuning.Backtest, ref: tuning.Backtest) -> None:
    m, r = bt.metrics, ref.metrics
    cols = st.columns(6)
    if m is not None and r is not None:
        cols[0].metric(t("m.precision"), pct(m.precision), f"{(m.precision - r.precision):+.1%}")
        cols[1].metric(t("m.recall"), pct(m.recall), f"{(m.recall - r.recall):+.1%}")
        cols[2].metric(
            t("m.alert_rate"),
            pct(m.alert_rate),
            f"{(m.alert_rate - r.alert_rate):+.1%}",
            delta_color="inverse",
        )
        cols[3].metric(
            t("m.average_precision"),
            f"{m.average_precision:.3f}",
            f"{m.average_precision - r.average_precision:+.3f}",
            help=t("m.auc_pr_help"),
        )
        cols[5].metric(
            t("m.incident_recall"),
            pct(m.incident_recall),
            f"{(m.incident_recall - r.incident_recall):+.1%}",
        )
    else:
        cols[0].metric(t("m.alerts"), f"{bt.alerts:,}", f"{bt.alerts - ref.alerts:+,}")
        cols[1].metric(t("m.alert_rate"), pct(bt.alert_rate), delta_color="inverse")
    cols[4].metric(
        t("m.per_day"),
        f"{bt.alerts_per_day:,.1f}",
        f"{bt.alerts_per_day - ref.alerts_per_day:+,.1f}",
        delta_color="inverse",
        help=t("m.per_day_help", capacity=capacity, over=bt.days_over_capacity),
    )


def workbench(draft: RuleSet) -> None:
    with st.spinner(t("tun.building")):
        hm = matrix(str(path), stamp, tuning.matrix_key(draft), draft)
        hm_active = matrix(str(path), stamp, tuning.matrix_key(active), active)
    bt = tuning.backtest(hm, draft, capacity)
    ref = reference(str(path), stamp, active.fingerprint(), capacity, hm_active, active)

    st.header(t("tun.sec.backtest"))
    st.caption(t("tun.backtest_help", n=f"{hm.n:,}", v=active_version))
    metrics_row(bt, ref)
    if bt.metrics is None:
        st.info(t("tun.unlabelled"))
    else:
        left, right = st.columns(2)
        left.plotly_chart(pr_chart(bt, ref), width="stretch", key="tun_pr")
        right.plotly_chart(
            threshold_chart(bt, draft.alert_threshold), width="stretch", key="tun_thr"
        )
    st.plotly_chart(day_chart(bt, capacity), width="stretch", key="tun_day")

    left, right = st.columns([3, 2])
    with left:
        st.subheader(t("tun.rules.title"))
        rules = bt.rules.copy()
        rules.insert(1, "label", [tuning.rule_label(r, L) for r in tuning.RULE_DEFS])
        config = {
            "rule_id": None,
            "label": t("ax.rule"),
            "points": t("queue.points"),
            "hits": st.column_config.NumberColumn(t("tun.rules.hits"), help=t("tun.rules.hits_h")),
            "in_alerts": st.column_config.NumberColumn(t("tun.rules.in_alerts")),
            "decisive": st.column_config.ProgressColumn(
                t("tun.rules.decisive"),
                help=t("tun.rules.decisive_h"),
                format="%d",
                min_value=0,
                max_value=max(int(rules["decisive"].max()), 1),
            ),
        }
        if "precision" in rules:
            config["precision"] = st.column_config.NumberColumn(t("m.precision"), format="percent")
            config["recall"] = st.column_config.NumberColumn(t("m.recall"), format="percent")
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
    st.header(t("tun.sec.compare", v=active_version))
    cmp = tuning.compare(hm, draft, hm_active, active)
    c = st.columns(2)
    c[0].metric(t("tun.cmp.new"), f"{cmp.new_alerts:,}", help=t("tun.cmp.frauds", n=cmp.new_frauds))
    c[1].metric(
        t("tun.cmp.dropped"), f"{cmp.dropped:,}", help=t("tun.cmp.frauds", n=cmp.dropped_frauds)
    )
    if cmp.examples.empty:
        st.caption(t("tun.cmp.same"))
        return
    ex = cmp.examples.assign(change=lambda f: f["change"].map(lambda v: t(f"tun.cmp.{v}_label")))
    st.dataframe(
        ex,
        hide_index=True,
        key="tun_cmp",
        column_config={
            "change": t("tun.cmp.change"),
            "payment_id": t("col.payment"),
            "customer_id": t("col.customer"),
            "time": st.column_config.DatetimeColumn(t("col.time"), format="YYYY-MM-DD HH:mm"),
            "amount": st.column_config.NumberColumn(t("col.amount"), format="%.2f €"),
            "score_active": t("tun.cmp.score_active"),
            "score_draft": t("tun.cmp.score_draft"),
            "is_fraud": t("col.is_fraud"),
            "scenario": t("ax.scenario"),
        },
    )


def suggest_section(hm: HitMatrix, draft: RuleSet) -> None:
    st.header(t("tun.sec.suggest"))
    st.caption(t("tun.suggest_help"))
    if hm.labels is None:
        st.info(t("tun.unlabelled"))
        return
    c = st.columns(3)
    kind = c[0].selectbox(
        t("tun.objective"),
        list(OBJECTIVES),
        format_func=lambda k: t(f"obj.{k}"),
        key="tun_objective",
    )
    budget = c[1].slider(
        t("tun.budget"),
        0.005,
        0.5,
        0.05,
        0.005,
        format="%.3f",
        key="tun_budget",
        disabled=kind != "recall_at_budget",
        help=t("tun.budget_help"),
    )
    min_recall = c[2].slider(
        t("tun.min_recall"),
        0.05,
        1.0,
        0.7,
        0.05,
        key="tun_min_recall",
        disabled=kind != "precision_at_recall",
    )
    if st.button(t("tun.suggest"), key="tun_suggest", icon=":material/auto_fix_high:"):
        objective = Objective(
            kind,
            budget=budget if kind == "recall_at_budget" else None,
            min_recall=min_recall if kind == "precision_at_recall" else None,
        )
        with st.spinner(t("tun.suggesting")):
            if tuning.judged_on_own_labels(loaded(str(path), stamp).dataset):
                report = tuning.suggest_own(hm, draft, objective, capacity)
            else:
                try:
                    hold = tuning.ensure_holdout(loaded(str(path), stamp), rt.settings.data_dir)
                    hold_stamp = tuning.dataset_stamp(hold)
                    hm_hold = matrix(str(hold), hold_stamp, tuning.matrix_key(draft), draft)
                except DataGenError as exc:
                    st.error(t("tun.holdout_failed", error=inert(exc)))
                    return
                report = tuning.suggest(hm, hm_hold, hold.name, draft, objective, capacity)
        state.tun_suggestion = (str(path), report)
    got = state.get("tun_suggestion")
    if got is None or got[0] != str(path):
        return
    report = got[1]
    st.success(
        t("tun.suggested", obj=t(f"obj.{report.objective.kind}"), h=inert(report.holdout_path))
    )
    left, right = st.columns(2)
    points = tuning.suggestion_points(report, L)
    left.dataframe(
        points,
        hide_index=True,
        height=35 * (len(points) + 1) + 3,
        key="tun_sug_points",
        column_config={"what": "", "before": t("tun.before"), "after": t("tun.after")},
    )
    hold = tuning.suggestion_holdout(report)
    hold["metric"] = hold["metric"].map(lambda k: t(f"m.{k}"))
    right.dataframe(
        hold,
        hide_index=True,
        key="tun_sug_holdout",
        column_config={
            "metric": t("tun.holdout_metric"),
            "before": st.column_config.NumberColumn(t("tun.before"), format="percent"),
            "after": st.column_config.NumberColumn(t("tun.after"), format="percent"),
        },
    )
    spread = tuning.validation_spread(report, L)
    if spread is not None:
        assert report.validation is not None
        st.caption(t("tun.cv_title", k=len(report.validation.folds)))
        st.dataframe(spread, hide_index=True, key="tun_sug_cv")
    for warning in report.validation.warnings if report.validation else ():
        st.warning(warning)
    if st.button(t("tun.apply"), key="tun_apply", icon=":material/input:"):
        reset_editor(report.suggested, t("tun.base_suggested"), t("tun.applied"))
        st.rerun()


def publish_section(draft: RuleSet) -> None:
    st.header(t("tun.publish"))
    unchanged = draft.fingerprint() == active.fingerprint()
    note = st.text_input(t("tun.note"), key="tun_note", max_chars=500)
    if unchanged:
        st.caption(t("tun.unchanged", v=active_version))
    if st.button(
        t("tun.publish"),
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
            t("tun.base_active", v=version),
            t("tun.published", v=version),
        )
        st.rerun()


if draft is not None:
    workbench(draft)
else:
    st.info(t("tun.fix_first"))

# --------------------------------------------------------------------------- history
st.header(t("tun.sec.history"))
n_versions = tuning.versions(rt)
n_pages = max(1, -(-n_versions // HISTORY_SHOWN))
st.caption(t("tun.history_count", n=n_versions))
hist_page = (
    int(st.number_input(t("tun.history_page", pages=n_pages), 1, n_pages, key="tun_hist"))
    if n_pages > 1
    else 1
)
entries = tuning.history_page(rt, L, HISTORY_SHOWN, (hist_page - 1) * HISTORY_SHOWN)
for entry in entries:
    info = entry.info
    when = info.created_at.strftime("%Y-%m-%d %H:%M UTC")
    title = t(
        "tun.version",
        v=info.version,
        label=inert(info.label),
        author=inert(info.author),
        when=when,
    )
    if info.active:
        title += f" · {t('tun.is_active')}"
    with st.expander(title, expanded=info.active):
        if info.note:
            st.text(info.note)
        changes = pd.DataFrame(
            [(c.what, c.before, c.after) for c in entry.changes],
            columns=[t("tun.what"), t("tun.before"), t("tun.after")],
        )
        if changes.empty:
            st.caption(t("tun.no_change"))
        else:
            st.dataframe(changes, hide_index=True, key=f"tun_diff_{info.version}")
        if not info.active and st.button(
            t("tun.rollback", v=info.version),
            key=f"tun_rollback_{info.version}",
            icon=":material/undo:",
        ):
            try:
                new = tuning.rollback(
                    rt.sessions, info.version, current_user(), t("tun.rollback_note")
                )
            except Refused as exc:
                refused(exc)
                st.stop()
            _, rs = tuning.current(rt.sessions)
            reset_editor(
                rs, t("tun.base_active", v=new), t("tun.rolled_back", v=info.version, new=new)
            )
            st.rerun()
