"""Who may do what: signed-in principals, role permissions, and the account/audit services.

Every service function that reads protected data or changes anything takes the caller's
:class:`Principal` and calls :func:`authorize` first, so a page that forgot to hide a button
still cannot act.  The role is re-read from the database on each check: disabling an account
or changing its role takes effect at the user's next action, not at their next sign-in.
Refusals are written to the audit trail.

A sign-in is also a server-side session (``db.web_sessions``): every refresh calls
:func:`refresh`, which ends the session once it is revoked (sign-out, a password change, a
role change, disabling) or expired; the browser keeps it across reloads through a signed,
HttpOnly cookie (:func:`cookie_value`) that names it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy.orm import Session

from db import accounts, tokens, web_sessions
from db import audit as trail
from db.models import ROLES, User
from db.types import utc_now
from desk.handle import Handle
from detector.common import i18n
from detector.common.private import private_dir

Sessions = Callable[[], Session]


class Permission(StrEnum):
    READ_INSIGHTS = "read insights"
    READ_QUEUE = "read the alert queue"
    DECIDE = "decide alerts"
    READ_PIPELINE = "read the pipeline"
    TUNE = "tune rules"
    PUBLISH_RULES = "publish rule sets"
    MANAGE_DATA = "generate, import, load and stream data"
    MANAGE_USERS = "manage users"
    READ_AUDIT = "read the audit trail"
    SCORE_PAYMENTS = "score payments"


_VIEWER = {Permission.READ_INSIGHTS}
_ANALYST = _VIEWER | {
    Permission.READ_QUEUE,
    Permission.DECIDE,
    Permission.READ_PIPELINE,
    Permission.SCORE_PAYMENTS,
}
_RULE_OWNER = _VIEWER | {
    Permission.READ_QUEUE,
    Permission.READ_PIPELINE,
    Permission.TUNE,
    Permission.PUBLISH_RULES,
    Permission.MANAGE_DATA,
}
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "viewer": frozenset(_VIEWER),
    "analyst": frozenset(_ANALYST),
    "rule_owner": frozenset(_RULE_OWNER),
    "admin": frozenset(Permission),
}
assert set(ROLE_PERMISSIONS) == set(ROLES)


class Refused(Exception):
    """The caller may not do this; the message says why and is safe to show (in English;
    ``key`` and ``fields``, when set, say it in the user's language)."""

    key = ""
    fields: dict[str, object] = {}  # noqa: RUF012 - read only, replaced per instance


class NotSignedIn(Refused):
    key = "in.first"

    def __init__(self) -> None:
        super().__init__(i18n.text(self.key, "en"))


class SessionExpired(Refused):
    key = "in.expired"  # what a page shows (pages._ui.said); the English below is for logs

    def __init__(self, username: str) -> None:
        super().__init__(f"the session of {username!r} has expired; sign in again")


class SessionEnded(Refused):
    def __init__(self, username: str, why: str) -> None:
        self.why = why
        self.key = "in.expired" if why == "expired" else "in.ended"
        super().__init__(f"the session of {username!r} has ended ({why}); sign in again")


class Forbidden(Refused):
    def __init__(self, username: str, role: str | None, permission: Permission) -> None:
        self.permission = permission
        self.username, self.role = username, role
        who = f"{username!r} ({role})" if role else repr(username)
        super().__init__(f"{who} may not {permission.value}")


# How long a role read from the database counts as current (within one API call: the token
# check and the use case it authorizes).
FRESH_S = 1.0


@dataclass(frozen=True)
class Principal:
    """A signed-in user, as the app holds it in the browser session's (server-side) state."""

    username: str
    role: str
    signed_in_at: datetime
    last_seen: datetime
    idle: timedelta
    max_age: timedelta
    session_id: str | None = None  # the server-side session (None: not from a sign-in)
    # time.monotonic() when role and active flag were read from the database in this call
    # (an API token's check reads them with the token): authorize trusts such a reading for
    # FRESH_S instead of reading them again. 0: never (a page's principal lives for hours).
    verified_at: float = 0.0

    def expired(self, now: datetime | None = None) -> bool:
        now = now or utc_now()
        return now - self.last_seen > self.idle or now - self.signed_in_at > self.max_age

    def touched(self, now: datetime | None = None) -> Principal:
        return replace(self, last_seen=now or utc_now())

    def may(self, permission: Permission) -> bool:
        """For showing or hiding things; the service checks again with :func:`authorize`."""
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())


