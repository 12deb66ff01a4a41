"""Pipeline: detector state, throughput, consumer lag, dead letters, rule set, service health.

Everything refreshes in fragments; the throughput history is the process-wide ring buffer
of ``desk.pipeline`` (fed by this page and the sidebar from status snapshots).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from desk import Permission, datasets, rulesets
from desk import pipeline as pl
from pages._charts import throughput_chart
from pages._datasets import current as shown_dataset
from pages._datasets import picker
from pages._ui import (
    bind,
    grid_time,
    inert,
    init_state,
    lang,
    live,
    num,
    renew,
    require,
    runtime,
    sidebar,
    source_label,
    state_label,
    t,
    when,
    widget_key,
)

REFRESH_S = 2
DEAD_REFRESH_S = 10

init_state({"p_dead_page": 1, "p_dead_id": None})


def _health() -> pd.DataFrame:
    rt = runtime()
    h = pl.runtime_health(rt)
    database = "✅ " + t("ok") if h.database_ok else "❌ " + t("error")
    rows = [
        (t("sidebar.database"), database,
         h.database_error or rt.engine.url.render_as_string(hide_password=True)),
    ]  # fmt: skip
    if h.broker_ok is None:
        rows.append((t("sidebar.broker"), "➖ " + t("pipe.not_configured"), t("sidebar.embedded")))
    else:
        reach = "✅ " + t("sidebar.reachable") if h.broker_ok else "❌ " + t("sidebar.unreachable")
        rows.append((t("sidebar.broker"), reach, h.broker_error or h.broker))
    thread = "✅ " + t("pipe.alive") if h.detector_alive else "⏸️ " + t("pipe.not_running")
    rows.append((t("pipe.thread"), thread, str(rt.replay_dir or "")))
    return pd.DataFrame(
        rows, columns=[t("pipe.col.service"), t("pipe.col.state"), t("queue.detail_col")]
    )


@live(REFRESH_S)
def live_status() -> None:
    rt = runtime()
    snap = rt.snapshot()
    pl.record_sample(rt, snap)
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

    left, right = st.columns([3, 2])
    with left:
        st.subheader(t("pipe.throughput"))
        points = pl.throughput(pl.samples(rt))
        if points:
            st.altair_chart(throughput_chart(points), width="stretch")
        else:
            st.caption(t("pipe.no_samples"))
    with right:
        st.subheader(t("pipe.lag"))
        lag = pl.lag_rows(snap)
        if lag:
            st.dataframe(
                pd.DataFrame(lag, columns=[t("pipe.partition"), t("pipe.behind")]),
                hide_index=True,
                column_config={
                    t("pipe.behind"): st.column_config.ProgressColumn(
                        format="%d", min_value=0, max_value=max(max(n for _, n in lag), 1)
                    )
                },
            )
            st.caption(f"{t('sidebar.lag')}: {num(snap.total_lag)}")
        else:
            st.caption(t("pipe.no_lag"))

    h, r = st.columns([3, 2])
    with h:
        st.subheader(t("pipe.health"))
        st.dataframe(_health(), hide_index=True, width="stretch")
    with r:
        st.subheader(t("pipe.ruleset"))
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


@live(REFRESH_S)
def dataset_panel() -> None:
    """The alerts of the dataset picked above, and whether the counters are its own."""
    name = shown_dataset()
    if name is None:
        return
    rt = runtime()
    view = datasets.dataset_view(rt, name)
    c = st.columns(5)
    c[0].metric(t("queue.total"), num(view.alerts), border=True)
    c[1].metric(t("queue.high"), num(view.high), border=True)
    c[2].metric(t("status.PENDING_REVIEW"), num(view.pending), border=True)
    c[3].metric(
        t("ds.payments"), num(view.payments) if view.payments is not None else "–", border=True
    )
    last = view.last_alert_at
    c[4].metric(t("ds.last_alert"), f"{last:%Y-%m-%d %H:%M}" if last else "–", border=True)
    if view.scored_now:
        st.caption(t("ds.scored_now"))
    else:
        st.caption(t("ds.not_scored", source=inert(rt.snapshot().source or "–")))


@live(DEAD_REFRESH_S)
def dead_letters() -> None:
    ss = st.session_state
    st.subheader(t("pipe.dead_list"))
    dead = pl.dead_letter_page(runtime(), int(ss["p_dead_page"]))
    rows, total, page, pages = dead.rows, dead.total, dead.page, dead.pages
    if not rows:
        st.caption(t("pipe.no_dead"))
        return
    if ss["p_dead_page"] != page or ss.get(widget_key("p_dead_page"), page) != page:
        renew("p_dead_page", page)
    a, b = st.columns([4, 1])
    a.caption(t("queue.matching", n=num(total), page=page, pages=pages))
    b.number_input(
        t("queue.page"),
        min_value=1,
        max_value=pages,
        value=page,
        label_visibility="collapsed",
        **bind("p_dead_page"),
    )
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
    ids = [r.id for r in rows]
    current = ss["p_dead_id"] if ss["p_dead_id"] in ids else ids[0]
    if ss["p_dead_id"] != current or ss.get(widget_key("p_dead_id"), current) not in ids:
        renew("p_dead_id", current)
    chosen = st.selectbox(t("pipe.payload"), ids, index=ids.index(current), **bind("p_dead_id"))
    payload = next(r.payload for r in rows if r.id == chosen)
    st.code(payload[:20_000], language=None, wrap_lines=True)


sidebar()
require(Permission.READ_PIPELINE)
st.title(t("nav.pipeline"))
live_status()
st.divider()
if picker() is not None:
    dataset_panel()
    st.divider()
dead_letters()
