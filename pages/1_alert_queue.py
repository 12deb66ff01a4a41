"""Alert queue: live header and table, filters, one alert's detail, analyst actions.

State that must survive the live refresh (filters, page, selection, the alert shown, notes)
lives in plain ``st.session_state`` keys (``q_*``) bound to widgets with ``_ui.bind``; the
refreshing fragment only re-reads the database.  Selection is kept as alert **ids** (with the
``row_version`` seen when selected), never as row positions.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from desk import (
    ALERT_STATUSES,
    RULE_IDS,
    SEVERITIES,
    Permission,
    Principal,
    Refused,
    i18n,
)
from desk import queue as q
from pages._ui import (
    SEVERITY_COLOURS,
    bind,
    current_user,
    db_session,
    inert,
    init_state,
    lang,
    live,
    renew,
    require,
    reset_state,
    rule_label,
    runtime,
    severity_label,
    sidebar,
    status_label,
    t,
    widget_key,
)

REFRESH_S = 5
SORTS = ("score_desc", "time_desc", "score_asc", "time_asc")
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("APPROVE", "queue.approve", "✅"),
    ("BLOCK", "queue.block", "⛔"),
    ("INVESTIGATE", "queue.investigate", "🔎"),
)
FILTER_DEFAULTS: dict[str, Any] = {
    "q_status": [],
    "q_severity": [],
    "q_rules": [],
    "q_score": None,  # None: the full slider range
    "q_days": (),
    "q_customer": "",
    "q_country": [],
    "q_device": [],
}
STATE_DEFAULTS: dict[str, Any] = {
    **FILTER_DEFAULTS,
    "q_sort": "score_desc",
    "q_page": 1,
    "q_sel": [],  # selected alert ids, in selection order
    "q_ver": {},  # alert id -> row_version when selected
    "q_focus": None,  # the alert id shown in the detail panel
    "q_note": "",
    "q_bulk_note": "",
    "q_flash": [],  # (level, markdown) messages from the last action
}


# --------------------------------------------------------------------------- data (cached)


@st.cache_data(ttl=2, show_spinner=False)
def _overview(db_url: str) -> q.Overview:
    """One grouped scan for the cards, filter options and simple counts; shared by the
    filters and the live table of one run (and by concurrent sessions)."""
    with db_session() as session:
        return q.overview(session)


@st.cache_data(ttl=10, show_spinner=False)
def _facets(db_url: str, ov: q.Overview) -> q.Facets:
    with db_session() as session:
        return q.facets(session, ov)


@st.cache_data(ttl=300, show_spinner=False)
def _payments_rows(db_url: str) -> int:
    """Changes only when a dataset is loaded (the studio clears st.cache_data then)."""
    with db_session() as session:
        return q.payments_rows(session)


def _clear_caches() -> None:
    """After a write: every cached view of alerts may be stale (this page's and others')."""
    st.cache_data.clear()


# --------------------------------------------------------------------------- callbacks


def _reset_page() -> None:
    renew("q_page", 1)


def _reset_filters() -> None:
    reset_state(FILTER_DEFAULTS)
    _reset_page()


def _select(ids: list[str], versions: dict[str, int], source: str) -> None:
    """Make ``ids`` the selection; the newest addition becomes the alert shown.  The widget
    the change did not come from (``source``: "table" or "picker") is re-created to show it:
    the table's own selection is positional, so it must never outlive a change of ids."""
    old = list(st.session_state["q_sel"])
    known = dict(st.session_state["q_ver"])
    for alert_id in ids:
        if alert_id not in known and alert_id in versions:
            known[alert_id] = versions[alert_id]
    added = [a for a in ids if a not in old]
    if source == "picker":
        st.session_state["q_sel"] = ids
    else:
        renew("q_sel", ids)
    if source != "table":
        st.session_state["q_table_gen"] = st.session_state.get("q_table_gen", 0) + 1
    st.session_state["q_ver"] = {a: known[a] for a in ids if a in known}
    focus = st.session_state["q_focus"]
    if added:
        focus = added[-1]
    elif focus not in ids:
        focus = ids[-1] if ids else None
    renew("q_focus", focus)
    st.session_state["q_rerun_app"] = True  # the detail panel is outside the fragment