def authorize(
    rt: Handle, who: Principal | None, permission: Permission, target: str | None = None
) -> Principal:
    """Return ``who`` with its current role, or raise :class:`Refused` (and audit it)."""
    who = _signed_in(who)
    if time.monotonic() - who.verified_at < FRESH_S and permission in ROLE_PERMISSIONS.get(
        who.role, frozenset()
    ):
        return who
    with rt.sessions() as session:
        user = session.get(User, who.username)
        role = user.role if user is not None else None
        active = user is not None and user.active
        engine = session.get_bind()
    if active and role is not None and permission in ROLE_PERMISSIONS[role]:
        return who if role == who.role else replace(who, role=role)
    trail.record_alone(
        engine,
        trail.Entry(
            who.username,
            permission.name.lower(),
            trail.DENIED,
            target,
            role,
            {"why": "account disabled" if not active else "role lacks the permission"},
        ),
    )
    raise Forbidden(who.username, role if active else "disabled", permission)


def _signed_in(who: Principal | None) -> Principal:
    if who is None:
        raise NotSignedIn()
    if who.expired():
        raise SessionExpired(who.username)
    return who


# --------------------------------------------------------------------------- signing in


def any_user(rt: Handle) -> bool:
    """Whether an account exists (the sign-in page explains how to create the first one)."""
    with rt.sessions() as session:
        return accounts.count_users(session) > 0


@dataclass(frozen=True)
class SignInOutcome:
    principal: Principal | None
    key: str  # why not, as a catalogue key: safe to show, never says whether the name exists
    handoff: str = ""  # for the browser to fetch its session cookie with, once (web route)
    fields: tuple[tuple[str, str], ...] = ()

    def in_lang(self, lang: str) -> str:
        return i18n.text(self.key, lang, **dict(self.fields)) if self.key else ""

    @property
    def message(self) -> str:
        """The English (logs, the API)."""
        return self.in_lang("en")


def sign_in(
    rt: Handle,
    username: str,
    password: str,
    idle: timedelta,
    max_age: timedelta,
    binding: str = "",
) -> SignInOutcome:
    """Check the password; on success start a server-side session.  ``binding`` is a value
    the browser that signed in will send again with the handoff (see :func:`exchange`)."""
    name = (username or "").strip().lower()
    started = None
    with rt.sessions() as session:
        result = accounts.sign_in(session, name, password or "")
        if result.outcome is accounts.SignIn.OK:
            started = web_sessions.start(session, name, binding)
        outcome = {
            accounts.SignIn.OK: trail.OK,
            accounts.SignIn.WRONG: trail.FAILED,
            accounts.SignIn.LOCKED: trail.DENIED,
            accounts.SignIn.DISABLED: trail.DENIED,
        }[result.outcome]
        role = result.user.role if result.user else None
        trail.record(
            session,
            trail.Entry(name[:64] or "?", trail.SIGN_IN, outcome, None, role,
                        {"result": result.outcome.value}),
        )  # fmt: skip
        session.commit()
    if result.outcome is accounts.SignIn.OK and role is not None and started is not None:
        now = utc_now()
        who = Principal(name, role, now, now, idle, max_age, started.session_id)
        return SignInOutcome(who, "", started.handoff)
    if result.outcome is accounts.SignIn.LOCKED and result.locked_until is not None:
        at = f"{result.locked_until:%H:%M}"
        return SignInOutcome(None, "in.locked", fields=(("at", at),))
    if result.outcome is accounts.SignIn.DISABLED:
        return SignInOutcome(None, "in.disabled")
    return SignInOutcome(None, "in.wrong")


