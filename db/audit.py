"""The append-only audit trail: write one event, read them back with filters.

:func:`record` adds the event to the caller's transaction, so an action and its audit line
commit (or roll back) together.  :func:`record_alone` commits in a transaction of its own, for
attempts that did not happen (refusals, lost races, failed sign-ins): the caller rolls its own
work back, and the attempt must stay on record all the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from db.models import AuditEvent
from db.types import utc_now

log = logging.getLogger(__name__)

OK, DENIED, CONFLICT, FAILED = "ok", "denied", "conflict", "failed"
OUTCOMES = (OK, DENIED, CONFLICT, FAILED)

# What people do, as stored in ``audit_log.action``.
ALERT_DECIDE = "alert.decide"
RULESET_PUBLISH = "ruleset.publish"
RULESET_ROLLBACK = "ruleset.rollback"
USER_CREATE = "user.create"
USER_ROLE = "user.role"
USER_ACTIVE = "user.active"
USER_PASSWORD = "user.password"
SIGN_IN = "auth.sign_in"
SIGN_OUT = "auth.sign_out"
DATA_CHANGE = "data.change"  # generate, import, load, stream, replay
TOKEN_CREATE = "token.create"
TOKEN_REVOKE = "token.revoke"
TOKEN_REFUSED = "auth.token"  # an API call with a missing, unknown, revoked or expired token


@dataclass(frozen=True)
class Entry:
    actor: str
    action: str
    outcome: str = OK
    target: str | None = None
    role: str | None = None
    detail: dict[str, Any] | None = None


def record(session: Session, entry: Entry, at: datetime | None = None) -> None:
    """Add ``entry`` to the caller's transaction (the caller commits)."""
    session.add(_row(entry, at))


def record_alone(bind: Engine | Connection | Session, entry: Entry) -> None:
    """Commit ``entry`` in a transaction of its own; never raises (a failure is logged)."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    try:
        with Session(engine) as own:
            own.add(_row(entry, None))
            own.commit()
    except SQLAlchemyError:
        log.exception("could not write the audit event %s", entry)


def _row(entry: Entry, at: datetime | None) -> AuditEvent:
    return AuditEvent(
        at=at or utc_now(),
        actor=entry.actor,
        role=entry.role,
        action=entry.action,
        outcome=entry.outcome,
        target=entry.target,
        detail=entry.detail or {},
    )


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    target: str | None = None  # exact: an alert id, a version, a user name
    since: datetime | None = None
    until: datetime | None = None  # exclusive

    def conditions(self) -> list[Any]:
        c: list[Any] = []
        if self.actor:
            c.append(AuditEvent.actor == self.actor)
        if self.action:
            c.append(AuditEvent.action == self.action)
        if self.outcome:
            c.append(AuditEvent.outcome == self.outcome)
        if self.target:
            c.append(AuditEvent.target == self.target)
        if self.since is not None:
            c.append(AuditEvent.at >= self.since)
        if self.until is not None:
            c.append(AuditEvent.at < self.until)
        return c


def list_events(
    session: Session,
    filters: AuditFilters | None = None,
    *,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEvent]:
    """Newest first; ``before_id`` continues after the last row of the previous page (the id
    orders the trail, and paging by it stays fast however long the trail grows)."""
    stmt = _where(select(AuditEvent), filters)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    return list(session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)))


def count_events(session: Session, filters: AuditFilters | None = None) -> int:
    return int(session.scalar(_where(select(func.count()).select_from(AuditEvent), filters)) or 0)


def actors(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.actor).distinct().order_by(AuditEvent.actor)))


def _where(stmt: Select[Any], filters: AuditFilters | None) -> Select[Any]:
    conditions = filters.conditions() if filters else []
    return stmt.where(and_(*conditions)) if conditions else stmt
