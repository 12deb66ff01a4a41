"""Dataset studio: generate, preview, import and export datasets; load, stream or replay them.

The sections are drawn by ``pages._studio``."""

from __future__ import annotations

import streamlit as st

from desk import Permission, studio, tuning
from pages._studio import (
    cached_preview,
    dataset_counts,
    dataset_summary,
    generate_form,
    import_directory_section,
    import_zip_section,
    live_counters,
    load_section,
    show_flash,
    stream_section,
)
from pages._ui import inert, lang, num, require, runtime, sidebar, t, when

sidebar()
require(Permission.MANAGE_DATA)
state = st.session_state

st.title(t("nav.studio"))
rt = runtime()
root = studio.datasets_root(rt.settings.data_dir)
show_flash()

# Keyed: the tab the user is on stays open through the reruns an action makes (a new key per
# language, as the selection is kept by label).
tab_gen, tab_sets, tab_import = st.tabs(
    [t("st.generate"), t("st.tab.datasets"), t("st.import_btn")],
    key=f"st_tab.{lang()}",
    on_change="rerun",
)

# --------------------------------------------------------------------------- generate
with tab_gen:
    generate_form(root)

# --------------------------------------------------------------------------- datasets
datasets = studio.list_datasets(root)
with tab_sets:
    if not datasets:
        st.info(t("st.none"))
    else:
        names = [d.name for d in datasets]
        if (wanted := state.pop("st_want", None)) in names:
            state.st_selected = wanted
        if state.get("st_selected") not in names:
            state.st_selected = names[0]
        name = st.selectbox(t("st.dataset"), names, key="st_selected")
        info = next(d for d in datasets if d.name == name)
        path = info.path
        stamp = tuning.dataset_stamp(path)
        payments, frauds = dataset_counts(info, stamp)
        cards = st.columns(3)
        cards[0].metric(t("st.size"), t("st.mb", n=num(info.size_bytes / 1e6, 1)))
        cards[1].metric(t("st.payments"), num(payments) if payments is not None else "–")
        cards[2].metric(t("st.frauds"), num(frauds) if frauds is not None else "–")
        about = t("st.modified", when=when(info.modified))
        if info.params:  # from the manifest: an imported one says what it likes
            shown = ", ".join(f"{k}={v}" for k, v in info.params.items() if k != "mix")
            about += " · " + t("st.params", p=inert(shown))
        st.caption(about)

        st.subheader(t("st.preview"))
        previews = cached_preview(str(path), stamp)
        tabs = st.tabs(list(previews))
        for tab, (file, frame) in zip(tabs, previews.items(), strict=True):
            tab.dataframe(frame, hide_index=True, placeholder="", key=f"st_prev_{file}")

        dataset_summary(path, stamp)

        st.download_button(
            t("st.download"),
            data=lambda: studio.zip_dataset(path),
            file_name=f"{name}.zip",
            mime="application/zip",
            key="st_download",
            icon=":material/folder_zip:",
            on_click="ignore",
        )

        load_section(path)
        stream_section(path, name)

with tab_sets:
    if datasets:
        live_counters()

# --------------------------------------------------------------------------- import
with tab_import:
    st.caption(t("st.import_help"))
    import_directory_section(root)
    import_zip_section(root)
