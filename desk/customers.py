"""A customer's timeline for integrations (the one timeline implementation, authorized)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from db import timeline
from db.archive import ArchiveError
from db.timeline import EventReader, TimelineEntry
from desk.auth import Permission, Principal, authorize
from desk.handle import Handle

__all__ = ["CustomerTimeline", "customer_timeline"]

log = logging.getLogger(__name__)
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class CustomerTimeline:
    customer_id: str
    entries: tuple[TimelineEntry, ...]  # oldest first
    source: str  # where behavioural events were looked for
    problem: str  # why that source gave nothing ("" when it answered)


def customer_timeline(
    rt: Handle,
    who: Principal | None,
    customer_id: str,
    reader: EventReader | None = None,
    limit: int = 200,
) -> CustomerTimeline:
    authorize(rt, who, Permission.READ_QUEUE, customer_id)
    limit = max(1, min(limit, MAX_ENTRIES))
    problem = ""
    try:
        entries = timeline.customer_timeline(
            customer_id,
            sessions_factory=rt.sessions,
            archive=reader,
            limit=limit,
        )
    except (ArchiveError, OSError) as exc:
        # The archive being down must not hide the payments, alerts and decisions.
        log.warning("customer %s: events from %s failed: %s", customer_id, reader, exc)
        problem = str(exc)
        entries = timeline.customer_timeline(
            customer_id,
            sessions_factory=rt.sessions,
            limit=limit,
        )
    source = reader.source if reader is not None else "relational store (no events archive)"
    return CustomerTimeline(customer_id, tuple(entries), source, problem)
