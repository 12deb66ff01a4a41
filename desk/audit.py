"""The audit trail as the desk shows it: filters, pages newest first, the actors, and the
actions a filter may name."""

from __future__ import annotations

from dataclasses import dataclass

from db import audit as trail
from db.audit import OUTCOMES, AuditFilters
from db.models import AuditEvent
from desk.auth import Permission, Principal, authorize
from desk.handle import Handle

__all__ = ["ACTIONS", "OUTCOMES", "AuditFilters", "AuditPage", "audit_actors", "audit_page"]

# Every action the trail stores, for the page's filter; refused attempts are stored under
# the permission's name.
ACTIONS: tuple[str, ...] = (
    trail.ALERT_DECIDE,
    trail.RULESET_PUBLISH,
    trail.RULESET_ROLLBACK,
    trail.USER_CREATE,
    trail.USER_ROLE,
    trail.USER_ACTIVE,
    trail.USER_PASSWORD,
    trail.SIGN_IN,
    trail.SIGN_OUT,
    trail.DATA_CHANGE,
    *(p.name.lower() for p in Permission),
)


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditEvent]
    total: int
    next_before: int | None  # the ``before_id`` of the next (older) page, None at the end


def audit_page(
    rt: Handle,
    who: Principal | None,
    filters: trail.AuditFilters,
    limit: int = 100,
    before_id: int | None = None,
) -> AuditPage:
    authorize(rt, who, Permission.READ_AUDIT)
    with rt.sessions() as session:
        rows = trail.list_events(session, filters, limit=limit + 1, before_id=before_id)
        total = trail.count_events(session, filters)
        session.expunge_all()
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(rows, total, rows[-1].id if more and rows else None)


def audit_actors(rt: Handle, who: Principal | None) -> list[str]:
    authorize(rt, who, Permission.READ_AUDIT)
    with rt.sessions() as session:
        return trail.actors(session)