def _on_table_select(df_key: str, shown: tuple[str, ...], versions: dict[str, int]) -> None:
    rows = st.session_state[df_key]["selection"]["rows"]
    picked = {shown[i] for i in rows if 0 <= i < len(shown)}
    keep = [a for a in st.session_state["q_sel"] if a not in shown or a in picked]
    keep += [a for a in shown if a in picked and a not in keep]
    _select(keep, versions, "table")


def _on_multiselect(versions: dict[str, int], wkey: str) -> None:
    _select(list(st.session_state[wkey]), versions, "picker")


def _report(result: q.ActionResult) -> None:
    msgs: list[tuple[str, str]] = []
    label = t(next(k for a, k, _ in ACTIONS if a == result.action))
    if result.updated:
        msgs.append(("success", t("queue.done", action=label, n=len(result.updated))))
    if len(result.conflicts) == 1 and not result.updated:
        c = result.conflicts[0]
        msgs.append(
            (
                "error",
                t(
                    "queue.conflict",
                    alert_id=inert(c.alert_id),
                    status=status_label(c.status),
                    actor=inert(c.actor),
                ),
            )
        )
    elif result.conflicts:
        ids = ", ".join(c.alert_id for c in result.conflicts[:20])
        msgs.append(("error", f"{t('queue.conflicts', n=len(result.conflicts))} {inert(ids)}"))
    for alert_id in result.missing:
        msgs.append(("warning", t("queue.not_found", alert_id=inert(alert_id))))
    for err in result.errors:
        msgs.append(("error", inert(err)))
    st.session_state["q_flash"] = msgs


def _acting(call: Callable[[Principal | None], q.ActionResult]) -> q.ActionResult | None:
    """Run an action as the signed-in user; a refusal (expired session, role) is shown."""
    try:
        return call(current_user())
    except Refused as exc:
        st.session_state["q_flash"] = [("error", inert(str(exc)))]
        return None


def _act_one(alert_id: str, version: int, action: str) -> None:
    note = st.session_state.get(widget_key("q_note"), st.session_state["q_note"])
    result = _acting(
        lambda who: q.decide_many(runtime().sessions, [(alert_id, version)], action, who, note)  # type: ignore[arg-type]
    )
    if result is None:
        return
    _report(result)
    if result.updated:
        renew("q_note", "")
    _clear_caches()


def _act_selected(action: str) -> None:
    sel = list(st.session_state["q_sel"])
    versions = st.session_state["q_ver"]
    note = st.session_state.get(widget_key("q_bulk_note"), st.session_state["q_bulk_note"])
    seen = [(a, versions[a]) for a in sel if a in versions]
    result = _acting(lambda who: q.decide_many(runtime().sessions, seen, action, who, note))  # type: ignore[arg-type]
    if result is None:
        return
    _report(result)
    if result.updated:
        renew("q_bulk_note", "")
    _clear_caches()


def _act_open_of(action: str, what: str, input_key: str) -> None:
    value = str(st.session_state.get(input_key, "")).strip()
    if not value:
        return
    note = st.session_state.get(widget_key("q_bulk_note"), st.session_state["q_bulk_note"])
    kwargs = {"customer_id": value} if what == "customer" else {"device_id": value}
    result = _acting(
        lambda who: q.decide_open_of(runtime().sessions, action, who, note, **kwargs)  # type: ignore[arg-type]
    )
    if result is None:
        return
    if not (result.updated or result.conflicts or result.errors):
        st.session_state["q_flash"] = [("info", t("queue.no_open", what=inert(value)))]
    else:
        _report(result)
    _clear_caches()


# --------------------------------------------------------------------------- rendering


