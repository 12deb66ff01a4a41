"""KiVendTout Fraud Desk: sign-in, navigation by role, the one runtime per process, the sidebar.

Run with ``streamlit run app.py``.  Pages stay thin scripts in ``pages/``; shared helpers are in
``pages/_ui.py`` and the logic behind them in the ``desk`` package.  Each page also checks its
permission itself (``pages._ui.require``), so hiding a page here is a convenience, not the
guard.
"""

from __future__ import annotations

import streamlit as st

import pages._web as web
from desk import Permission, startup_problem
from pages._ui import ASKED_FOR_KEY, current_user, refuse, runtime, sidebar, t

st.set_page_config(page_title="KiVendTout Fraud Desk", page_icon="🛡️", layout="wide")

try:
    runtime()  # start the runtime (and, with a broker, the detector) once per process
except Exception as exc:  # not cached: a rerun tries again
    known = startup_problem(exc)
    if known is None:
        raise
    headline, problem = t(known[0]), known[1]

    def cannot_start() -> None:
        st.error(headline)
        st.code(problem, language=None, wrap_lines=True)

    # A navigation of its own: without one Streamlit would list every file of pages/.
    st.navigation([st.Page(cannot_start, title=t("app.title"))], position="hidden").run()
    st.stop()

who = current_user()
if who is None:
    # Every page's URL answers with the sign-in form, so that a reload or a shared link keeps
    # its address (and query) through the sign-in and lands where it was meant to.
    sign_in = "pages/sign_in.py"
    title, icon = t("nav.sign_in"), ":material/login:"
    page = st.navigation(
        [st.Page(sign_in, title=title, icon=icon, default=True)]
        + [
            st.Page(sign_in, title=title, icon=icon, url_path=path, visibility="hidden")
            for path in web.PAGE_PATHS.values()
        ],
        position="hidden",
    )
    st.session_state[ASKED_FOR_KEY] = web.asked_for(page.url_path)
else:
    pages = [
        (Permission.READ_QUEUE, "pages/1_alert_queue.py", t("nav.queue"), "notifications_active"),
        (Permission.READ_INSIGHTS, "pages/2_insights.py", t("nav.insights"), "insights"),
        (Permission.TUNE, "pages/3_rule_tuning.py", t("nav.tuning"), "tune"),
        (Permission.MANAGE_DATA, "pages/4_dataset_studio.py", t("nav.studio"), "dataset"),
        (Permission.READ_PIPELINE, "pages/5_pipeline.py", t("nav.pipeline"), "monitor_heart"),
        (Permission.READ_AUDIT, "pages/6_audit.py", t("nav.audit"), "history"),
        (Permission.MANAGE_USERS, "pages/7_users.py", t("nav.users"), "group"),
    ]
    allowed = [
        st.Page(path, title=title, icon=f":material/{icon}:", url_path=web.PAGE_PATHS[path])
        for permission, path, title, icon in pages
        if who.may(permission)
    ]

    # A page the role may not open keeps its URL too, hidden from the menu: a shared link
    # says "access refused" (and the refusal is audited) instead of "page not found".
    refused = [
        st.Page(refuse(permission), title=title, url_path=web.PAGE_PATHS[path],
                visibility="hidden")
        for permission, path, title, _ in pages
        if not who.may(permission)
    ]  # fmt: skip

    def home() -> None:
        # The root URL opens the role's first page under its own address (the default page
        # of a navigation is only reachable at "/", never at its url_path), query and all.
        query = {k: st.query_params.get_all(k) for k in st.query_params}
        st.switch_page(allowed[0], query_params=query)

    page = st.navigation(
        [
            st.Page(home, title=allowed[0].title, default=True, visibility="hidden"),
            *allowed,
            *refused,
        ]
    )
    sidebar()
go_to = st.session_state.pop(web.GO_KEY, None)
if go_to and web.routes_served():
    # The browser leaves for a route of ours (the session cookie after signing in, its
    # removal after signing out); a page run now could switch pages and lose the redirect.
    web.go(go_to, t("in.continue"))
    st.stop()
page.run()
