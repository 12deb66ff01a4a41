"""Users: accounts, roles, passwords and API tokens (admins only; every change goes to the
audit trail)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from desk import ROLES, AccountError, Permission, auth, tokens
from pages._ui import refused, require, runtime, sidebar, ta

sidebar()
who = require(Permission.MANAGE_USERS)
rt = runtime()
st.title(ta("us.title"))
st.caption(ta("us.caption"))

for message in st.session_state.pop("us_flash", []):
    st.success(message)


def role_name(role: str) -> str:
    return ta(f"role.{role}")


def act(fn: Callable[..., object], *args: object) -> bool:
    """Call an account service; show why it was refused, if it was."""
    try:
        fn(rt.sessions, who, *args)
    except auth.Refused as exc:
        refused(exc)
    except AccountError as exc:
        st.error(str(exc))
    else:
        return True
    return False


def done(message: str) -> None:
    st.session_state["us_flash"] = [message]
    st.rerun()


users = auth.list_users(rt.sessions, who)
st.dataframe(
    pd.DataFrame(
        [
            {
                ta("us.col.username"): u.username,
                ta("us.col.display_name"): u.display_name,
                ta("us.col.role"): role_name(u.role),
                ta("us.col.active"): u.active,
                ta("us.col.locked"): u.locked,
                ta("us.col.last_login_at"): u.last_login_at,
                ta("us.col.created_at"): u.created_at,
                ta("us.col.created_by"): u.created_by,
            }
            for u in users
        ]
    ),
    hide_index=True,
    width="stretch",
)

left, right = st.columns(2)
with left, st.form("us_create", clear_on_submit=True):
    st.subheader(ta("us.create"))
    name = st.text_input(ta("us.col.username"), max_chars=64, key="us_name")
    display = st.text_input(ta("us.display_name"), max_chars=128, key="us_display")
    role = st.selectbox(ta("us.role"), ROLES, index=1, format_func=role_name, key="us_role")
    password = st.text_input(
        ta("us.initial_password"), type="password", max_chars=256, key="us_password"
    )
    submit = st.form_submit_button(ta("us.create"), type="primary", icon=":material/person_add:")
    if submit and act(auth.create_user, name, role, password, display or None):
        done(ta("us.created", name=name.strip().lower()))

with right:
    st.subheader(ta("us.edit"))
    names = [u.username for u in users]
    picked = st.selectbox(ta("us.user"), names, key="us_pick") if names else None
    current = next((u for u in users if u.username == picked), None)
    if current is not None:
        with st.form("us_edit"):
            new_role = st.selectbox(
                ta("us.role"),
                ROLES,
                index=ROLES.index(current.role),
                format_func=role_name,
                key=f"us_new_role_{current.username}",
            )
            active = st.checkbox(
                ta("us.active"), value=current.active, key=f"us_active_{current.username}"
            )
            if st.form_submit_button(ta("us.apply"), icon=":material/save:"):
                ok = new_role == current.role or act(auth.change_role, current.username, new_role)
                ok = ok and (
                    active == current.active or act(auth.set_active, current.username, active)
                )
                if ok:
                    done(ta("us.updated", name=current.username))
        with st.form("us_reset", clear_on_submit=True):
            pw = st.text_input(ta("us.reset"), type="password", max_chars=256, key="us_reset")
            reset = st.form_submit_button(ta("us.reset_btn"), icon=":material/key:")
            if reset and act(auth.reset_password, current.username, pw):
                done(ta("us.reset_done", name=current.username))

        # API tokens of the selected account: the secret is shown once, right after creation.
        st.subheader(ta("us.tokens"))
        with st.form("us_token", clear_on_submit=True):
            label = st.text_input(ta("us.token_label"), max_chars=128, key="us_token_label")
            days = st.number_input(
                ta("us.token_days"), min_value=0, max_value=3650, value=90, key="us_token_days"
            )
            if st.form_submit_button(ta("us.token_create"), icon=":material/vpn_key:"):
                expires = datetime.now(UTC) + timedelta(days=int(days)) if days else None
                try:
                    new = tokens.create_token(
                        rt.sessions, who, current.username, label or None, expires
                    )
                except auth.Refused as exc:
                    refused(exc)
                except AccountError as exc:
                    st.error(str(exc))
                else:
                    st.warning(ta("us.token_once"))
                    st.code(new.secret, language=None)
        held = tokens.list_tokens(rt.sessions, who, current.username)
        if held:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            ta("us.tcol.id"): t.id,
                            ta("us.tcol.prefix"): f"{t.prefix}…",
                            ta("us.tcol.label"): t.label,
                            ta("us.tcol.expires_at"): t.expires_at,
                            ta("us.tcol.last_used_at"): t.last_used_at,
                            ta("us.tcol.revoked_at"): t.revoked_at,
                        }
                        for t in held
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
        usable = [t.id for t in held if t.usable]
        if usable:
            with st.form("us_revoke"):
                pick = st.selectbox(ta("us.token_pick"), usable, key="us_token_pick")
                if st.form_submit_button(ta("us.token_revoke"), icon=":material/block:") and act(
                    tokens.revoke_token, pick
                ):
                    done(ta("us.token_revoked", id=pick, name=current.username))