def _filters_ui(facets: q.Facets) -> None:
    ss = st.session_state
    with st.expander(t("queue.filters"), expanded=True):
        c1, c2, c3, c4 = st.columns(4)
        c1.multiselect(
            t("queue.status"),
            ALERT_STATUSES,
            default=ss["q_status"],
            format_func=functools.partial(status_label, code=lang()),
            placeholder=t("queue.any"),
            **bind("q_status", _reset_page, per_lang=True),
        )
        c2.multiselect(
            t("ax.severity"),
            SEVERITIES,
            default=ss["q_severity"],
            format_func=functools.partial(severity_label, code=lang()),
            placeholder=t("queue.any"),
            **bind("q_severity", _reset_page, per_lang=True),
        )
        c3.multiselect(
            t("queue.reason"),
            RULE_IDS,
            default=ss["q_rules"],
            format_func=functools.partial(rule_label, code=lang()),
            placeholder=t("queue.any"),
            **bind("q_rules", _reset_page, per_lang=True),
        )
        top = max(facets.score_max, 100)
        score = ss["q_score"] or (0, top)
        c4.slider(
            t("queue.score"),
            min_value=0,
            max_value=top,
            value=(min(score[0], top), min(score[1], top)),
            **bind("q_score", _reset_page),
        )
        c5, c6, c7, c8 = st.columns(4)
        c5.date_input(
            t("queue.dates"),
            value=tuple(ss["q_days"]),
            min_value=facets.first_day,
            max_value=facets.last_day,
            **bind("q_days", _reset_page),
        )
        c6.text_input(
            t("queue.customer"), value=ss["q_customer"], **bind("q_customer", _reset_page)
        )
        c7.multiselect(
            t("ax.country"),
            facets.countries,
            default=[c for c in ss["q_country"] if c in facets.countries],
            placeholder=t("queue.any"),
            **bind("q_country", _reset_page),
        )
        c8.multiselect(
            t("ax.device"),
            facets.devices,
            default=[d for d in ss["q_device"] if d in facets.devices],
            placeholder=t("queue.any"),
            **bind("q_device", _reset_page),
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


def _current_filters(facets: q.Facets) -> Any:
    ss = st.session_state
    top = max(facets.score_max, 100)
    return q.build_filters(
        status=ss["q_status"],
        severity=ss["q_severity"],
        rule_ids=ss["q_rules"],
        score_range=tuple(ss["q_score"]) if ss["q_score"] else None,
        score_bounds=(0, top),
        day_range=tuple(ss["q_days"] or ()),
        customer=ss["q_customer"],
        country=ss["q_country"],
        device=ss["q_device"],
    )


def _severity_style(value: str) -> str:
    for sev, colour in SEVERITY_COLOURS.items():
        if value == severity_label(sev):
            return f"background-color: {colour}33; color: #1d2733; font-weight: 600"
    return ""


def _table(rows: tuple[q.AlertSummary, ...], score_max: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "alert_id": [r.alert_id for r in rows],
            "time": [r.event_ts for r in rows],
            "score": [r.score for r in rows],
            "severity": [severity_label(r.severity) for r in rows],
            "status": [status_label(r.status) for r in rows],
            "reasons": [", ".join(rule_label(x) for x in r.rule_ids) for r in rows],
            "customer": [r.customer_id for r in rows],
            "amount": [r.amount for r in rows],
            "country": [r.country or "" for r in rows],
            "device": [r.device or "" for r in rows],
        }
    )


