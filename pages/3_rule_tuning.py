"""Rule tuning: edit points, parameters and thresholds, see the backtest at once, publish.

The sections below the editor are drawn by ``pages._tuning``."""

from __future__ import annotations

import streamlit as st

from desk import DatabaseError, DataGenError, Permission, RuleSet, studio, tuning
from pages._tuning import Bench, history_entry, loaded, reset_editor, show_flash, workbench
from pages._ui import inert, lang, require, runtime, said, sidebar, t

HISTORY_SHOWN = 20
DEFAULT_CAPACITY = 50

sidebar()
require(Permission.TUNE)
L = lang()
state = st.session_state

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
    st.error(t("tun.bad_dataset", error=inert(said(exc))))
    st.stop()

try:
    active_version, active = tuning.current(rt)
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
    placeholder="",
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

# --------------------------------------------------------------------------- backtest, comparison,
# suggestion, publishing
if draft is not None:
    workbench(Bench(path, stamp, capacity, active_version, active), draft)
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
    history_entry(entry)
