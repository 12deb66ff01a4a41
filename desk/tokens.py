"""API tokens as use cases: an admin creates and revokes them, a front end turns a presented
token into a :class:`Principal`.  Every change and every refused token goes to the trail.

A token acts as its account: the account's role and active flag are read with the token on
every call (and :func:`~desk.auth.authorize` trusts that reading for the rest of the call),
so demoting or disabling the account takes effect at the token's next call, exactly as for a
signed-in page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from db import audit as trail
from db import tokens
from db.engine import once_more_if_stale
from db.tokens import NewToken, TokenError
from db.types import utc_now
from desk.auth import Permission, Principal, Refused, authorize
from desk.handle import Handle

__all__ = [
    "BadToken",
    "NewToken",
    "TokenError",
    "TokenView",
    "authenticate",
    "create_token",
    "list_tokens",
    "revoke_token",
]

# A token's principal lives for one call: these only have to outlast it.
_CALL = timedelta(hours=1)


class BadToken(Refused):
    """No token, or one that is unknown, revoked or expired (one answer for all: a caller
    cannot tell a revoked token from one that never existed)."""

    def __init__(self, missing: bool = False) -> None:
        super().__init__(
            "send an API token: Authorization: Bearer <token>"
            if missing
            else "the API token is not valid (unknown, revoked or expired)"
        )


@dataclass(frozen=True)
class TokenView:
    id: int
    prefix: str  # the first characters, for telling tokens apart; never the secret
    username: str
    label: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utc_now())


def authenticate(rt: Handle, secret: str | None, client: str = "") -> Principal:
    """The principal a token stands for, or :class:`BadToken` (audited, with the client's
    address and never the token)."""
    if not secret:
        _refused(rt, client, "missing")
        raise BadToken(missing=True)

    def find() -> tokens.TokenOwner | None:
        with rt.lookups() as session:
            owner = tokens.find_owner(session, secret)
            # last_used_at, at most once a minute: most calls write nothing, and a commit
            # with nothing written costs what the rollback of closing the session would.
            session.commit()
            return owner

    # Every call of the API starts here: the one place that meets a connection a database
    # restart left stale (the API's pool does not test connections on checkout).
    owner = once_more_if_stale(find)
    if owner is None:
        _refused(rt, client, "invalid")
        raise BadToken()
    now = utc_now()
    # The role and active flag were read with the token: authorize need not read them again
    # in this call (a disabled account is left to it, which refuses and audits).
    verified = time.monotonic() if owner.active else 0.0
    return Principal(owner.username, owner.role, now, now, _CALL, _CALL, verified_at=verified)


def _refused(rt: Handle, client: str, why: str) -> None:
    with rt.lookups() as session:
        trail.record_alone(
            session,
            trail.Entry("?", trail.TOKEN_REFUSED, trail.DENIED, None, None,
                        {"why": why, "client": client[:64]}),
        )  # fmt: skip


def create_token(
    rt: Handle,
    who: Principal | None,
    username: str,
    label: str | None = None,
    expires_at: datetime | None = None,
) -> NewToken:
    """A new token for ``username``; its secret is in the result and nowhere else."""
    me = authorize(rt, who, Permission.MANAGE_USERS, username)
    with rt.sessions() as session:
        new = tokens.create_token(
            session, username, me.username, label=label, expires_at=expires_at
        )
        trail.record(
            session,
            trail.Entry(me.username, trail.TOKEN_CREATE, target=new.username, role=me.role,
                        detail={"token_id": new.id, "label": label,
                                "expires_at": expires_at.isoformat() if expires_at else None}),
        )  # fmt: skip
        session.commit()
    return new


def revoke_token(rt: Handle, who: Principal | None, token_id: int) -> None:
    me = authorize(rt, who, Permission.MANAGE_USERS, f"token {token_id}")
    with rt.sessions() as session:
        token = tokens.revoke_token(session, token_id, me.username)
        trail.record(
            session,
            trail.Entry(me.username, trail.TOKEN_REVOKE, target=token.username, role=me.role,
                        detail={"token_id": token_id}),
        )  # fmt: skip
        session.commit()


def list_tokens(rt: Handle, who: Principal | None, username: str | None = None) -> list[TokenView]:
    authorize(rt, who, Permission.MANAGE_USERS)
    with rt.sessions() as session:
        return [
            TokenView(
                t.id,
                t.prefix,
                t.username,
                t.label or "",
                t.created_by,
                t.created_at,
                t.expires_at,
                t.revoked_at,
                t.last_used_at,
            )
            for t in tokens.list_tokens(session, username)
        ]
