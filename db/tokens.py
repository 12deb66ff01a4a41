"""API tokens: create (the secret is returned once, only its hash is kept), look up, revoke.

The caller commits.  A token is ``kvt_`` followed by 43 URL-safe characters (256 random
bits); its SHA-256 is the lookup key, so checking a token is one index probe and the table
never holds anything that would let a reader call the API.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from db.accounts import AccountError, require_user
from db.models import ApiToken, User
from db.types import utc_now

TOKEN_PREFIX = "kvt_"
SHOWN_PREFIX = 12  # "kvt_" and 8 characters: enough to tell tokens apart, useless to guess
MAX_LABEL = 128
MAX_TOKEN_LENGTH = 128  # anything longer is not a token of ours: refused before hashing
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is a hint, not a write per request


class TokenError(AccountError):
    """A token that cannot be created or revoked (unknown account or token, bad expiry)."""


@dataclass(frozen=True)
class NewToken:
    id: int
    secret: str  # shown once; never stored
    username: str
    expires_at: datetime | None


@dataclass(frozen=True)
class TokenOwner:
    """What a valid token says: whose it is, with that account's role and state now."""

    token_id: int
    username: str
    role: str
    active: bool


_TOKENS, _USERS = ApiToken.__table__, User.__table__
_OWNER = (
    select(
        _TOKENS.c.id,
        _TOKENS.c.username,
        _TOKENS.c.revoked_at,
        _TOKENS.c.expires_at,
        _TOKENS.c.last_used_at,
        _USERS.c.role,
        _USERS.c.active,
    )
    .join(_USERS, _USERS.c.username == _TOKENS.c.username)
    .where(_TOKENS.c.token_hash == bindparam("digest"))
)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(
    session: Session,
    username: str,
    created_by: str,
    *,
    label: str | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> NewToken:
    now = now or utc_now()
    user = require_user(session, username)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise TokenError("expires: give a time zone (e.g. 2027-01-31T00:00Z)")
        if expires_at <= now:
            raise TokenError(f"expires: {expires_at:%Y-%m-%d %H:%M} UTC is already past")
    clean = (label or "").strip() or None
    if clean is not None and len(clean) > MAX_LABEL:
        raise TokenError(f"label: at most {MAX_LABEL} characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=digest(secret),
        prefix=secret[:SHOWN_PREFIX],
        username=user.username,
        label=clean,
        created_by=created_by,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return NewToken(row.id, secret, user.username, expires_at)


def find_owner(session: Session, secret: str, now: datetime | None = None) -> TokenOwner | None:
    """The owner of a token that exists, is not revoked and has not expired; else None.
    Records the use (at most once per :data:`TOUCH_EVERY`); the caller commits."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
        return None
    now = now or utc_now()
    # Columns, not an ApiToken object: every API call checks its token, and loading an ORM
    # entity (identity map, attribute state) costs more than the index probe itself.
    row = session.execute(_OWNER, {"digest": digest(secret)}).one_or_none()
    if row is None:
        return None
    token_id, username, revoked_at, expires_at, last_used_at, role, active = row
    if revoked_at is not None or (expires_at is not None and expires_at <= now):
        return None
    if last_used_at is None or now - last_used_at >= TOUCH_EVERY:
        session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    return TokenOwner(token_id, username, role, bool(active))


def revoke_token(session: Session, token_id: int, revoked_by: str) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise TokenError(f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utc_now()
        token.revoked_by = revoked_by
    return token


def revoke_all(
    session: Session, username: str, revoked_by: str, now: datetime | None = None
) -> list[int]:
    """Revoke every token of ``username`` not revoked yet (a password or role change, a
    disabled account: no token outlives the trust it was issued under); returns their ids."""
    now = now or utc_now()
    ids = list(
        session.scalars(
            select(ApiToken.id)
            .where(ApiToken.username == username, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
    )
    if ids:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id.in_(ids))
            .values(revoked_at=now, revoked_by=revoked_by)
            .execution_options(synchronize_session="fetch")
        )
    return ids


def list_tokens(session: Session, username: str | None = None) -> list[ApiToken]:
    """Newest first; of one account, or of all."""
    stmt = select(ApiToken).order_by(ApiToken.id.desc())
    if username is not None:
        stmt = stmt.where(ApiToken.username == username)
    return list(session.scalars(stmt))
