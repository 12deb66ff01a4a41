"""The users page's tables and its one way of calling an account service.

(Not ``_users.py``: Streamlit derives a page's URL path from its file name without the digits
and underscores in front, and ``_users`` would collide with ``7_users``.)

``pages/7_users.py`` draws the forms in the order the page shows them; the tables of
accounts and tokens and the handling of a refused or failed change are here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from desk import AccountError, Principal, auth, tokens
from pages._ui import refused, runtime, said, t, when

FLASH = "us_flash"


def moment(at: datetime | None) -> str:
    """A moment in the session's words (UTC); a dash, never "None", when there is none."""
    return f"{when(at)} UTC" if at is not None else "–"


def role_name(role: str) -> str:
    return t(f"role.{role}")


def act(who: Principal, fn: Callable[..., object], *args: object) -> bool:
    """Call an account service; show why it was refused, if it was."""
    try:
        fn(runtime(), who, *args)
    except auth.Refused as exc:
        refused(exc)
    except AccountError as exc:
        st.error(said(exc))
    else:
        return True
    return False


def done(message: str) -> None:
    """Rerun the page (its tables show the change) with ``message`` on top."""
    st.session_state[FLASH] = [message]
    st.rerun()


def flash() -> None:
    for message in st.session_state.pop(FLASH, []):
        st.success(message)


def users_table(users: Sequence[auth.UserView]) -> None:
    rows = [
        {
            t("us.user"): u.username,
            t("us.col.display_name"): u.display_name or "",  # never a raw "None"
            t("us.role"): role_name(u.role),
            t("us.active"): u.active,
            t("us.col.locked"): u.locked,
            t("us.col.last_login_at"): moment(u.last_login_at),
            t("us.col.created_at"): moment(u.created_at),
            t("us.col.created_by"): u.created_by or "",
        }
        for u in users
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, placeholder="", width="stretch")


def new_token(who: Principal, username: str, label: str, days: int) -> None:
    """Create a token for ``username`` expiring in ``days`` (0: never) and show its secret,
    the only time it is shown."""
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    try:
        new = tokens.create_token(runtime(), who, username, label or None, expires)
    except auth.Refused as exc:
        refused(exc)
    except AccountError as exc:
        st.error(said(exc))
    else:
        st.warning(t("us.token_once"))
        st.code(new.secret, language=None)


def tokens_table(held: Sequence[tokens.TokenView]) -> None:
    rows = [
        {
            t("us.tcol.id"): tok.id,
            t("us.tcol.prefix"): f"{tok.prefix}…",
            t("us.tcol.label"): tok.label or "",
            t("us.tcol.expires_at"): moment(tok.expires_at),
            t("us.tcol.last_used_at"): moment(tok.last_used_at),
            t("us.tcol.revoked_at"): moment(tok.revoked_at),
        }
        for tok in held
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, placeholder="", width="stretch")
