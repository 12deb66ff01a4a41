"""The dataset studio's sections: the generator's form, a dataset's summary and check, loading,
streaming or replaying it with the live counters, and the two imports.

The page script (``pages/4_dataset_studio.py``) lays out the tabs and the chosen dataset's
header and calls these.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import streamlit as st

from desk import (
    DEFAULT_MIX,
    FRAUD_SCENARIOS,
    MAX_SCALE,
    REFERENCE_CUSTOMERS,
    DataGenError,
    GenParams,
    LoadProgress,
    Refused,
    data_ops,
    datasets,
    studio,
)
from pages._charts import fraud_scenarios_chart, per_day_chart
from pages._datasets import label as dataset_label
from pages._ui import (
    current_user,
    form,
    inert,
    lang,
    live,
    num,
    pct,
    picker_day,
    refused,
    runtime,
    said,
    source_label,
    state_label,
    t,
)

PREVIEW_ROWS = 10
FLASH_S = 15.0
CUSTOMER_STEP = 25  # the generator's smallest scale, 0.01, in customers
FRAUD_RATES: tuple[float, ...] = tuple(i / 200 for i in range(101))  # 0 to 50 %, by 0.5 %
SPEEDS: tuple[float, ...] = (0.0, 1.0, 60.0, 600.0, 3600.0, 86400.0)  # 0: no pacing


def flash(message: str) -> None:
    """A confirmation shown at the top of the next runs for a few seconds: a plain pop-once
    message would be lost to any extra rerun (a fragment's timer, a second click).  It goes
    through markdown: every value in it must have been through ``inert``."""
    st.session_state.st_flash = (message, time.monotonic())


def show_flash() -> None:
    got = st.session_state.get("st_flash")
    if got is None:
        return
    if time.monotonic() - got[1] < FLASH_S:
        st.success(got[0])
    else:
        del st.session_state["st_flash"]


def show_error(exc: studio.StudioError | Refused) -> None:
    """The message, and where in which file when the dataset itself is at fault."""
    if isinstance(exc, Refused):
        refused(exc)
        return
    where = []
    if exc.file:
        where.append(t("st.err.file", file=studio.file_words(exc.file, lang())))
    if exc.line is not None:
        where.append(t("st.err.line", line=exc.line))
    if exc.column:
        where.append(t("st.err.column", column=exc.column))
    st.error(t("st.err.title"), icon=":material/error:")
    if where:
        st.text(" · ".join(where))
    st.code(exc.message_in(lang()), language=None, wrap_lines=True)


@st.cache_data(max_entries=8, show_spinner=False)
def cached_summary(path: str, stamp: str) -> studio.Summary:
    return studio.summary(Path(path))


@st.cache_data(max_entries=8, show_spinner=False)
def cached_check(path: str, stamp: str) -> studio.CheckReport:
    return studio.dataset_check(Path(path))


def show_check(report: studio.CheckReport) -> None:
    st.subheader(t("st.check"), help=t("st.check_help"))
    st.caption(
        t(
            "st.check_summary",
            errors=len(report.errors),
            warnings=len(report.warnings),
            seconds=f"{report.seconds:.1f}",
        )
    )
    findings, rules = studio.check_tables(report, lang())
    st.dataframe(findings, hide_index=True, placeholder="", key="st_check_findings")
    st.dataframe(rules, hide_index=True, placeholder="", key="st_check_rules")


@st.cache_data(max_entries=8, show_spinner=False)
def cached_preview(path: str, stamp: str) -> dict:
    return studio.preview(Path(path), PREVIEW_ROWS)


def speed_label(speed: float) -> str:
    return t("st.speed.x", x=num(speed)) if speed else t("st.speed.max")


def generate_form(root: Path) -> None:
    """The generator's parameters and its button; a new dataset becomes the one selected."""
    with form("st_generate"):
        st.caption(t("st.gen.help"))
        c = st.columns(4)
        seed = c[0].number_input(t("st.seed"), min_value=0, value=42, step=1, key="st_seed")
        # Whole customers, not a fractional scale, and the fraud rate as a percentage with
        # the language's decimal sign: a printf format ("%.2f") writes a decimal point.
        customers = c[1].number_input(
            t("st.customers"),
            min_value=CUSTOMER_STEP,
            max_value=int(REFERENCE_CUSTOMERS * MAX_SCALE),
            value=REFERENCE_CUSTOMERS,
            step=CUSTOMER_STEP,
            key="st_customers",
            help=t("st.customers_help"),
        )
        fraud_rate = c[2].select_slider(
            t("st.fraud_rate"),
            options=FRAUD_RATES,
            value=0.02,
            format_func=lambda share: pct(share, 1),
            key="st_fraud_rate",
        )
        start = c[3].date_input(
            t("st.start"), value=date(2025, 11, 1), format=picker_day(), key="st_start"
        )
        c = st.columns(4)
        days = c[0].number_input(t("st.days"), min_value=1, max_value=3660, value=61, key="st_days")
        name_in = c[1].text_input(t("st.name"), key="st_name", help=t("st.name_help"))
        overwrite = c[2].checkbox(t("st.overwrite"), key="st_overwrite")
        st.caption(t("st.mix"))
        mc = st.columns(len(FRAUD_SCENARIOS))
        mix = {  # whole weights (the default ones in percent): no decimal sign to write
            s: mc[i].number_input(
                t(f"sc.{s}"),
                min_value=0,
                max_value=100,
                value=round(DEFAULT_MIX[s] * 100),
                step=1,
                key=f"st_mix_{s}",
            )
            / 100
            for i, s in enumerate(FRAUD_SCENARIOS)
        }
        submitted = st.form_submit_button(t("st.generate"), type="primary", icon=":material/build:")

    if submitted:
        try:
            params = GenParams(
                seed=int(seed),
                scale=int(customers) / REFERENCE_CUSTOMERS,
                fraud_rate=float(fraud_rate),
                start=start,
                days=int(days),
                mix=mix,
            )
            name = (name_in or "").strip() or studio.default_name(params)
            bar = st.progress(0.0, text=t("st.generating"))

            def progress(fraction: float, message: str) -> None:
                # The generator's steps carry their key and counts: said in the session's words.
                key, counts = getattr(message, "key", ""), getattr(message, "counts", {})
                said = t(key, **{k: num(v) for k, v in counts.items()}) if key else message
                bar.progress(min(max(fraction, 0.0), 1.0), text=said)

            out = data_ops.generate(
                runtime(), current_user(), root, name, params, progress, overwrite=overwrite
            )
            st.session_state.st_want = out.name
            flash(t("st.generated", name=inert(out.name)))
            st.rerun()
        except DataGenError as exc:
            st.error(t("st.bad_params", error=inert(said(exc))))
        except (studio.StudioError, Refused) as exc:
            show_error(exc)


def dataset_summary(path: Path, stamp: str) -> None:
    """What the dataset holds (per day, per fraud scenario) and its import check."""
    summ: studio.Summary | None
    try:
        summ = cached_summary(str(path), stamp)
    except (studio.StudioError, Refused) as exc:
        show_error(exc)
        summ = None
    if summ is not None:
        st.subheader(t("st.summary"))
        st.caption(
            t("st.layout", layout=summ.layout, labelled=t("yes" if summ.labelled else "no"))
            + " · "
            + ", ".join(t(f"st.count.{k}", n=num(v)) for k, v in summ.counts.items())
        )
        left, right = st.columns(2)
        left.plotly_chart(per_day_chart(summ.per_day), width="stretch", key="st_per_day")
        if not summ.by_scenario.empty:
            fig = fraud_scenarios_chart(summ.by_scenario)
            right.plotly_chart(fig, width="stretch", key="st_by_scenario")
        else:
            right.info(t("st.no_fraud"))
        show_check(cached_check(str(path), stamp))


def load_section(path: Path) -> None:
    st.subheader(t("st.load"))
    st.caption(t("st.load_help"))
    if st.button(t("st.load_btn"), key="st_load", icon=":material/database_upload:"):
        bar = st.progress(0.0, text=t("st.loading"))

        def on_load(p: LoadProgress) -> None:
            bar.progress(
                p.done / p.total if p.total else 1.0,
                text=t(
                    "st.load_progress",
                    table=p.table,
                    done=num(p.done),
                    total=num(p.total),
                    rate=num(p.rows_per_s),
                ),
            )

        try:
            report = data_ops.load(runtime(), current_user(), path, on_load)
            bar.progress(1.0, text=t("st.loaded_bar"))
            st.success(
                t(
                    "st.loaded",
                    rows=num(report.rows),
                    new=num(report.inserted),
                    s=f"{report.read_s + report.write_s:.1f}",
                )
            )
            st.cache_data.clear()  # insights and other cached reads see the new payments
        except (studio.StudioError, Refused) as exc:
            show_error(exc)


def stream_section(path: Path, name: str) -> None:
    st.subheader(t("st.stream"))
    rt = runtime()
    embedded = rt.settings.embedded
    st.caption(t("st.replay_help") if embedded else t("st.stream_help"))
    row = st.columns([2, 1])
    speed = row[0].selectbox(
        t("st.speed"),
        SPEEDS,
        index=3,
        format_func=speed_label,
        key="st_speed",
        help=t("st.speed_help"),
    )
    row[1].write("")
    label = t("st.replay_btn") if embedded else t("st.stream_btn")
    if row[1].button(label, key="st_stream", type="primary", icon=":material/play_arrow:"):
        try:
            if embedded:
                plan = datasets.replay_plan(rt, path.name)
                if plan.asks:  # other datasets' alerts: keep or clear them, in a dialog
                    st.dialog(t("ds.replay_title"), width="large")(_confirm_replay)(
                        path, speed or None, plan
                    )
                    return
                data_ops.replay(rt, current_user(), path, speed or None)
                flash(t("st.replay_started", name=inert(name)))
            else:
                data_ops.stream(rt, current_user(), path, speed or None)
                flash(t("st.stream_started", name=inert(name)))
            st.rerun()
        except (studio.StudioError, Refused) as exc:
            show_error(exc)


def _confirm_replay(path: Path, speed: float | None, plan: datasets.ReplayPlan) -> None:
    """A replay meets other datasets' alerts: keep them (each page shows one dataset) or
    clear them first; nothing happens until one is chosen."""
    rt = runtime()
    others = [d.name for d in plan.others]
    shown = ", ".join(f"{dataset_label(d.name, lang())} ({num(d.alerts)})" for d in plan.others)
    st.write(t("ds.replay_others", others=inert(shown), name=inert(path.name)))
    if plan.decided:
        st.warning(t("ds.replay_decided", n=num(plan.decided)))
    c = st.columns(3)
    keep = c[0].button(t("ds.keep"), key="ds_keep", type="primary")
    clear = c[1].button(t("ds.clear"), key="ds_clear")
    if c[2].button(t("queue.cancel"), key="ds_cancel"):
        st.rerun()
    if not (keep or clear):
        return
    try:
        n = data_ops.replay(rt, current_user(), path, speed, clear=others if clear else ())
    except (studio.StudioError, Refused) as exc:
        show_error(exc)
        return
    if clear:
        flash(t("ds.replay_cleared", name=inert(path.name), n=num(n)))
    else:
        flash(t("st.replay_started", name=inert(path.name)))
    st.cache_data.clear()  # the pages' dataset lists and counts
    st.rerun()


def dataset_counts(info: studio.DatasetInfo, stamp: str) -> tuple[int | None, int | None]:
    """(payments, frauds) for the cards: the manifest's, else the summary's."""
    try:
        summ = cached_summary(str(info.path), stamp)
    except (studio.StudioError, Refused):
        summ = None  # the summary section says why
    return studio.known_counts(info, summ)


@live(1)
def live_counters() -> None:
    """What the detector (and the Kafka producer, when one runs) has done so far."""
    snap = runtime().snapshot()
    source = source_label(snap.source) if snap.source else "–"
    st.caption(t("st.live", state=inert(state_label(snap.state)), source=inert(source)))
    c = st.columns(4)
    c[0].metric(t("pipe.events"), num(snap.events_total))
    c[1].metric(t("pipe.payments"), num(snap.payments_total))
    c[2].metric(t("pipe.alerts"), num(snap.alerts_total))
    c[3].metric(t("sidebar.events_s"), num(snap.events_per_s))
    job = studio.current_stream(runtime())
    if job is not None:
        share = job.done / job.total if job.total else 0.0
        st.progress(
            1.0 if job.finished else min(share, 1.0),
            text=t(
                "st.c.sent",
                done=num(job.done),
                total=num(job.total),
                name=inert(job.dataset.name),
            ),
        )
        if job.error:  # a broker's or a dataset's words: escaped, never markup
            st.error(inert(said(job.failure) if job.failure else job.error))
        elif job.finished and job.summary:
            st.text(job.summary)
        if job.running and st.button(t("st.stop_stream"), key="st_stop_stream"):
            try:
                data_ops.stop_stream(runtime(), current_user())
            except Refused as exc:
                refused(exc)


def import_directory_section(root: Path) -> None:
    st.subheader(t("st.import_dir"))
    row = st.columns([3, 1])
    src = row[0].text_input(t("st.dir_path"), key="st_import_dir", placeholder="/path/to/export")
    dir_name = row[1].text_input(t("st.name"), key="st_import_dir_name", help=t("st.name_help"))
    if st.button(t("st.import_btn"), key="st_import_dir_btn", icon=":material/folder_open:"):
        try:
            res = data_ops.import_directory(
                runtime(), current_user(), src.strip(), root, dir_name.strip() or None
            )
            st.session_state.st_want = res.path.name
            flash(
                t(
                    "st.imported",
                    name=inert(res.path.name),
                    layout=inert(res.layout),
                    payments=num(res.payments),
                )
                + (
                    " " + t("st.check_warnings", n=len(res.check.warnings))
                    if res.check is not None and res.check.warnings
                    else ""
                )
            )
            st.rerun()
        except (studio.StudioError, Refused) as exc:
            show_error(exc)


def import_zip_section(root: Path) -> None:
    st.subheader(t("st.import_zip"))
    limit_mb = int(st.get_option("server.maxUploadSize"))
    upload = st.file_uploader(
        t("st.zip", mb=limit_mb), type=["zip"], key="st_upload", help=t("st.zip_help")
    )
    zip_name = st.text_input(t("st.name"), key="st_zip_name", help=t("st.name_help"))
    if st.button(
        t("st.import_btn"),
        key="st_import_zip_btn",
        disabled=upload is None,
        icon=":material/upload_file:",
    ):
        assert upload is not None
        name = zip_name.strip() or Path(upload.name).stem
        try:
            res = data_ops.import_zip(
                runtime(),
                current_user(),
                upload.getvalue(),
                root,
                name,
                max_bytes=limit_mb * 1024**2,
            )
            st.session_state.st_want = res.path.name
            msg = t(
                "st.imported",
                name=inert(res.path.name),
                layout=inert(res.layout),
                payments=num(res.payments),
            )
            if res.skipped:  # entry names are the uploader's: inert
                msg += " " + t("st.skipped", files=inert(", ".join(res.skipped)))
            if res.check is not None and res.check.warnings:
                msg += " " + t("st.check_warnings", n=len(res.check.warnings))
            flash(msg)
            st.rerun()
        except (studio.StudioError, Refused) as exc:
            show_error(exc)
