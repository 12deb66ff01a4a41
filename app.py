"""KiVendTout Fraud Desk: navigation, the one runtime per process, and the sidebar.

Run with ``streamlit run app.py``.  Pages stay thin scripts in ``pages/``; shared helpers are in
``pages/_ui.py`` and the logic behind them in ``db/desk``.
"""

from __future__ import annotations

import streamlit as st

from pages._ui import runtime, sidebar, t

st.set_page_config(page_title="KiVendTout Fraud Desk", page_icon="🛡️", layout="wide")

page = st.navigation(
    [
        st.Page(
            "pages/1_alert_queue.py",
            title=t("nav.queue"),
            icon=":material/notifications_active:",
            default=True,
        ),
        st.Page("pages/2_insights.py", title=t("nav.insights"), icon=":material/insights:"),
        st.Page("pages/3_rule_tuning.py", title=t("nav.tuning"), icon=":material/tune:"),
        st.Page("pages/4_dataset_studio.py", title=t("nav.studio"), icon=":material/dataset:"),
        st.Page("pages/5_pipeline.py", title=t("nav.pipeline"), icon=":material/monitor_heart:"),
    ]
)
runtime()  # start the runtime (and, with a broker, the detector) once per process
sidebar()
page.run()
