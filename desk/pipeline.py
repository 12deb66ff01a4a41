"""The pipeline page's service layer: service health, throughput history, dead letters.

No Streamlit here.  The throughput history (:class:`Samples`) and the broker answers
(:class:`BrokerChecks`) are process state and live in the :class:`~desk.runtime.Runtime`, fed
from status snapshots by whoever renders status (the sidebar and the pipeline page).  The
functions a front end calls take the runtime; the session-level queries under them are
tested on their own.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from db.models import DeadLetter, RulesetRow
from detector.common.settings import Settings
from detector.status import StatusSnapshot

if TYPE_CHECKING:
    from desk.runtime import Runtime

SAMPLE_CAPACITY = 720  # one hour at a 5 s refresh
MIN_SAMPLE_GAP_S = 0.5  # several sessions render at once: keep one sample per half second
BROKER_CHECK_TTL_S = 15.0
DEAD_PAGE_SIZE = 50


class Samples:
    """The throughput history: a ring of ``(wall time, events_total)`` fed from status
    snapshots by whoever renders status (the sidebar and the pipeline page), so the chart
    survives page switches.  One per process, held by the :class:`~desk.runtime.Runtime`."""

    def __init__(self, capacity: int = SAMPLE_CAPACITY) -> None:
        self._ring: deque[tuple[float, int]] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def record(self, snap: StatusSnapshot, now: float | None = None) -> None:
        """Append ``(now, events_total)`` unless the previous sample is too recent.  A counter
        that goes down (a new replay resets the status) clears the history."""
        now = time.time() if now is None else now
        total = snap.events_total + snap.dead_letters_total
        with self._lock:
            if self._ring:
                last_t, last_n = self._ring[-1]
                if total < last_n:
                    self._ring.clear()
                elif now - last_t < MIN_SAMPLE_GAP_S:
                    return
            self._ring.append((now, total))

    def points(self) -> list[tuple[float, int]]:
        with self._lock:
            return list(self._ring)

    def clear(self) -> None:
        with self._lock:
            self._ring.clear()


class BrokerChecks:
    """The last answer of each broker address, with its time: a page refreshing every few
    seconds must not open an admin client each time."""

    def __init__(self) -> None:
        self._answers: dict[str, tuple[float, bool, str]] = {}
        self._lock = threading.Lock()

    def get(self, address: str, now: float, ttl_s: float) -> tuple[bool, str] | None:
        with self._lock:
            hit = self._answers.get(address)
        if hit is not None and now - hit[0] < ttl_s:
            return hit[1], hit[2]
        return None

    def put(self, address: str, now: float, answer: tuple[bool, str]) -> None:
        with self._lock:
            self._answers[address] = (now, *answer)

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()


@dataclass(frozen=True)
class Health:
    database: str  # its address, the password hidden
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


# For a process without a desk Runtime (the REST API): its own answers, kept the same way.
_UNOWNED_CHECKS = BrokerChecks()


def broker_reachable(
    settings: Settings, ttl_s: float = BROKER_CHECK_TTL_S, checks: BrokerChecks | None = None
) -> tuple[bool, str]:
    """Ask the broker for its metadata; the answer is kept ``ttl_s`` seconds per address in
    ``checks`` (the runtime's)."""
    checks = _UNOWNED_CHECKS if checks is None else checks
    address = settings.kafka_bootstrap
    now = time.monotonic()
    cached = checks.get(address, now, ttl_s)
    if cached is not None:
        return cached
    from data_gen.kafka_admin import check_broker  # confluent-kafka only when configured

    try:
        check_broker(settings, timeout_s=2.0)
        result = (True, "")
    except Exception as exc:  # any failure means "not reachable"; say why
        result = (False, str(exc)[:300])
    checks.put(address, now, result)
    return result


def health(
    settings: Settings,
    engine: Engine,
    detector_alive: bool,
    checks: BrokerChecks | None = None,
) -> Health:
    db_ok, db_err = database_reachable(engine)
    if settings.embedded:
        broker_ok: bool | None = None
        broker_err = ""
    else:
        broker_ok, broker_err = broker_reachable(settings, checks=checks)
    return Health(
        database=engine.url.render_as_string(hide_password=True),
        database_ok=db_ok,
        database_error=db_err,
        broker=settings.kafka_bootstrap,
        broker_ok=broker_ok,
        broker_error=broker_err,
        detector_alive=detector_alive,
    )


def runtime_health(rt: Runtime) -> Health:
    """:func:`health` of the runtime's services (its broker answers are kept in it)."""
    return health(rt.settings, rt.engine, rt.detector_running, rt.broker_checks)


# --------------------------------------------------------------------------- throughput


def record_sample(rt: Runtime, snap: StatusSnapshot, now: float | None = None) -> None:
    rt.samples.record(snap, now)


def samples(rt: Runtime) -> list[tuple[float, int]]:
    return rt.samples.points()


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


# What the running detector did with input that repeats, arrives late or lies about its time,
# as (text key, count); each key has a "_help" twin.
INPUT_COUNTERS = (
    ("pipe.repeated", "repeated_total"),
    ("pipe.late", "late_total"),
    ("pipe.future", "future_total"),
    ("pipe.unknown", "unknown_customers_total"),
    ("pipe.idle_released", "idle_released_total"),
)


def input_counters(snap: StatusSnapshot) -> list[tuple[str, int]]:
    """Since the detector started: repeated (ignored), late (applied late), future-dated
    (dead-lettered), unknown customers, events released by the ordering's idle wait."""
    return [(key, int(getattr(snap, name))) for key, name in INPUT_COUNTERS]


def lag_rows(snap: StatusSnapshot) -> list[tuple[str, int]]:
    """``(topic[partition], messages behind)`` sorted by name."""
    return sorted(snap.lag.items())


# --------------------------------------------------------------------------- front ends


@dataclass(frozen=True)
class DeadLetterPage:
    rows: list[DeadLetterView]  # newest first
    total: int
    page: int  # 1-based, clamped to the last page
    pages: int


def dead_letter_page(rt: Runtime, page: int = 1, page_size: int = DEAD_PAGE_SIZE) -> DeadLetterPage:
    with rt.sessions() as session:
        total = count_dead_letters(session)
        pages = max(1, -(-total // page_size))
        page = min(max(1, page), pages)
        rows = list_dead_letters(session, page, page_size) if total else []
    return DeadLetterPage(rows, total, page, pages)


def active_ruleset(rt: Runtime) -> ActiveRuleset | None:
    """The active published version (None before any publication or when the database
    cannot say: the health line reports the database itself)."""
    try:
        with rt.sessions() as session:
            return active_ruleset_info(session)
    except SQLAlchemyError:
        return None
