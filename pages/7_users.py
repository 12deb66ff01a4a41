"""Users: accounts, roles, passwords and API tokens (admins only; every change goes to the
audit trail)."""

from __future__ import annotations

import streamlit as st

from desk import ROLES, Permission, auth, tokens
from pages._accounts import act, done, flash, new_token, role_name, tokens_table, users_table
from pages._ui import form, require, runtime, sidebar, t

sidebar()
who = require(Permission.MANAGE_USERS)
rt = runtime()
st.title(t("nav.users"))
st.caption(t("us.caption"))
flash()

users = auth.list_users(rt, who)
users_table(users)

left, right = st.columns(2)
# Fields stay after a refusal (to fix one of them); they empty once the account exists.
with left, form("us_create"):
    st.subheader(t("us.create"))
    name = st.text_input(t("us.user"), max_chars=64, key="us_name")
    display = st.text_input(t("us.display_name"), max_chars=128, key="us_display")
    role = st.selectbox(t("us.role"), ROLES, index=1, format_func=role_name, key="us_role")
    password = st.text_input(
        t("us.initial_password"), type="password", max_chars=256, key="us_password"
    )
    submit = st.form_submit_button(t("us.create"), type="primary", icon=":material/person_add:")
    if submit and act(who, auth.create_user, name, role, password, display or None):
        for key in ("us_name", "us_display", "us_password"):
            del st.session_state[key]
        done(t("us.created", name=name.strip().lower()))

with right:
    st.subheader(t("us.edit"))
    names = [u.username for u in users]
    picked = st.selectbox(t("us.user"), names, key="us_pick") if names else None
    current = next((u for u in users if u.username == picked), None)
    if current is None:
        st.stop()
    with form("us_edit"):
        new_role = st.selectbox(
            t("us.role"),
            ROLES,
            index=ROLES.index(current.role),
            format_func=role_name,
            key=f"us_new_role_{current.username}",
        )
        active = st.checkbox(
            t("us.active"), value=current.active, key=f"us_active_{current.username}"
        )
        if st.form_submit_button(t("us.apply"), icon=":material/save:"):
            ok = new_role == current.role or act(who, auth.change_role, current.username, new_role)
            ok = ok and (
                active == current.active or act(who, auth.set_active, current.username, active)
            )
            if ok:
                done(t("us.updated", name=current.username))
    with form("us_reset", clear_on_submit=True):
        pw = st.text_input(t("me.new"), type="password", max_chars=256, key="us_reset")
        reset = st.form_submit_button(t("us.reset_btn"), icon=":material/key:")
        if reset and act(who, auth.reset_password, current.username, pw):
            done(t("us.reset_done", name=current.username))

    # API tokens of the selected account: the secret is shown once, right after creation.
    st.subheader(t("us.tokens"))
    with form("us_token", clear_on_submit=True):
        label = st.text_input(t("us.token_label"), max_chars=128, key="us_token_label")
        days = st.number_input(
            t("us.token_days"), min_value=0, max_value=3650, value=90, key="us_token_days"
        )
        if st.form_submit_button(t("us.token_create"), icon=":material/vpn_key:"):
            new_token(who, current.username, label, int(days))
    held = tokens.list_tokens(rt, who, current.username)
    if held:
        tokens_table(held)
    usable = [tok.id for tok in held if tok.usable]
    if usable:
        with form("us_revoke"):
            pick = st.selectbox(t("us.token_pick"), usable, key="us_token_pick")
            if st.form_submit_button(t("us.token_revoke"), icon=":material/block:") and act(
                who, tokens.revoke_token, pick
            ):
                done(t("us.token_revoked", id=pick, name=current.username))