@live(REFRESH_S)
def live_queue() -> None:
    ss = st.session_state
    if ss.pop("q_rerun_app", False):
        st.rerun()  # a selection made in here changes the detail panel outside
    rt = runtime()
    url = rt.settings.db_url
    ov = _overview(url)
    facets = _facets(url, ov)
    filters = _current_filters(facets)
    with db_session() as session:
        stats = q.queue_stats(session, rt.snapshot().payments_total, _payments_rows(url), ov)
        page = q.queue_page(session, filters, ss["q_sort"], ss["q_page"], ov=ov)

    k1, k2, k3, k4 = st.columns(4)
    k1.metric(t("queue.total"), f"{stats.total_alerts:,}", border=True)
    rate = stats.alert_rate
    k2.metric(
        t("m.alert_rate"),
        "—" if rate is None else f"{rate:.2%}",
        help=t("queue.rate_help", payments=f"{stats.payments_scored:,}"),
        border=True,
    )
    k3.metric(t("queue.high"), f"{stats.high:,}", border=True)
    k4.metric(t("status.PENDING_REVIEW"), f"{stats.pending:,}", border=True)

    if stats.total_alerts == 0:
        st.info(t("queue.no_alerts"))
        return
    p1, p2 = st.columns([3, 1])
    p1.caption(
        t(
            "queue.matching",
            n=t("queue.more_than", n=f"{q.COUNT_CAP:,}") if page.capped else f"{page.total:,}",
            page=page.page,
            pages=page.pages,
        )
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
    if not page.rows:
        st.info(t("queue.empty"))
        return

    shown = tuple(r.alert_id for r in page.rows)
    versions = {r.alert_id: r.row_version for r in page.rows}
    # The table's key follows its rows: when rows shift, the positional selection of the old
    # table is dropped and re-derived from the selected ids (selection_default); a
    # selection made elsewhere (the id picker) re-creates it too.
    digest = hashlib.blake2s("|".join(shown).encode(), digest_size=6).hexdigest()
    df_key = f"q_table_{digest}_{ss.get('q_table_gen', 0)}"
    selected = set(ss["q_sel"])
    frame = _table(page.rows, facets.score_max)
    styled = frame.style.map(_severity_style, subset=["severity"])
    st.dataframe(
        styled,
        hide_index=True,
        key=df_key,
        on_select=functools.partial(_on_table_select, df_key, shown, versions),
        selection_mode="multi-row",
        selection_default={
            "selection": {"rows": [i for i, a in enumerate(shown) if a in selected]}
        },
        column_config={
            "alert_id": st.column_config.TextColumn("ID", width="medium"),
            "time": st.column_config.DatetimeColumn("UTC", format="YYYY-MM-DD HH:mm:ss"),
            "score": st.column_config.ProgressColumn(
                "Score", format="%d", min_value=0, max_value=max(facets.score_max, 1)
            ),
            "severity": st.column_config.TextColumn(t("ax.severity")),
            "status": st.column_config.TextColumn(t("queue.status")),
            "reasons": st.column_config.TextColumn(t("queue.reason"), width="large"),
            "customer": st.column_config.TextColumn(t("queue.customer")),
            "amount": st.column_config.NumberColumn("€", format="%.2f"),
            "country": st.column_config.TextColumn(t("ax.country"), width="small"),
            "device": st.column_config.TextColumn(t("ax.device"), width="small"),
        },
        height=min(38 + 35 * len(page.rows), 640),
    )
    labels = {r.alert_id: f"{r.alert_id} · {r.score} · {r.customer_id}" for r in page.rows}
    options = list(dict.fromkeys([*ss["q_sel"], *shown]))
    st.multiselect(
        t("queue.select"),
        options,
        default=list(ss["q_sel"]),
        format_func=lambda a: labels.get(a, a),
        help=t("queue.select_help"),
        placeholder=t("queue.select_placeholder"),
        key=widget_key("q_sel"),
        on_change=_on_multiselect,
        args=(versions, widget_key("q_sel")),
    )


def _show_flash() -> None:
    for level, text in st.session_state.get("q_flash", []):
        getattr(st, level)(text)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def _detail_panel() -> None:
    ss = st.session_state
    st.subheader(t("queue.detail"))
    sel = list(ss["q_sel"])
    focus = ss["q_focus"]
    if focus is None:
        st.info(t("queue.pick_one"))
        return
    if len(sel) > 1 and focus in sel:
        st.selectbox(t("queue.open"), sel, index=sel.index(focus), **bind("q_focus"))
        focus = ss["q_focus"]
    with db_session() as session:
        detail = q.alert_detail(session, focus)
        if detail is None:
            st.warning(t("queue.not_found", alert_id=inert(focus)))
            return
        f = detail.fields
        history = q.customer_history(session, f["customer_id"], f["event_ts"], detail.alert_id)
        rt = runtime()
        timeline = q.session_timeline(rt, f["session_id"]) if f["session_id"] else None

    left, right = st.columns([1, 1])
    with left:
        st.dataframe(
            pd.DataFrame({t("field"): list(f), t("value"): [_fmt(v) for v in f.values()]}),
            hide_index=True,
            height=35 * (len(f) + 1) + 3,
        )
    with right:
        st.markdown(f"**{t('queue.breakdown')}** — {detail.fields['score']} pts")
        fr = lang() == "fr"
        st.dataframe(
            pd.DataFrame(
                {
                    t("ax.rule"): [rule_label(r.rule_id) for r in detail.reasons],
                    t("queue.points"): [r.points for r in detail.reasons],
                    t("queue.measured"): [
                        ", ".join(f"{k}={v}" for k, v in r.values.items()) for r in detail.reasons
                    ],
                    t("queue.detail_col"): [
                        r.detail_fr if fr else r.detail_en for r in detail.reasons
                    ],
                }
            ),
            hide_index=True,
            column_config={
                t("queue.points"): st.column_config.ProgressColumn(
                    format="%d",
                    min_value=0,
                    max_value=max((r.points for r in detail.reasons), default=1),
                )
            },
        )
        _actions(detail)

    st.markdown(f"**{t('queue.audit')}**")
    if detail.decisions:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "at": _fmt(d.at),
                        "actor": d.actor,
                        "action": d.action,
                        "from": status_label(d.from_status or ""),
                        "to": status_label(d.to_status or ""),
                        "note": d.note or "",
                    }
                    for d in detail.decisions
                ]
            ),
            hide_index=True,
        )
    else:
        st.caption(t("queue.no_audit"))

    h1, h2 = st.columns(2)
    with h1:
        st.markdown(f"**{t('queue.history')}: {t('queue.payments')}**")
        if history.payments:
            st.dataframe(pd.DataFrame([p.__dict__ for p in history.payments]), hide_index=True)
        else:
            st.caption(t("queue.no_payments"))
    with h2:
        st.markdown(f"**{t('queue.earlier_alerts')}**")
        if history.alerts:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "alert_id": a.alert_id,
                            "time": _fmt(a.event_ts),
                            "score": a.score,
                            "status": status_label(a.status),
                            "decided_by": a.decided_by or "",
                        }
                        for a in history.alerts
                    ]
                ),
                hide_index=True,
            )
        else:
            st.caption(t("queue.no_earlier"))

    st.markdown(f"**{t('queue.timeline')}**")
    if timeline is None:
        st.info(t("queue.no_session"))
    else:
        if not timeline.has_clickstream:
            st.info(t("queue.no_clickstream"))
        if timeline.problem:
            st.code(timeline.problem, language=None, wrap_lines=True)
        if timeline.events:
            st.dataframe(
                pd.DataFrame(
                    [
                        {"ts": _fmt(e.ts), "kind": e.kind, "detail": e.summary}
                        for e in timeline.events
                    ]
                ),
                hide_index=True,
            )


