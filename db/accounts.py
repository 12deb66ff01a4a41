"""Accounts: create, check a password, change role/state/password.  The caller commits.

Passwords are hashed with Argon2id (argon2-cffi, RFC 9106 low-memory profile); hashes made
with older parameters are upgraded at the next successful sign-in.  A run of wrong passwords
locks the account for a while, which makes guessing slow without locking anyone out for good.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db import web_sessions
from db.errors import DbError
from db.models import ROLES, SignInFailure, User
from db.types import utc_now
from detector.common import i18n

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD = 12
MAX_PASSWORD = 256  # hashing cost is per byte of input: bound it
MAX_FAILED = 5
LOCK_FOR = timedelta(minutes=5)
FORGET_AFTER = timedelta(days=1)  # failures of names without an account

_hasher = PasswordHasher()


class AccountError(DbError):
    """A bad user name, role or password, or an account change that is not allowed.

    ``what`` is a catalogue key (``key`` and ``fields`` let a page say it in the user's
    language; ``str()`` is the English, for logs and the command line), or plain English for
    what only the command line says."""

    def __init__(self, what: str, **fields: object) -> None:
        self.key = what if what in i18n.CATALOGUE else ""
        self.fields = fields
        super().__init__(i18n.text(what, "en", **fields) if self.key else what)


class UserExists(AccountError):
    pass


class UnknownUser(AccountError, LookupError):
    pass


class SignIn(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # unknown user or wrong password: one answer, so names cannot be probed
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class SignInResult:
    outcome: SignIn
    user: User | None = None
    locked_until: datetime | None = None


def normalize_username(name: str) -> str:
    clean = (name or "").strip().lower()
    if not USERNAME_RE.fullmatch(clean):
        raise AccountError("acc.bad_name")
    return clean


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError("acc.bad_role", roles=", ".join(ROLES), role=repr(role))
    return role


def check_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("acc.pw_short", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise AccountError("acc.pw_long", n=MAX_PASSWORD)
    if username and username in password.lower():
        raise AccountError("acc.pw_name")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    *,
    display_name: str | None = None,
    created_by: str | None = None,
) -> User:
    name = normalize_username(username)
    check_role(role)
    check_password(password, name)
    if session.get(User, name) is not None:
        raise UserExists("acc.exists", name=name)
    user = User(
        username=name,
        display_name=(display_name or "").strip() or None,
        role=role,
        password_hash=hash_password(password),
        active=True,
        failed_logins=0,
        created_by=created_by,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User | None:
    return session.get(User, (username or "").strip().lower())


def require_user(session: Session, username: str) -> User:
    user = get_user(session, username)
    if user is None:
        raise UnknownUser("acc.unknown", name=username)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def active_admins(session: Session) -> int:
    stmt = select(func.count()).select_from(User).where(User.role == "admin", User.active)
    return int(session.scalar(stmt) or 0)


def sign_in(
    session: Session, username: str, password: str, now: datetime | None = None
) -> SignInResult:
    """Check a password; counts failures, locks after :data:`MAX_FAILED`, rehashes when the
    hashing parameters changed.  The caller commits (failures included)."""
    now = now or utc_now()
    name = (username or "").strip().lower()
    user = session.get(User, name) if USERNAME_RE.fullmatch(name) else None
    if user is None:
        verify_password(_dummy_hash(), password)  # as much work as a real account: no timing oracle
        return _unknown_failed(session, name[:64], now)
    if user.locked_until is not None and user.locked_until > now:
        return SignInResult(SignIn.LOCKED, user, user.locked_until)
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED:
            user.locked_until = now + LOCK_FOR
            user.failed_logins = 0
            return SignInResult(SignIn.LOCKED, user, user.locked_until)
        return SignInResult(SignIn.WRONG, user)
    if not user.active:
        return SignInResult(SignIn.DISABLED, user)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return SignInResult(SignIn.OK, user)


def _unknown_failed(session: Session, name: str, now: datetime) -> SignInResult:
    """Count a failure for a name without an account exactly as for an account, so the
    answers (and the lockout) do not tell which names exist."""
    row = session.get(SignInFailure, name)
    if row is None:
        # Names nobody has tried for a day are forgotten: the table stays small.
        session.execute(delete(SignInFailure).where(SignInFailure.updated_at < now - FORGET_AFTER))
        row = SignInFailure(name=name, failed=0, locked_until=None, updated_at=now)
        session.add(row)
    row.updated_at = now
    if row.locked_until is not None and row.locked_until > now:
        return SignInResult(SignIn.LOCKED, None, row.locked_until)
    row.failed += 1
    if row.failed >= MAX_FAILED:
        row.locked_until = now + LOCK_FOR
        row.failed = 0
        return SignInResult(SignIn.LOCKED, None, row.locked_until)
    return SignInResult(SignIn.WRONG)


# Changing who someone is or what they may do ends their open sessions: each takes effect at
# the user's next refresh, not at their next sign-in.


def set_role(session: Session, username: str, role: str) -> User:
    user = require_user(session, username)
    check_role(role)
    if user.role == "admin" and role != "admin" and user.active:
        _keep_an_admin(session)
    if role != user.role:
        web_sessions.revoke_user(session, user.username, "role changed")
    user.role = role
    return user


def set_active(session: Session, username: str, active: bool) -> User:
    user = require_user(session, username)
    if not active and user.role == "admin" and user.active:
        _keep_an_admin(session)
    user.active = active
    if active:
        user.failed_logins = 0
        user.locked_until = None
    else:
        web_sessions.revoke_user(session, user.username, "account disabled")
    return user


def set_password(
    session: Session, username: str, password: str, keep_session: str | None = None
) -> User:
    """New password; every session of the account ends but ``keep_session`` (the one of a
    user changing their own password)."""
    user = require_user(session, username)
    check_password(password, user.username)
    user.password_hash = hash_password(password)
    user.password_changed_at = utc_now()
    user.failed_logins = 0
    user.locked_until = None
    web_sessions.revoke_user(session, user.username, "password changed", keep=keep_session)
    return user


def _keep_an_admin(session: Session) -> None:
    if active_admins(session) <= 1:
        raise AccountError("acc.last_admin")


def verify_password(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anyone: only equalises timing")
