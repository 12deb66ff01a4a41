"""Sign-in: the only page before a user is signed in."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from desk import auth
from pages._ui import PRINCIPAL_KEY, runtime, sidebar, ta

sidebar()
rt = runtime()
st.title(ta("in.title"))
if st.session_state.pop("signed_out_expired", False):
    st.info(ta("in.expired"))
if not auth.any_user(rt.sessions):
    st.warning(ta("in.no_users"))
    st.code("python -m db create-user YOUR_NAME --role admin", language="bash")

with st.form("sign_in"):
    username = st.text_input(
        ta("in.username"), max_chars=64, autocomplete="username", key="in_user"
    )
    password = st.text_input(
        ta("in.password"),
        type="password",
        max_chars=256,
        autocomplete="current-password",
        key="in_password",
    )
    submitted = st.form_submit_button(ta("in.submit"), type="primary", icon=":material/login:")

if submitted:
    s = rt.settings
    outcome = auth.sign_in(
        rt.sessions,
        username,
        password,
        idle=timedelta(minutes=s.session_idle_min),
        max_age=timedelta(hours=s.session_max_h),
    )
    if outcome.principal is None:
        st.error(outcome.message)
    else:
        st.session_state[PRINCIPAL_KEY] = outcome.principal
        st.rerun()
