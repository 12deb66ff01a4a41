"""Insights: what the alerts say, for a manager, with the data behind every chart."""

from __future__ import annotations

import streamlit as st

from desk import DatabaseError, Permission, datasets
from desk import insights as svc
from desk import queue as q
from pages._datasets import picker
from pages._insight_sections import (
    breakdown_section,
    decisions_section,
    precision_section,
    reasons_section,
    time_section,
)
from pages._ui import num, pct, require, runtime, sidebar, t

CACHE_TTL_S = 300

sidebar()
require(Permission.READ_INSIGHTS)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=16)
def load(db_url: str, version: tuple[int, int, int], tz: str, dataset: str | None) -> svc.Insights:
    """All aggregates of one dataset's alerts; ``version`` changes with new alerts,
    decisions or loaded payments."""
    return svc.insights(runtime(), tz, dataset)


st.title(t("nav.insights"))
rt = runtime()
TZ = rt.settings.display_tz  # validated by the settings object
try:
    dataset = picker()
    version = svc.version_of(rt)
    data = load(rt.settings.db_url, version, TZ, dataset)
except DatabaseError as exc:
    st.error(t("db_error"))
    st.code(str(exc).splitlines()[0], language=None, wrap_lines=True)
    st.stop()
tot = data.totals

if tot.alerts == 0:
    st.info(t("ins.empty"))
    st.stop()

# The same denominator as the queue's header card: payments scored, never fewer than alerts.
scored_now = runtime().snapshot().payments_total
if dataset is not None and (
    datasets.payments_of(rt, dataset) is not None or not datasets.scored_here(rt, dataset)
):
    scored_now = 0  # a replay's payments are counted above; the counter may be another's
scored = q.payments_scored(scored_now, tot.payments, tot.alerts)
c = st.columns(5)
c[0].metric(t("m.alerts"), num(tot.alerts))
c[1].metric(
    t("m.alert_rate"),
    pct(tot.alerts / scored) if (tot.payments or scored_now) else "–",
    help=t("ins.kpi.rate_help", payments=num(scored)),
)
c[2].metric(t("queue.high"), num(tot.high))
c[3].metric(t("ins.kpi.decided"), num(tot.decided))
c[4].metric(
    t("ins.kpi.confirmed"),
    pct(tot.blocked / tot.decided, 0) if tot.decided else "–",
    help=t("ins.kpi.confirmed_help"),
)

# --------------------------------------------------------------------------- sections
reasons_section(data)
time_section(data, TZ)
breakdown_section(data)
decisions_section(data, TZ)
precision_section(data)
