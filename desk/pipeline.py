"""The pipeline page's service layer: service health, throughput history, dead letters.

No Streamlit here.  The throughput history is a small module-level ring buffer of
``(wall time, events_total)`` samples fed from status snapshots by whoever renders status
(the sidebar and the pipeline page call :func:`record_sample` on each render), so the chart
survives page switches without touching the Runtime.  It lives per server process, like the
Runtime itself.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from common.settings import Settings
from db.models import DeadLetter, RulesetRow
from detector.status import StatusSnapshot

SAMPLE_CAPACITY = 720  # one hour at a 5 s refresh
MIN_SAMPLE_GAP_S = 0.5  # several sessions render at once: keep one sample per half second
BROKER_CHECK_TTL_S = 15.0
DEAD_PAGE_SIZE = 50

_samples: deque[tuple[float, int]] = deque(maxlen=SAMPLE_CAPACITY)
_samples_lock = threading.Lock()
_broker_cache: dict[str, tuple[float, bool, str]] = {}
_broker_lock = threading.Lock()


@dataclass(frozen=True)
class Health:
    database_ok: bool
    database_error: str
    broker: str  # "" in embedded mode, else the bootstrap address
    broker_ok: bool | None  # None: no broker configured
    broker_error: str
    detector_alive: bool


@dataclass(frozen=True)
class DeadLetterView:
    id: int
    received_at: datetime
    source_topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    payload: str


# --------------------------------------------------------------------------- health


def database_reachable(engine: Engine) -> tuple[bool, str]:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    return True, ""


def broker_reachable(settings: Settings, ttl_s: float = BROKER_CHECK_TTL_S) -> tuple[bool, str]:
    """Ask the broker for its metadata; cached ``ttl_s`` seconds per address so that a page
    refreshing every few seconds does not open an admin client each time."""
    address = settings.kafka_bootstrap
    now = time.monotonic()
    with _broker_lock:
        hit = _broker_cache.get(address)
        if hit is not None and now - hit[0] < ttl_s:
            return hit[1], hit[2]
    from detector.kafka_admin import check_broker  # confluent-kafka only when configured

    try:
        check_broker(settings, timeout_s=2.0)
        result = (True, "")
    except Exception as exc:  # any failure means "not reachable"; say why
        result = (False, str(exc)[:300])
    with _broker_lock:
        _broker_cache[address] = (now, *result)
    return result


def health(settings: Settings, engine: Engine, detector_alive: bool) -> Health:
    db_ok, db_err = database_reachable(engine)
    if settings.embedded:
        broker_ok: bool | None = None
        broker_err = ""
    else:
        broker_ok, broker_err = broker_reachable(settings)
    return Health(
        database_ok=db_ok,
        database_error=db_err,
        broker=settings.kafka_bootstrap,
        broker_ok=broker_ok,
        broker_error=broker_err,
        detector_alive=detector_alive,
    )


# --------------------------------------------------------------------------- throughput


def record_sample(snap: StatusSnapshot, now: float | None = None) -> None:
    """Append ``(now, events_total)`` unless the previous sample is too recent.  A counter
    that goes down (a new replay resets the status) clears the history."""
    now = time.time() if now is None else now
    total = snap.events_total + snap.dead_letters_total
    with _samples_lock:
        if _samples:
            last_t, last_n = _samples[-1]
            if total < last_n:
                _samples.clear()
            elif now - last_t < MIN_SAMPLE_GAP_S:
                return
        _samples.append((now, total))


def samples() -> list[tuple[float, int]]:
    with _samples_lock:
        return list(_samples)


def clear_samples() -> None:
    with _samples_lock:
        _samples.clear()


def throughput(points: list[tuple[float, int]]) -> list[tuple[datetime, float]]:
    """Events per second between consecutive samples, stamped at the later one (local time)."""
    out: list[tuple[datetime, float]] = []
    for (t0, n0), (t1, n1) in pairwise(points):
        if t1 > t0:
            out.append((datetime.fromtimestamp(t1), max(0.0, (n1 - n0) / (t1 - t0))))
    return out


# --------------------------------------------------------------------------- dead letters


def count_dead_letters(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(DeadLetter)) or 0)


def list_dead_letters(
    session: Session, page: int = 1, page_size: int = DEAD_PAGE_SIZE
) -> list[DeadLetterView]:
    """Newest first (received time, then id), one 1-based page."""
    page = max(1, page)
    stmt = (
        select(DeadLetter)
        .order_by(DeadLetter.received_at.desc(), DeadLetter.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return [
        DeadLetterView(
            id=r.id,
            received_at=r.received_at,
            source_topic=r.source_topic,
            partition=r.partition,
            offset=r.offset,
            reason=r.reason,
            detail=r.detail,
            payload=r.payload,
        )
        for r in session.scalars(stmt)
    ]


# --------------------------------------------------------------------------- rule set


@dataclass(frozen=True)
class ActiveRuleset:
    version: int
    label: str
    author: str
    created_at: datetime
    fingerprint: str


def active_ruleset_info(session: Session) -> ActiveRuleset | None:
    """The active published version, read-only (None before anything is published; unlike
    ``db.rulesets.active_ruleset`` this never seeds the table)."""
    row = session.scalars(select(RulesetRow).where(RulesetRow.active)).one_or_none()
    if row is None:
        return None
    return ActiveRuleset(row.version, row.label, row.author, row.created_at, row.fingerprint)


def lag_rows(snap: StatusSnapshot) -> list[tuple[str, int]]:
    """``(topic[partition], messages behind)`` sorted by name."""
    return sorted(snap.lag.items())
