"""The pipeline page's panels: counters, lag, service health, rule set and dead letters.

Each function draws one part of ``pages/5_pipeline.py`` from what ``desk.pipeline`` and
``desk.datasets`` answer; the page script puts them in order.  (Not ``_pipeline.py``: its
URL path, the file name without the digits and underscores in front, would be
``5_pipeline``'s.)
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from desk import Runtime, datasets, rulesets
from desk import pipeline as pl
from pages._charts import throughput_chart
from pages._ui import (
    bind,
    grid_time,
    inert,
    lang,
    num,
    renew,
    source_label,
    state_label,
    t,
    when,
    widget_key,
)


def counters(snap: pl.StatusSnapshot) -> None:
    """The detector's state and totals, its input counters, source and last error."""
    c = st.columns(6)
    c[0].metric(t("pipe.state"), state_label(snap.state), border=True)
    c[1].metric(t("pipe.events"), num(snap.events_total), border=True)
    c[2].metric(t("pipe.payments"), num(snap.payments_total), border=True)
    c[3].metric(t("pipe.alerts"), num(snap.alerts_total), border=True)
    c[4].metric(t("pipe.dead"), num(snap.dead_letters_total), border=True)
    c[5].metric(t("sidebar.events_s"), num(snap.events_per_s), border=True)
    st.caption(t("pipe.input"))
    for col, (key, value) in zip(st.columns(5), pl.input_counters(snap), strict=True):
        col.metric(t(key), num(value), help=t(key + "_help"), border=True)
    if snap.source:
        st.caption(t("pipe.source"))
        st.text(source_label(snap.source))
    if snap.last_error:
        st.caption(t("sidebar.last_error"))
        st.code(snap.last_error, language=None, wrap_lines=True)


def throughput(rt: Runtime) -> None:
    points = pl.throughput(pl.samples(rt))
    if points:
        st.altair_chart(throughput_chart(points), width="stretch")
    else:
        st.caption(t("pipe.no_samples"))


def lag(snap: pl.StatusSnapshot) -> None:
    """Messages behind per partition, as bars of the largest lag."""
    rows = pl.lag_rows(snap)
    if not rows:
        st.caption(t("pipe.no_lag"))
        return
    st.dataframe(
        pd.DataFrame(rows, columns=[t("pipe.partition"), t("pipe.behind")]),
        hide_index=True,
        placeholder="",
        column_config={
            t("pipe.behind"): st.column_config.ProgressColumn(
                format="%d", min_value=0, max_value=max(max(n for _, n in rows), 1)
            )
        },
    )
    st.caption(f"{t('sidebar.lag')}: {num(snap.total_lag)}")


def health(rt: Runtime) -> None:
    """Database, broker and detector thread: state and detail, one row each."""
    h = pl.runtime_health(rt)
    database = "✅ " + t("ok") if h.database_ok else "❌ " + t("error")
    rows = [(t("sidebar.database"), database, h.database_error or h.database)]
    if h.broker_ok is None:
        rows.append((t("sidebar.broker"), "➖ " + t("pipe.not_configured"), t("sidebar.embedded")))
    else:
        reach = "✅ " + t("sidebar.reachable") if h.broker_ok else "❌ " + t("sidebar.unreachable")
        rows.append((t("sidebar.broker"), reach, h.broker_error or h.broker))
    thread = "✅ " + t("pipe.alive") if h.detector_alive else "⏸️ " + t("pipe.not_running")
    rows.append((t("pipe.thread"), thread, str(rt.replay_dir or "")))
    columns = [t("pipe.col.service"), t("pipe.col.state"), t("queue.detail_col")]
    st.dataframe(
        pd.DataFrame(rows, columns=columns), hide_index=True, placeholder="", width="stretch"
    )


def ruleset(rt: Runtime, snap: pl.StatusSnapshot) -> None:
    """The active rule set (version, label, author, moment, fingerprint), and the version
    the detector scores with."""
    info = pl.active_ruleset(rt)
    if info is None:
        st.caption(t("pipe.no_ruleset"))
    else:
        st.metric(t("sidebar.ruleset"), f"v{info.version}", border=True)
        said = rulesets.words(lang(), info.label, info.author)
        stamp = f"{said.author} · {when(info.created_at)} UTC"
        st.text(f"{said.label}\n{stamp}\n{info.fingerprint[:16]}")
    if snap.ruleset_version:
        st.caption(f"{t('sidebar.detector')}: v{snap.ruleset_version}")


def dataset_counters(rt: Runtime, name: str) -> None:
    """The alerts of dataset ``name``, and whether the counters above are its own."""
    view = datasets.dataset_view(rt, name)
    c = st.columns(5)
    c[0].metric(t("queue.total"), num(view.alerts), border=True)
    c[1].metric(t("queue.high"), num(view.high), border=True)
    c[2].metric(t("status.PENDING_REVIEW"), num(view.pending), border=True)
    paid = num(view.payments) if view.payments is not None else "–"
    c[3].metric(t("ds.payments"), paid, border=True)
    last = view.last_alert_at
    c[4].metric(t("ds.last_alert"), f"{last:%Y-%m-%d %H:%M}" if last else "–", border=True)
    if view.scored_now:
        st.caption(t("ds.scored_now"))
    else:
        st.caption(t("ds.not_scored", source=inert(rt.snapshot().source or "–")))


def dead_letter_pager(dead: pl.DeadLetterPage) -> None:
    """How many dead letters, and the page number (``p_dead_page``, clamped by the query)."""
    ss = st.session_state
    if ss["p_dead_page"] != dead.page or ss.get(widget_key("p_dead_page"), dead.page) != dead.page:
        renew("p_dead_page", dead.page)
    a, b = st.columns([4, 1])
    a.caption(t("queue.matching", n=num(dead.total), page=dead.page, pages=dead.pages))
    b.number_input(
        t("queue.page"),
        min_value=1,
        max_value=dead.pages,
        value=dead.page,
        label_visibility="collapsed",
        **bind("p_dead_page"),
    )


def dead_letter_table(rows: list[pl.DeadLetterView]) -> None:
    frame = pd.DataFrame(
        [
            {
                "id": r.id,
                "received_at": r.received_at,
                "topic": r.source_topic,
                "partition": r.partition,
                "offset": r.offset,
                "reason": r.reason,
                "detail": r.detail,
            }
            for r in rows
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        placeholder="",
        column_config={
            "id": t("au.col.id"),
            "received_at": st.column_config.DatetimeColumn(
                t("pipe.col.received_at"), format=grid_time(seconds=True)
            ),
            "topic": t("pipe.col.topic"),
            "partition": t("pipe.partition"),
            "offset": t("pipe.col.offset"),
            "reason": t("pipe.col.reason"),
            "detail": st.column_config.TextColumn(t("queue.detail_col"), width="large"),
        },
    )


def payload(rows: list[pl.DeadLetterView]) -> None:
    """A dead letter of the page (``p_dead_id``, the first when it left the page) and its
    raw payload."""
    ss = st.session_state
    ids = [r.id for r in rows]
    current = ss["p_dead_id"] if ss["p_dead_id"] in ids else ids[0]
    if ss["p_dead_id"] != current or ss.get(widget_key("p_dead_id"), current) not in ids:
        renew("p_dead_id", current)
    chosen = st.selectbox(t("pipe.payload"), ids, index=ids.index(current), **bind("p_dead_id"))
    raw = next(r.payload for r in rows if r.id == chosen)
    st.code(raw[:20_000], language=None, wrap_lines=True)