def _actions(detail: q.AlertDetail) -> None:
    ss = st.session_state
    st.markdown(f"**{t('queue.actions')}**")
    st.text_area(t("queue.note"), value=ss["q_note"], height=80, **bind("q_note"))
    cols = st.columns(len(ACTIONS))
    for col, (action, key, icon) in zip(cols, ACTIONS, strict=True):
        col.button(
            f"{icon} {t(key)}",
            key=f"q_act_{action}",
            on_click=_act_one,
            args=(detail.alert_id, detail.row_version, action),
            type="primary" if action == "BLOCK" else "secondary",
            width="stretch",
        )
    with st.expander(t("queue.bulk")):
        st.text_area(
            t("queue.bulk_note"), value=ss["q_bulk_note"], height=68, **bind("q_bulk_note")
        )
        n = len(ss["q_sel"])
        st.caption(t("queue.bulk_selected", n=n))
        cols = st.columns(len(ACTIONS))
        for col, (action, key, icon) in zip(cols, ACTIONS, strict=True):
            col.button(
                f"{icon} {t(key)}",
                key=f"q_bulk_sel_{action}",
                on_click=_act_selected,
                args=(action,),
                disabled=n == 0,
                width="stretch",
            )
        for what, default, label in (
            ("customer", detail.fields["customer_id"], t("queue.bulk_customer")),
            ("device", detail.fields["device_id"] or "", t("queue.bulk_device")),
        ):
            wkey = f"q_bulk_{what}_{detail.alert_id}"
            st.text_input(label, value=default, key=wkey)
            cols = st.columns(len(ACTIONS))
            for col, (action, key, icon) in zip(cols, ACTIONS, strict=True):
                col.button(
                    f"{icon} {t(key)}",
                    key=f"q_bulk_{what}_{action}",
                    on_click=_act_open_of,
                    args=(action, what, wkey),
                    width="stretch",
                )


# --------------------------------------------------------------------------- page

sidebar()
require(Permission.READ_QUEUE)
init_state(STATE_DEFAULTS)
st.session_state.pop("q_rerun_app", None)  # a full run already refreshes everything
st.title(t("nav.queue"))
_show_flash()
st.session_state["q_flash"] = []
_url = runtime().settings.db_url
_filters_ui(_facets(_url, _overview(_url)))
live_queue()
st.divider()
_detail_panel()
