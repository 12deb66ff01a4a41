"""Pipeline: detector state, throughput, consumer lag, dead letters, rule set, service health.

Everything refreshes in fragments; the throughput history is the process-wide ring buffer
of ``desk.pipeline`` (fed by this page and the sidebar from status snapshots).  The panels
are drawn by ``pages._pipeline_panels``.
"""

from __future__ import annotations

import streamlit as st

import pages._pipeline_panels as panel
from desk import Permission
from desk import pipeline as pl
from pages._datasets import current as shown_dataset
from pages._datasets import picker
from pages._ui import init_state, live, require, runtime, sidebar, t

REFRESH_S = 2
DEAD_REFRESH_S = 10

init_state({"p_dead_page": 1, "p_dead_id": None})


@live(REFRESH_S)
def live_status() -> None:
    rt = runtime()
    snap = rt.snapshot()
    pl.record_sample(rt, snap)
    panel.counters(snap)
    left, right = st.columns([3, 2])
    with left:
        st.subheader(t("pipe.throughput"))
        panel.throughput(rt)
    with right:
        st.subheader(t("pipe.lag"))
        panel.lag(snap)
    h, r = st.columns([3, 2])
    with h:
        st.subheader(t("pipe.health"))
        panel.health(rt)
    with r:
        st.subheader(t("pipe.ruleset"))
        panel.ruleset(rt, snap)


@live(REFRESH_S)
def dataset_panel() -> None:
    """The alerts of the dataset picked above, and whether the counters are its own."""
    name = shown_dataset()
    if name is not None:
        panel.dataset_counters(runtime(), name)


@live(DEAD_REFRESH_S)
def dead_letters() -> None:
    st.subheader(t("pipe.dead_list"))
    dead = pl.dead_letter_page(runtime(), int(st.session_state["p_dead_page"]))
    if not dead.rows:
        st.caption(t("pipe.no_dead"))
        return
    panel.dead_letter_pager(dead)
    panel.dead_letter_table(dead.rows)
    panel.payload(dead.rows)


sidebar()
require(Permission.READ_PIPELINE)
st.title(t("nav.pipeline"))
live_status()
st.divider()
if picker() is not None:
    dataset_panel()
    st.divider()
dead_letters()