def sign_out(rt: Handle, who: Principal) -> None:
    with rt.sessions() as session:
        if who.session_id is not None:
            web_sessions.revoke(session, who.session_id, "signed out")
        trail.record(session, trail.Entry(who.username, trail.SIGN_OUT, role=who.role))
        session.commit()


# --------------------------------------------------------------------------- sessions


def refresh(rt: Handle, who: Principal, touch: bool = True) -> Principal:
    """``who`` as of now, or :class:`SessionEnded`.  Called on every refresh of a page
    (fragments included): the account must still exist, be active and have the role it
    signed in with, and the session must be neither revoked nor expired.  ``touch`` counts
    the refresh as activity (a live refresh is not)."""
    now = utc_now()
    if who.expired(now):
        raise SessionEnded(who.username, "expired")
    with rt.sessions() as session:
        found = web_sessions.check(session, who.session_id, who.username)
        user, row = found.user, found.row
        why = None
        if user is None:
            why = "account removed"
        elif not user.active:
            why = "account disabled"
        elif user.role != who.role:
            why = "role changed"
        elif who.session_id is not None:
            if row is None or row.username != who.username:
                why = "session unknown"
            elif row.revoked_at is not None:
                why = row.revoked_why or "revoked"
            elif not web_sessions.alive(row, now, who.idle, who.max_age, who.last_seen):
                why = "expired"
        if why is not None:
            if row is not None and row.revoked_at is None:
                web_sessions.revoke(session, row.id, why, now)
                session.commit()
            raise SessionEnded(who.username, why)
        if touch and row is not None:
            web_sessions.touch(session, row, now)
            session.commit()
    return who.touched(now) if touch else who


def resume(rt: Handle, token: str, idle: timedelta, max_age: timedelta) -> Principal | None:
    """The principal of the session a browser's cookie names (after a reload), if it is
    still good; None otherwise."""
    with rt.sessions() as session:
        row = web_sessions.by_token(session, token)
        if row is None:
            return None
        user = session.get(User, row.username)
        sid, name, created, seen = row.id, row.username, row.created_at, row.last_seen_at
        if user is None or not user.active or not web_sessions.alive(row, utc_now(), idle, max_age):
            return None
        role = user.role
    who = Principal(name, role, created, seen, idle, max_age, sid)
    try:
        return refresh(rt, who)
    except SessionEnded:
        return None


def exchange(rt: Handle, handoff: str, binding: str = "") -> str | None:
    """The session token for a sign-in's one-time ``handoff``, or None (used, late, revoked,
    or presented with another ``binding`` than at sign-in)."""
    with rt.sessions() as session:
        got = web_sessions.exchange(session, handoff, binding)
        session.commit()
    return got[1] if got is not None else None


def end_by_token(rt: Handle, token: str) -> None:
    """Revoke the session a cookie names (the sign-out route, whatever the page did)."""
    with rt.sessions() as session:
        row = web_sessions.by_token(session, token)
        if row is not None:
            web_sessions.revoke(session, row.id, "signed out")
            session.commit()


def cookie_value(secret: bytes, token: str) -> str:
    """``token`` signed: a cookie nobody can forge or alter without the server's secret."""
    return f"{token}.{_mac(secret, token)}"


def cookie_token(secret: bytes, value: str) -> str | None:
    token, _, mac = (value or "").rpartition(".")
    if not token or not hmac.compare_digest(mac, _mac(secret, token)):
        return None
    return token


