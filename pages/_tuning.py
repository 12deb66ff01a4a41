"""The rule tuning page's sections: the backtest's figures, charts and rule table, the
comparison with the active rule set, the suggestion, publishing and one history entry.

The page script (``pages/3_rule_tuning.py``) reads the dataset choice and the editor and calls
these in order; a :class:`Bench` carries what every section needs to know about the choice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from desk import OBJECTIVES, DataGenError, HitMatrix, Objective, Refused, RuleSet, rulesets, tuning
from pages._charts import day_chart, pr_chart, scenario_chart, threshold_chart
from pages._ui import (
    current_user,
    grid_time,
    inert,
    lang,
    money,
    num,
    pct,
    refused,
    runtime,
    said,
    share,
    signed,
    t,
    when,
)

FLASH_S = 15.0
BUDGETS: tuple[float, ...] = tuple(i / 200 for i in range(1, 101))  # 0.5 % to 50 %
MIN_RECALLS: tuple[float, ...] = tuple(i / 20 for i in range(1, 21))  # 5 % to 100 %


@dataclass(frozen=True)
class Bench:
    """The dataset, the analysts' daily capacity and the active rule set the draft is
    measured against."""

    path: Path
    stamp: str
    capacity: int
    active_version: int
    active: RuleSet


def flash(message: str) -> None:
    """A confirmation shown at the top of the next runs for a few seconds: a plain pop-once
    message would be lost to any extra rerun (a fragment's timer, a second click)."""
    st.session_state.tun_flash = (message, time.monotonic())


def show_flash() -> None:
    got = st.session_state.get("tun_flash")
    if got is None:
        return
    if time.monotonic() - got[1] < FLASH_S:
        st.success(got[0])
    else:
        del st.session_state["tun_flash"]


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
    state = st.session_state
    state.tun_base = base
    state.tun_base_note = note
    state.tun_gen = state.get("tun_gen", 0) + 1
    state.pop("tun_suggestion", None)  # it was fitted from the previous editor content
    if message:
        flash(message)


def metrics_row(b: Bench, bt: tuning.Backtest, ref: tuning.Backtest) -> None:
    m, r = bt.metrics, ref.metrics
    cols = st.columns(6)
    if m is not None and r is not None:
        cols[0].metric(t("m.precision"), pct(m.precision), signed(pct(m.precision - r.precision)))
        cols[1].metric(t("m.recall"), pct(m.recall), signed(pct(m.recall - r.recall)))
        cols[2].metric(
            t("m.alert_rate"),
            pct(m.alert_rate),
            signed(pct(m.alert_rate - r.alert_rate)),
            delta_color="inverse",
        )
        cols[3].metric(
            t("m.average_precision"),
            num(m.average_precision, 3),
            signed(num(m.average_precision - r.average_precision, 3)),
            help=t("m.auc_pr_help"),
        )
        cols[5].metric(
            t("m.incident_recall"),
            pct(m.incident_recall),
            signed(pct(m.incident_recall - r.incident_recall)),
        )
    else:
        cols[0].metric(t("m.alerts"), num(bt.alerts), signed(num(bt.alerts - ref.alerts)))
        cols[1].metric(t("m.alert_rate"), pct(bt.alert_rate), delta_color="inverse")
    cols[4].metric(
        t("m.per_day"),
        num(bt.alerts_per_day, 1),
        signed(num(bt.alerts_per_day - ref.alerts_per_day, 1)),
        delta_color="inverse",
        help=t("m.per_day_help", capacity=b.capacity, over=bt.days_over_capacity),
    )


def workbench(b: Bench, draft: RuleSet) -> None:
    path, stamp, active = str(b.path), b.stamp, b.active
    with st.spinner(t("tun.building")):
        hm = matrix(path, stamp, tuning.matrix_key(draft), draft)
        hm_active = matrix(path, stamp, tuning.matrix_key(active), active)
    bt = tuning.backtest(hm, draft, b.capacity)
    ref = reference(path, stamp, active.fingerprint(), b.capacity, hm_active, active)

    st.header(t("tun.sec.backtest"))
    st.caption(t("tun.backtest_help", n=num(hm.n), v=b.active_version))
    metrics_row(b, bt, ref)
    if bt.metrics is None:
        st.info(t("tun.unlabelled"))
    else:
        left, right = st.columns(2)
        left.plotly_chart(pr_chart(bt, ref), width="stretch", key="tun_pr")
        right.plotly_chart(
            threshold_chart(bt, draft.alert_threshold), width="stretch", key="tun_thr"
        )
    st.plotly_chart(day_chart(bt, b.capacity), width="stretch", key="tun_day")

    left, right = st.columns([3, 2])
    with left:
        st.subheader(t("tun.rules.title"))
        rules = bt.rules.copy()
        rules.insert(1, "label", [tuning.rule_label(r, lang()) for r in tuning.RULE_DEFS])
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
            for name, key in (("precision", "m.precision"), ("recall", "m.recall")):
                rules[name] = rules[name].map(share)
                config[name] = st.column_config.TextColumn(t(key), alignment="right")
        st.dataframe(
            rules,
            hide_index=True,
            placeholder="",
            column_config=config,
            key="tun_rules",
            height=35 * (len(rules) + 1) + 3,
        )
    with right:
        if not bt.scenarios.empty:
            st.plotly_chart(scenario_chart(bt), width="stretch", key="tun_sc")

    compare_section(b, hm, draft, hm_active)
    suggest_section(b, hm, draft)
    publish_section(b, draft)


def compare_section(b: Bench, hm: HitMatrix, draft: RuleSet, hm_active: HitMatrix) -> None:
    st.header(t("tun.sec.compare", v=b.active_version))
    cmp = tuning.compare(hm, draft, hm_active, b.active)
    c = st.columns(2)
    c[0].metric(t("tun.cmp.new"), num(cmp.new_alerts), help=t("tun.cmp.frauds", n=cmp.new_frauds))
    c[1].metric(
        t("tun.cmp.dropped"), num(cmp.dropped), help=t("tun.cmp.frauds", n=cmp.dropped_frauds)
    )
    if cmp.examples.empty:
        st.caption(t("tun.cmp.same"))
        return
    ex = cmp.examples.assign(
        change=lambda f: f["change"].map(lambda v: t(f"tun.cmp.{v}_label")),
        amount=lambda f: f["amount"].map(money),
    )
    st.dataframe(
        ex,
        hide_index=True,
        placeholder="",
        key="tun_cmp",
        column_config={
            "change": t("tun.cmp.change"),
            "payment_id": t("col.payment"),
            "customer_id": t("col.customer"),
            "time": st.column_config.DatetimeColumn(t("col.time"), format=grid_time()),
            "amount": st.column_config.TextColumn(t("col.amount"), alignment="right"),
            "score_active": t("tun.cmp.score_active"),
            "score_draft": t("tun.cmp.score_draft"),
            "is_fraud": t("col.is_fraud"),
            "scenario": t("ax.scenario"),
        },
    )


def suggest_section(b: Bench, hm: HitMatrix, draft: RuleSet) -> None:
    path, stamp, capacity = b.path, b.stamp, b.capacity
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
    # Shares as percentages written by Babel (a slider's printf format writes "0.050"):
    # a select slider shows each option's label.
    budget = c[1].select_slider(
        t("tun.budget"),
        options=BUDGETS,
        value=0.05,
        format_func=lambda share: pct(share, 1),
        key="tun_budget",
        disabled=kind != "recall_at_budget",
        help=t("tun.budget_help"),
    )
    min_recall = c[2].select_slider(
        t("tun.min_recall"),
        options=MIN_RECALLS,
        value=0.7,
        format_func=lambda share: pct(share, 0),
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
                    data_dir = runtime().settings.data_dir
                    hold = tuning.ensure_holdout(loaded(str(path), stamp), data_dir)
                    hold_stamp = tuning.dataset_stamp(hold)
                    hm_hold = matrix(str(hold), hold_stamp, tuning.matrix_key(draft), draft)
                except DataGenError as exc:
                    st.error(t("tun.holdout_failed", error=inert(said(exc))))
                    return
                report = tuning.suggest(hm, hm_hold, hold.name, draft, objective, capacity)
        st.session_state.tun_suggestion = (str(path), report)
    got = st.session_state.get("tun_suggestion")
    if got is None or got[0] != str(path):
        return
    report = got[1]
    st.success(
        t("tun.suggested", obj=t(f"obj.{report.objective.kind}"), h=inert(report.holdout_path))
    )
    left, right = st.columns(2)
    points = tuning.suggestion_points(report, lang())
    left.dataframe(
        points,
        hide_index=True,
        placeholder="",
        height=35 * (len(points) + 1) + 3,
        key="tun_sug_points",
        column_config={"what": "", "before": t("tun.before"), "after": t("tun.after")},
    )
    hold = tuning.suggestion_holdout(report)
    hold["metric"] = hold["metric"].map(lambda k: t(f"m.{k}"))
    hold["before"], hold["after"] = hold["before"].map(share), hold["after"].map(share)
    right.dataframe(
        hold,
        hide_index=True,
        placeholder="",
        key="tun_sug_holdout",
        column_config={
            "metric": t("tun.holdout_metric"),
            "before": st.column_config.TextColumn(t("tun.before"), alignment="right"),
            "after": st.column_config.TextColumn(t("tun.after"), alignment="right"),
        },
    )
    spread = tuning.validation_spread(report, lang())
    if spread is not None:
        assert report.validation is not None
        st.caption(t("tun.cv_title", k=len(report.validation.folds)))
        st.dataframe(spread, hide_index=True, placeholder="", key="tun_sug_cv")
    for warning in report.validation.warnings if report.validation else ():
        st.warning(warning)
    if st.button(t("tun.apply"), key="tun_apply", icon=":material/input:"):
        reset_editor(report.suggested, t("tun.base_suggested"), t("tun.applied"))
        st.rerun()


def publish_section(b: Bench, draft: RuleSet) -> None:
    st.header(t("tun.publish"))
    unchanged = draft.fingerprint() == b.active.fingerprint()
    note = st.text_input(t("tun.note"), key="tun_note", max_chars=500)
    if unchanged:
        st.caption(t("tun.unchanged", v=b.active_version))
    if st.button(
        t("tun.publish"),
        key="tun_publish",
        type="primary",
        disabled=unchanged,
        icon=":material/publish:",
    ):
        try:
            version = tuning.publish(runtime(), draft, current_user(), note)
        except Refused as exc:
            refused(exc)
            return
        reset_editor(
            RuleSet.from_dict(draft.to_dict(), version=str(version)),
            t("tun.base_active", v=version),
            t("tun.published", v=version),
        )
        st.rerun()


def history_entry(entry: tuning.VersionEntry) -> None:
    """One published version: its note, its changes and a roll-back button."""
    info = entry.info
    said = rulesets.words(lang(), info.label, info.author, info.note)
    title = t(
        "tun.version",
        v=info.version,
        label=inert(said.label),
        author=inert(said.author),
        when=f"{when(info.created_at)} UTC",
    )
    if info.active:
        title += f" · {t('tun.is_active')}"
    with st.expander(title, expanded=info.active):
        if said.note:
            st.text(said.note)
        changes = pd.DataFrame(
            [(c.what, c.before, c.after) for c in entry.changes],
            columns=[t("tun.what"), t("tun.before"), t("tun.after")],
        )
        if changes.empty:
            st.caption(t("tun.no_change"))
        else:
            st.dataframe(changes, hide_index=True, placeholder="", key=f"tun_diff_{info.version}")
        if not info.active and st.button(
            t("tun.rollback", v=info.version),
            key=f"tun_rollback_{info.version}",
            icon=":material/undo:",
        ):
            try:
                new = tuning.rollback(
                    runtime(), info.version, current_user(), t("tun.rollback_note")
                )
            except Refused as exc:
                refused(exc)
                st.stop()
            _, rs = tuning.current(runtime())
            reset_editor(
                rs, t("tun.base_active", v=new), t("tun.rolled_back", v=info.version, new=new)
            )
            st.rerun()
