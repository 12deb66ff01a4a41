"""The alert queue's filters and its live part (cards, one page of alerts, the id picker).

The selection is one :class:`~desk.selection.Selection` in ``st.session_state["q_selection"]``.
The grid and the picker are keyed by its generation: each change of selection draws new
widgets from it, so their ticks and chips are the selection; an event from a widget drawn
for an older generation (a grid the user clicked just as it was replaced) is dropped, so a
refresh can never bring back what the user removed.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from desk import ALERT_STATUSES, RULE_IDS, SEVERITIES, Selection, i18n
from desk import queue as q
from pages._datasets import current as shown_dataset
from pages._ui import (
    SEVERITY_COLOURS,
    bind,
    grid_time,
    lang,
    live,
    money,
    num,
    pct,
    picker_day,
    renew,
    reset_state,
    rule_label,
    runtime,
    severity_label,
    status_label,
    t,
    widget_key,
)

REFRESH_S = 5
SEL = "q_selection"
SORTS = ("score_desc", "time_desc", "score_asc", "time_asc")
FILTER_DEFAULTS: dict[str, Any] = {
    "q_status": list(q.OPEN_STATUSES),  # the work still to do
    "q_severity": [],
    "q_rules": [],
    "q_score": None,  # None: the full slider range
    "q_days": (),
    "q_customer": "",
    "q_country": [],
    "q_device": [],
}


@st.cache_data(ttl=2, show_spinner=False)
def overview(db_url: str, dataset: str | None) -> q.Overview:
    return q.load_overview(runtime(), dataset)


@st.cache_data(ttl=10, show_spinner=False)
def facets(db_url: str, ov: q.Overview) -> q.Facets:
    return q.load_facets(runtime(), ov)


@st.cache_data(ttl=300, show_spinner=False)
def _payments_rows(db_url: str, dataset: str | None) -> int:
    return q.count_payments(runtime(), dataset)


def selection() -> Selection:
    return st.session_state.setdefault(SEL, Selection())


def set_selection(new: Selection) -> None:
    st.session_state[SEL] = new
    st.session_state["q_rerun_app"] = True  # the detail panel is outside the fragment


def _reset_page() -> None:
    renew("q_page", 1)


def _reset_filters() -> None:
    reset_state(FILTER_DEFAULTS)
    _reset_page()


def filters_ui(f: q.Facets) -> None:
    ss = st.session_state
    any_ = t("queue.any")
    with st.expander(t("queue.filters"), expanded=True):
        c1, c2, c3, c4 = st.columns(4)
        for col, key, label, options, fmt in (
            (c1, "q_status", "queue.status", ALERT_STATUSES, status_label),
            (c2, "q_severity", "ax.severity", SEVERITIES, severity_label),
            (c3, "q_rules", "queue.reason", RULE_IDS, rule_label),
        ):
            col.multiselect(
                t(label),
                options,
                default=ss[key],
                format_func=functools.partial(fmt, code=lang()),
                placeholder=any_,
                select_all=False,  # Streamlit's "Select all" is English only
                **bind(key, _reset_page, per_lang=True),
            )
        top = max(f.score_max, 100)
        lo, hi = ss["q_score"] or (0, top)
        c4.slider(
            t("queue.score"), 0, top, (min(lo, top), min(hi, top)), **bind("q_score", _reset_page)
        )
        c5, c6, c7, c8 = st.columns(4)
        c5.date_input(
            t("queue.dates"),
            value=tuple(ss["q_days"]),
            min_value=f.first_day,
            max_value=f.last_day,
            format=picker_day(),
            **bind("q_days", _reset_page),
        )
        c6.text_input(
            t("queue.customer"), value=ss["q_customer"], **bind("q_customer", _reset_page)
        )
        for col, key, label, options in (
            (c7, "q_country", "ax.country", f.countries),
            (c8, "q_device", "ax.device", f.devices),
        ):
            col.multiselect(
                t(label),
                options,
                default=[v for v in ss[key] if v in options],
                placeholder=any_,
                select_all=False,  # Streamlit's "Select all" is English only
                **bind(key, _reset_page),
            )
        s1, s2 = st.columns([3, 1])
        s1.radio(
            t("queue.sort"),
            SORTS,
            index=SORTS.index(ss["q_sort"]),
            format_func=functools.partial(_sort_label, lang()),
            horizontal=True,
            **bind("q_sort", _reset_page, per_lang=True),
        )
        s2.button(t("queue.reset"), on_click=_reset_filters, key="q_reset")


def _sort_label(code: str, sort: str) -> str:
    return i18n.text(f"queue.sort.{sort}", code)


def current_filters(f: q.Facets) -> Any:
    ss = st.session_state
    return q.build_filters(
        status=ss["q_status"],
        severity=ss["q_severity"],
        rule_ids=ss["q_rules"],
        score_range=tuple(ss["q_score"]) if ss["q_score"] else None,
        score_bounds=(0, max(f.score_max, 100)),
        day_range=tuple(ss["q_days"] or ()),
        customer=ss["q_customer"],
        country=ss["q_country"],
        device=ss["q_device"],
        dataset=shown_dataset(),
    )


def age(ts: datetime, now: datetime) -> str:
    """A short, localized age ("3 j", "5 h", "12 min")."""
    minutes = max(0, int((now - ts).total_seconds() // 60))
    if minutes >= 2 * 24 * 60:
        return t("queue.age.d", n=num(minutes // (24 * 60)))
    if minutes >= 120:
        return t("queue.age.h", n=minutes // 60)
    return t("queue.age.m", n=minutes)


def _frame(rows: tuple[q.AlertSummary, ...]) -> pd.DataFrame:
    now = datetime.now(UTC)
    return pd.DataFrame(
        {
            "alert_id": [r.alert_id for r in rows],
            "age": [age(r.event_ts, now) for r in rows],
            "score": [r.score for r in rows],
            "severity": [severity_label(r.severity) for r in rows],
            "status": [status_label(r.status) for r in rows],
            "amount": [r.amount for r in rows],  # a number: its header sorts by value
            "customer": [r.customer_id for r in rows],
            "country": [r.country or "" for r in rows],
            "device": [r.device or "" for r in rows],
            "reasons": [", ".join(rule_label(x) for x in r.rule_ids) for r in rows],
            "time": [r.event_ts for r in rows],
        }
    )


def _columns(score_max: int) -> dict[str, Any]:
    col = st.column_config
    return {
        "alert_id": col.TextColumn(t("queue.col.id"), width=140),
        "age": col.TextColumn(t("queue.col.age"), width=60),
        "score": col.ProgressColumn(
            t("queue.col.score"), format="%d", min_value=0, max_value=max(score_max, 1), width=80
        ),
        "severity": col.TextColumn(t("ax.severity"), width=75),
        "status": col.TextColumn(t("queue.status"), width=120),
        # No format: the grid shows the Styler's text (:func:`_styled`), written the desk's
        # way ("1 000,00"), and sorts on the number under it; a column format would win over
        # the Styler, and its "localized" follows the browser's language, not the desk's.
        "amount": col.NumberColumn(t("queue.col.amount"), width=90),
        "customer": col.TextColumn(t("queue.customer"), width=95),
        "country": col.TextColumn(t("ax.country"), width=50),
        "device": col.TextColumn(t("ax.device"), width=75),
        "reasons": col.TextColumn(t("queue.reason"), width="large"),
        "time": col.DatetimeColumn(t("queue.col.time"), format=grid_time()),
    }


def _severity_style(value: str) -> str:
    for sev, colour in SEVERITY_COLOURS.items():
        if value == severity_label(sev):
            return f"background-color: {colour}33; color: #1d2733; font-weight: 600"
    return ""


def _styled(frame: pd.DataFrame) -> Any:
    """The grid's frame with its severity colours and its amounts written as :func:`money`
    does (none: an empty cell)."""
    return frame.style.map(_severity_style, subset=["severity"]).format(
        money, subset=["amount"], na_rep=""
    )


def _current(key: str) -> bool:
    """Only the widgets drawn last may change the selection: a grid the browser replaced
    (another page, a refresh with new rows) still reports its ticks, or their loss."""
    return key in st.session_state.get("q_live_keys", ()) and key in st.session_state


def _on_grid(key: str, generation: int, shown: tuple[str, ...], versions: dict[str, int]) -> None:
    sel = selection()
    if sel.generation != generation or not _current(key):
        return  # drawn for an older selection or page: applying it would undo the newer one
    rows = st.session_state[key]["selection"]["rows"]
    set_selection(sel.from_grid(shown, rows, versions))


def _on_pick(key: str, generation: int, versions: dict[str, int]) -> None:
    sel = selection()
    if sel.generation != generation or not _current(key):
        return
    set_selection(sel.with_ids(st.session_state[key], versions))


def _forget_old_widgets(keep: set[str]) -> None:
    for key in [k for k in st.session_state if str(k).startswith(("q_grid_", "q_pick_"))]:
        if key in ("q_grid_rows", "q_grid_seq", "q_live_keys"):
            continue
        if key not in keep:
            del st.session_state[key]


@live(REFRESH_S)
def live_queue() -> None:
    ss = st.session_state
    if ss.pop("q_rerun_app", False):
        st.rerun()  # a selection made in here changes the detail panel outside
    rt = runtime()
    url = rt.settings.db_url
    dataset = shown_dataset()
    ov = overview(url, dataset)
    f = facets(url, ov)
    stats, page = q.load_page(
        rt, current_filters(f), ss["q_sort"], ss["q_page"], _payments_rows(url, dataset), ov
    )
    _cards(stats)
    if stats.total_alerts == 0:
        st.info(t("queue.no_alerts"))
        return
    p1, p2 = st.columns([3, 1])
    n = t("queue.more_than", n=num(q.COUNT_CAP)) if page.capped else num(page.total)
    p1.caption(
        t("queue.matching", n=n, page=page.page, pages=page.pages)
        + " · "
        + t("queue.live", s=REFRESH_S)
    )
    if ss["q_page"] != page.page or ss.get(widget_key("q_page"), page.page) != page.page:
        renew("q_page", page.page)  # clamped: the widget starts again from the page shown
    p2.number_input(
        t("queue.page"),
        min_value=1,
        max_value=page.pages,
        value=page.page,
        step=1,
        label_visibility="collapsed",
        **bind("q_page"),
    )
    shown = tuple(r.alert_id for r in page.rows)
    if not page.rows:
        st.info(t("queue.empty"))
    sel = selection()
    versions = {r.alert_id: r.row_version for r in page.rows}
    # A grid key is never used twice: the browser keeps a grid's ticks by key, and a page
    # shown again (back from page 2, filters reset) must start from the selection.
    digest = hashlib.blake2s("|".join(shown).encode(), digest_size=6).hexdigest()
    if ss.get("q_grid_rows") != digest:
        ss["q_grid_rows"], ss["q_grid_seq"] = digest, ss.get("q_grid_seq", 0) + 1
    grid_key = f"q_grid_{sel.generation}_{ss['q_grid_seq']}"
    pick_key = f"q_pick_{sel.generation}"
    _forget_old_widgets({grid_key, pick_key})
    ss["q_live_keys"] = (grid_key, pick_key) if page.rows else (pick_key,)
    if page.rows:
        st.dataframe(
            _styled(_frame(page.rows)),
            hide_index=True,
            placeholder="",
            key=grid_key,
            selection_mode="multi-row",
            on_select=functools.partial(_on_grid, grid_key, sel.generation, shown, versions),
            selection_default={
                "selection": {"rows": [i for i, a in enumerate(shown) if a in sel.ids]}
            },
            column_config=_columns(f.score_max),
            height=min(38 + 35 * len(page.rows), 640),
        )
    # Options are bare ids: Streamlit keeps a multiselect's value as the option labels, so a
    # label that changed (the alert left the page) would come back as a new, unknown value.
    st.multiselect(
        t("queue.select"),
        list(dict.fromkeys([*sel.ids, *shown])),
        default=list(sel.ids),
        help=t("queue.select_help"),
        placeholder=t("queue.select_placeholder"),
        select_all=False,
        key=pick_key,
        on_change=_on_pick,
        args=(pick_key, sel.generation, versions),
    )
    if sel.focus is not None and sel.focus not in shown:
        st.caption(t("queue.off_page", alert_id=sel.focus))


def _cards(stats: q.QueueStats) -> None:
    k1, k2, k3, k4 = st.columns(4)
    k1.metric(t("queue.total"), num(stats.total_alerts), border=True)
    rate = stats.alert_rate
    k2.metric(
        t("m.alert_rate"),
        "—" if rate is None else pct(rate, 2),
        help=t("queue.rate_help", payments=num(stats.payments_scored)),
        border=True,
    )
    k3.metric(t("queue.high"), num(stats.high), border=True)
    k4.metric(t("status.PENDING_REVIEW"), num(stats.pending), border=True)