def _mac(secret: bytes, token: str) -> str:
    digest = hmac.new(secret, token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def cookie_secret(configured: str, data_dir: Path) -> bytes:
    """The cookie-signing key: ``KVT_SESSION_SECRET`` if set, else a random key made once in
    the data directory (mode 0600), shared by every process on that directory."""
    if configured:
        return configured.encode()
    path = data_dir / "session.key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    private_dir(data_dir)
    key = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


# --------------------------------------------------------------------------- accounts (admin)


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    role: str
    active: bool
    locked: bool
    last_login_at: datetime | None
    created_at: datetime
    created_by: str


def list_users(rt: Handle, who: Principal | None) -> list[UserView]:
    authorize(rt, who, Permission.MANAGE_USERS)
    now = utc_now()
    with rt.sessions() as session:
        return [
            UserView(
                u.username,
                u.display_name or "",
                u.role,
                u.active,
                u.locked_until is not None and u.locked_until > now,
                u.last_login_at,
                u.created_at,
                u.created_by or "",
            )
            for u in accounts.list_users(session)
        ]


def create_user(
    rt: Handle,
    who: Principal | None,
    username: str,
    role: str,
    password: str,
    display_name: str | None = None,
) -> str:
    me = authorize(rt, who, Permission.MANAGE_USERS, username)
    with rt.sessions() as session:
        user = accounts.create_user(
            session, username, role, password, display_name=display_name, created_by=me.username
        )
        trail.record(
            session,
            trail.Entry(me.username, trail.USER_CREATE, target=user.username, role=me.role,
                        detail={"role": role}),
        )  # fmt: skip
        session.commit()
        return user.username


def change_role(rt: Handle, who: Principal | None, username: str, role: str) -> None:
    me = authorize(rt, who, Permission.MANAGE_USERS, username)
    with rt.sessions() as session:
        user = accounts.require_user(session, username)
        before = user.role
        accounts.set_role(session, username, role)
        revoked = tokens.revoke_all(session, user.username, me.username) if role != before else []
        trail.record(
            session,
            trail.Entry(me.username, trail.USER_ROLE, target=user.username, role=me.role,
                        detail={"from": before, "to": role, "tokens_revoked": revoked}),
        )  # fmt: skip
        session.commit()


def set_active(rt: Handle, who: Principal | None, username: str, active: bool) -> None:
    me = authorize(rt, who, Permission.MANAGE_USERS, username)
    with rt.sessions() as session:
        user = accounts.set_active(session, username, active)
        revoked = [] if active else tokens.revoke_all(session, user.username, me.username)
        trail.record(
            session,
            trail.Entry(me.username, trail.USER_ACTIVE, target=user.username, role=me.role,
                        detail={"active": active, "tokens_revoked": revoked}),
        )  # fmt: skip
        session.commit()


def reset_password(rt: Handle, who: Principal | None, username: str, password: str) -> None:
    me = authorize(rt, who, Permission.MANAGE_USERS, username)
    _set_password(rt, me, username, password)


def change_own_password(rt: Handle, who: Principal | None, current: str, new: str) -> None:
    """Any signed-in user, for their own account, knowing the current password.  Their other
    sessions end; this one goes on."""
    who = _signed_in(who)
    with rt.sessions() as session:
        user = accounts.require_user(session, who.username)
        if not user.active or not accounts.verify_password(user.password_hash, current):
            raise accounts.AccountError("acc.current_wrong")
    _set_password(rt, who, who.username, new, keep=who.session_id)


def _set_password(
    rt: Handle, me: Principal, username: str, password: str, keep: str | None = None
) -> None:
    with rt.sessions() as session:
        user = accounts.set_password(session, username, password, keep_session=keep)
        revoked = tokens.revoke_all(session, user.username, me.username)
        # The hash never goes to the trail: only the fact that it changed.
        trail.record(
            session,
            trail.Entry(me.username, trail.USER_PASSWORD, target=user.username, role=me.role,
                        detail={"tokens_revoked": revoked}),
        )  # fmt: skip
        session.commit()
