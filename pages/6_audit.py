"""Audit trail: who did what and when, with filters; newest first, paged by event number."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from desk import Permission, audit, words
from pages._ui import lang, num, picker_day, require, runtime, sidebar, t, when

PAGE = 100

sidebar()
who = require(Permission.READ_AUDIT)
rt = runtime()
st.title(t("nav.audit"))
st.caption(t("au.caption"))

ANY = t("au.any")
c = st.columns([2, 2, 1.4, 2, 1.3, 1.3])
actor = c[0].selectbox(t("au.actor"), [ANY, *audit.audit_actors(rt, who)], key="au_actor")
L = lang()


def _action(code: str, lang: str = L) -> str:
    return code if code == ANY else words.action_label(code, lang)


def _outcome(code: str, lang: str = L) -> str:
    return code if code == ANY else words.outcome_label(code, lang)


# Keyed by language: Streamlit keeps an option widget's value as its label.
action = c[1].selectbox(
    t("au.action"), [ANY, *audit.ACTIONS], format_func=_action, key=f"au_action.{L}"
)
outcome = c[2].selectbox(
    t("au.outcome"), [ANY, *audit.OUTCOMES], format_func=_outcome, key=f"au_outcome.{L}"
)
target = c[3].text_input(t("au.target"), max_chars=200, key="au_target").strip()
since = c[4].date_input(t("au.since"), value=None, key="au_since", format=picker_day())
until = c[5].date_input(t("au.until"), value=None, key="au_until", format=picker_day())


def _start(d: date | None, plus_days: int = 0) -> datetime | None:
    return datetime.combine(d, time(), UTC) + timedelta(days=plus_days) if d else None


filters = audit.AuditFilters(
    actor=None if actor == ANY else actor,
    action=None if action == ANY else action,
    outcome=None if outcome == ANY else outcome,
    target=target or None,
    since=_start(since),
    until=_start(until, plus_days=1),  # the whole "until" day
)
key = repr(filters)
if st.session_state.get("au_filters") != key:  # new filters: back to the newest page
    st.session_state["au_filters"] = key
    st.session_state["au_cursor"] = []
cursor: list[int] = st.session_state["au_cursor"]

page = audit.audit_page(rt, who, filters, PAGE, cursor[-1] if cursor else None)
st.caption(t("au.count", n=num(page.total)))
frame = pd.DataFrame(
    [
        {
            t("au.col.id"): e.id,
            t("au.col.at"): when(e.at, seconds=True),
            t("au.actor"): e.actor,
            t("us.role"): t(f"role.{e.role}") if e.role else "",
            t("au.action"): _action(e.action),
            t("au.outcome"): _outcome(e.outcome),
            t("au.col.target"): e.target or "",
            t("queue.detail_col"): words.fields_text(e.detail or {}, L),
        }
        for e in page.rows
    ]
)
st.dataframe(frame, hide_index=True, placeholder="", width="stretch")
nav = st.columns([1, 1, 6])
if nav[0].button(t("au.newer"), key="au_newer", disabled=not cursor, icon=":material/arrow_back:"):
    cursor.pop()
    st.rerun()
if nav[1].button(
    t("au.older"),
    key="au_older",
    disabled=page.next_before is None,
    icon=":material/arrow_forward:",
):
    assert page.next_before is not None
    cursor.append(page.next_before)
    st.rerun()
nav[2].download_button(
    t("csv"),
    data=frame.to_csv(index=False).encode(),
    file_name=f"audit_{lang()}.csv",
    mime="text/csv",
    key="au_csv",
    icon=":material/download:",
    on_click="ignore",
)
