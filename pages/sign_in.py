"""Sign-in: the only page before a user is signed in."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

import pages._web as web
from desk import auth
from pages._ui import ASKED_FOR_KEY, PRINCIPAL_KEY, form, lang, runtime, sidebar, t

sidebar()
rt = runtime()
st.title(t("in.title"))
if st.session_state.pop("signed_out_expired", False):
    st.info(t("in.expired"))
if st.session_state.pop("signed_out_ended", False):
    st.info(t("in.ended"))
if not auth.any_user(rt):
    st.warning(t("in.no_users"))
    st.code("python -m db create-user YOUR_NAME --role admin", language="bash")

with form("sign_in"):
    username = st.text_input(t("in.username"), max_chars=64, autocomplete="username", key="in_user")
    password = st.text_input(
        t("in.password"),
        type="password",
        max_chars=256,
        autocomplete="current-password",
        key="in_password",
    )
    submitted = st.form_submit_button(t("in.submit"), type="primary", icon=":material/login:")

if submitted:
    s = rt.settings
    outcome = auth.sign_in(
        rt,
        username,
        password,
        idle=timedelta(minutes=s.session_idle_min),
        max_age=timedelta(hours=s.session_max_h),
        binding=web.browser_binding(),
    )
    if outcome.principal is None:
        st.error(outcome.in_lang(lang()))
    else:
        st.session_state[PRINCIPAL_KEY] = outcome.principal
        # The browser fetches its session cookie (HttpOnly: only an HTTP response can set
        # it), then comes back to the page it asked for.
        asked = st.session_state.get(ASKED_FOR_KEY, "/")
        st.session_state[web.GO_KEY] = web.session_url(outcome.handoff, asked)
        st.rerun()
