"""Server-side browser sessions: create, hand over, look up, touch, revoke.  The caller commits.

Only SHA-256 digests of the secrets are stored: the cookie's token (``token_hash``) and the
one-time handoff that the sign-in page gives the browser to fetch its cookie with
(``handoff_hash``).  A stolen copy of this table therefore opens no session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from db.models import DeskSession, User
from db.types import utc_now

HANDOFF_FOR = timedelta(seconds=60)  # the browser fetches its cookie right after signing in
# Activity is written at most this often: a click is not a database write each (on SQLite a
# write may wait for the detector's batch).  Idle limits are minutes, so a minute is precise
# enough.
TOUCH_EVERY = timedelta(seconds=60)
# Rows older than the longest possible session (KVT_SESSION_MAX_H is at most 30 days) are
# deleted at the next sign-in: they can only be ended sessions.
KEEP_FOR = timedelta(days=31)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Started:
    session_id: str
    handoff: str  # given to the browser once, exchanged for the cookie by the web route


def start(
    session: Session, username: str, binding: str = "", now: datetime | None = None
) -> Started:
    """A new session of ``username``; ``binding`` (e.g. a browser cookie's value) must come
    back with the handoff, so a handoff link sent to someone else signs nobody in."""
    now = now or utc_now()
    session.execute(delete(DeskSession).where(DeskSession.created_at < now - KEEP_FOR))
    sid = secrets.token_hex(16)
    handoff = secrets.token_urlsafe(32)
    session.add(
        DeskSession(
            id=sid,
            username=username,
            handoff_hash=digest(handoff + "|" + binding),
            handoff_until=now + HANDOFF_FOR,
            created_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return Started(sid, handoff)


def exchange(
    session: Session, handoff: str, binding: str = "", now: datetime | None = None
) -> tuple[DeskSession, str] | None:
    """Trade a handoff (once, within :data:`HANDOFF_FOR`) for the cookie's token."""
    now = now or utc_now()
    row = session.scalar(
        select(DeskSession).where(DeskSession.handoff_hash == digest(handoff + "|" + binding))
    )
    if row is None:
        return None
    until = row.handoff_until
    row.handoff_hash = None
    row.handoff_until = None
    if row.revoked_at is not None or until is None or until < now:
        return None
    token = secrets.token_urlsafe(32)
    row.token_hash = digest(token)
    return row, token


def by_token(session: Session, token: str) -> DeskSession | None:
    return session.scalar(select(DeskSession).where(DeskSession.token_hash == digest(token)))


@dataclass(frozen=True)
class Check:
    """What a refresh needs to know: is the session still good, and who is behind it."""

    row: DeskSession | None
    user: User | None


def check(session: Session, session_id: str | None, username: str) -> Check:
    row = session.get(DeskSession, session_id) if session_id else None
    return Check(row, session.get(User, username))


def alive(
    row: DeskSession,
    now: datetime,
    idle: timedelta,
    max_age: timedelta,
    seen: datetime | None = None,
) -> bool:
    """Not revoked, not idle (``seen``: a later activity the row does not have yet), not too
    old."""
    last = max(row.last_seen_at, seen) if seen is not None else row.last_seen_at
    return row.revoked_at is None and now - last <= idle and now - row.created_at <= max_age


def touch(session: Session, row: DeskSession, now: datetime | None = None) -> None:
    now = now or utc_now()
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now


def revoke(session: Session, session_id: str, why: str, now: datetime | None = None) -> None:
    session.execute(
        update(DeskSession)
        .where(DeskSession.id == session_id, DeskSession.revoked_at.is_(None))
        .values(revoked_at=now or utc_now(), revoked_why=why, handoff_hash=None)
    )


def revoke_user(
    session: Session, username: str, why: str, keep: str | None = None, now: datetime | None = None
) -> int:
    """End every open session of ``username`` (but ``keep``); returns how many."""
    stmt = (
        update(DeskSession)
        .where(DeskSession.username == username, DeskSession.revoked_at.is_(None))
        .values(revoked_at=now or utc_now(), revoked_why=why, handoff_hash=None)
    )
    if keep is not None:
        stmt = stmt.where(DeskSession.id != keep)
    return int(cast(CursorResult[Any], session.execute(stmt)).rowcount or 0)
