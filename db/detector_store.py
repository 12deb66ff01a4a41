"""What the detector service reads at start and writes per batch.

``save_batch`` writes alerts, customer states, consumed offsets, dead letters and the Kafka
messages still to publish (the outbox) in the caller's transaction, so a detector killed at any
moment restarts from a consistent point (invariant 3).  Every write is idempotent: a replayed
batch inserts no second alert, and an existing alert, with any analyst decision on it, is never
touched by a re-score (invariant 4).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Executable,
    Table,
    delete,
    exists,
    func,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from db import pg_batch
from db._sql import IN_CHUNK, chunks, insert_many, upsert_insert
from db.errors import OffsetConflict
from db.models import (
    LIVE_DATASET,
    Alert,
    AlertReason,
    ConsumerOffset,
    Customer,
    DeadLetter,
    DetectorStateRow,
    OutboxMessage,
)
from db.types import utc_now
from detector.engine import Verdict
from detector.events import Payment
from detector.state import CustomerState

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 4096
OUTBOX_PAGE = 10_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Declarative classes type ``__table__`` as a FromClause; these are plain Tables.
_ALERTS = cast(Table, Alert.__table__)
_REASONS = cast(Table, AlertReason.__table__)
_STATES = cast(Table, DetectorStateRow.__table__)
_OFFSETS = cast(Table, ConsumerOffset.__table__)
_DEAD = cast(Table, DeadLetter.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)


# ``*Record``: a plain record handed between packages; ``*Row`` names ORM models only.
@dataclass(frozen=True)
class DeadLetterRecord:
    """A message the detector could not use: ``reason`` is short and stable (it labels
    metrics), ``detail`` says what exactly was wrong; ``payload`` is cut to 4 KB when stored."""

    source_topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    payload: str | bytes
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A message for Kafka, committed with its batch and published after the commit.
    ``id`` is derived from what the message reports, so a replayed batch adds no second row."""

    id: str
    topic: str
    key: str | None
    value: bytes
    headers: dict[str, str] | None = None


# A customer's state is one dataset's: ``(dataset, customer id)``.
StateKey = tuple[str, str]


def load_states(
    session: Session, customer_ids: Collection[str], dataset: str = LIVE_DATASET
) -> dict[str, CustomerState]:
    """Stored states of the given customers in ``dataset`` (the live stream's by default);
    customers never seen there are absent."""
    out: dict[str, CustomerState] = {}
    table = _STATES
    for ids in chunks(sorted(set(customer_ids)), IN_CHUNK):
        rows = session.execute(
            select(table.c.customer_id, table.c.state).where(
                table.c.dataset == dataset, table.c.customer_id.in_(ids)
            )
        )
        for customer_id, state in rows:
            out[customer_id] = CustomerState.from_dict(state)
    return out


def known_customers(session: Session, customer_ids: Collection[str]) -> set[str] | None:
    """Which of the ids the customer reference (the ``customers`` table) lists; None when the
    reference is empty: without one, no customer can be called unknown.

    One round trip per chunk of ids: the first also asks whether the table is empty (a NULL
    row), since the detector asks within each batch's transaction, on an alert's way."""
    table = Customer.__table__
    none_listed = select(null()).where(~exists().select_from(table))
    ids = sorted(set(customer_ids))
    if not ids:
        return None if session.execute(none_listed).first() is not None else set()
    out: set[str] = set()
    for i, part in enumerate(chunks(ids, IN_CHUNK)):
        listed = select(table.c.customer_id).where(table.c.customer_id.in_(part))
        stmt: Executable = union_all(listed, none_listed) if i == 0 else listed
        for customer_id in session.scalars(stmt):
            if customer_id is None:
                return None
            out.add(customer_id)
    return out


def load_batch_reads(
    session: Session,
    state_ids: Collection[str],
    ask_ids: Collection[str],
    dataset: str = LIVE_DATASET,
) -> tuple[dict[str, CustomerState], set[str] | None]:
    """`load_states` of ``state_ids`` (in ``dataset``) and `known_customers` of ``ask_ids``
    together: one round trip for a live batch (a few customers), where the two cost two or
    three on an alert's way; a backlog batch's many ids take the two functions' chunked
    queries."""
    if len(state_ids) > IN_CHUNK or len(ask_ids) > IN_CHUNK or not (state_ids and ask_ids):
        loaded = load_states(session, state_ids, dataset) if state_ids else {}
        return loaded, known_customers(session, ask_ids) if ask_ids else set()
    st, cu = _STATES, Customer.__table__
    stmt = union_all(
        select(literal("s"), st.c.customer_id, st.c.state).where(
            st.c.dataset == dataset, st.c.customer_id.in_(sorted(set(state_ids)))
        ),
        select(literal("k"), cu.c.customer_id, null()).where(
            cu.c.customer_id.in_(sorted(set(ask_ids)))
        ),
        select(literal("e"), null(), null()).where(~exists().select_from(cu)),
    )
    states: dict[str, CustomerState] = {}
    known: set[str] | None = set()
    for kind, customer_id, state in session.execute(stmt):
        if kind == "s":
            states[customer_id] = CustomerState.from_dict(state)
        elif kind == "k" and known is not None:
            known.add(customer_id)
        else:  # an empty reference: nobody can be called unknown
            known = None
    return states, known


def load_offsets(session: Session, group_id: str) -> dict[tuple[str, int], int]:
    """``{(topic, partition): next_offset}`` committed by ``group_id``."""
    table = _OFFSETS
    rows = session.execute(
        select(table.c.topic, table.c.partition, table.c.next_offset).where(
            table.c.group_id == group_id
        )
    )
    return {(topic, partition): offset for topic, partition, offset in rows}


def save_offsets(session: Session, group_id: str, offsets: Mapping[tuple[str, int], int]) -> None:
    """Upsert ``group_id``'s next offsets, unfenced: for a consumer whose writes are idempotent
    (the archiver).  A writer that lost its partitions can only store offsets of what it did
    write, or move one back (a harmless re-read); it never skips a message."""
    if not offsets:
        return
    now = utc_now()
    rows = [
        {"group_id": group_id, "topic": t, "partition": p, "next_offset": o, "updated_at": now}
        for (t, p), o in sorted(offsets.items())
    ]
    stmt = upsert_insert(session, _OFFSETS)
    stmt = stmt.on_conflict_do_update(
        index_elements=["group_id", "topic", "partition"],
        set_={"next_offset": stmt.excluded.next_offset, "updated_at": stmt.excluded.updated_at},
    )
    session.execute(stmt, rows)


def forget_replays_unless(session: Session, group_id: str) -> bool:
    """When a replay other than ``group_id`` stored offsets, forget every replay's offsets and
    every customer state (True), in the caller's transaction; else change nothing."""
    others = session.scalar(
        select(func.count()).where(
            ConsumerOffset.group_id.like("replay:%"), ConsumerOffset.group_id != group_id
        )
    )
    if not others:
        return False
    session.execute(delete(DetectorStateRow))
    session.execute(delete(ConsumerOffset).where(ConsumerOffset.group_id.like("replay:%")))
    return True


def save_batch(
    session: Session,
    *,
    group_id: str,
    verdicts: Sequence[tuple[Verdict, Payment]],
    states: Mapping[str, CustomerState] | Mapping[StateKey, CustomerState],
    offsets: Mapping[tuple[str, int], int],
    expected_offsets: Mapping[tuple[str, int], int | None],
    dead_letters: Sequence[DeadLetterRecord],
    outbox: Sequence[OutboxRecord] = (),
    published: Collection[str] = (),
    dataset: str = LIVE_DATASET,
    datasets: Sequence[str] | None = None,
    unknown_customers: Collection[str] | None = None,
) -> None:
    """Write one batch in the caller's transaction; the caller commits.

    ``dataset`` names where the batch's payments come from (a replayed dataset, or the live
    topics); the alerts carry it.  ``datasets``, when given, names each verdict's own (the
    live topics carry the streams of datasets too: ``detector.codec.DATASET_HEADER``).
    ``states``: the touched customers' states, keyed by customer id (those of ``dataset``)
    or by ``(dataset, customer id)`` when the batch holds several datasets' events.
    ``unknown_customers``: the batch's customers the customer reference does not list,
    flagged on their alerts (None: the writer did not check).

    ``outbox`` holds the batch's messages for Kafka; ``published`` names outbox rows the
    brokers have acknowledged since the last batch, deleted here at no extra commit.

    Offsets are fenced: for every ``(topic, partition)`` in ``offsets`` the stored
    ``next_offset`` must equal ``expected_offsets[key]`` (``None`` or an absent key: no row
    yet), otherwise :class:`OffsetConflict` is raised and the caller must roll back.  Each
    check and its write are one statement, so two consumers racing on a partition cannot both
    pass.  On PostgreSQL the whole batch is one statement (``db.pg_batch``); on SQLite, which
    has one writer at a time, the fences come first and the rows follow.
    """
    now = utc_now()
    origins = datasets if datasets is not None else [dataset] * len(verdicts)
    alert_rows, reasons = _alert_rows(verdicts, origins, now, unknown_customers)
    state_rows = _state_rows(states, dataset, now)
    dead_rows = _dead_letter_rows(dead_letters, now)
    outbox_rows = _outbox_rows(outbox, now)
    if _is_postgresql(session):
        _save_pg(session, group_id, offsets, expected_offsets, alert_rows, state_rows,
                 dead_rows, outbox_rows, published, now)  # fmt: skip
        return
    for key in sorted(offsets):
        _fence_offset(session, group_id, key, offsets[key], expected_offsets.get(key), now)
    _insert_alerts(session, alert_rows, reasons)
    _upsert_states(session, state_rows)
    _insert_dead_letters(session, dead_rows)
    _insert_outbox(session, outbox_rows)
    delete_outbox(session, published)


def _save_pg(
    session: Session,
    group_id: str,
    offsets: Mapping[tuple[str, int], int],
    expected_offsets: Mapping[tuple[str, int], int | None],
    alert_rows: list[dict[str, Any]],
    state_rows: list[dict[str, Any]],
    dead_rows: list[dict[str, Any]],
    outbox_rows: list[dict[str, Any]],
    published: Collection[str],
    now: datetime,
) -> None:
    """The batch in one statement (``pg_batch.save``), which names the fences that did not
    hold; the first of them is raised as a conflict with the offset stored now."""
    fences = [
        {"topic": t, "partition": p, "expected": expected_offsets.get((t, p)), "next_offset": n}
        for (t, p), n in sorted(offsets.items())
    ]
    failed = pg_batch.save(
        session,
        group_id=group_id,
        offsets=fences,
        alerts=alert_rows,
        states=state_rows,
        dead_letters=dead_rows,
        outbox=outbox_rows,
        published=sorted(published),
        now=now,
    )
    if not failed:
        return
    key = failed[0]
    found = load_offsets(session, group_id).get(key)
    raise OffsetConflict(group_id, key[0], key[1], expected_offsets.get(key), found)


def load_outbox(
    session: Session, older_than: datetime | None = None, limit: int = OUTBOX_PAGE
) -> list[OutboxRecord]:
    """Messages committed but not yet acknowledged by a broker, oldest first, at most
    ``limit`` (an outbox that grew during a long broker outage is sent page by page)."""
    t = _OUTBOX
    stmt = select(t.c.id, t.c.topic, t.c.key, t.c.value, t.c.headers)
    if older_than is not None:
        stmt = stmt.where(t.c.created_at < older_than)
    rows = session.execute(stmt.order_by(t.c.created_at, t.c.id).limit(limit))
    return [
        OutboxRecord(i, topic, key, bytes(value), headers) for i, topic, key, value, headers in rows
    ]


def count_outbox(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(_OUTBOX)) or 0


def delete_outbox(session: Session, ids: Collection[str]) -> None:
    for part in chunks(sorted(ids), IN_CHUNK):
        session.execute(delete(_OUTBOX).where(_OUTBOX.c.id.in_(part)))


def _outbox_rows(rows: Sequence[OutboxRecord], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "topic": r.topic,
            "key": r.key,
            "value": r.value,
            "headers": r.headers,
            "created_at": now,
        }
        for r in rows
    ]


def _insert_outbox(session: Session, values: list[dict[str, Any]]) -> None:
    stmt = upsert_insert(session, _OUTBOX).on_conflict_do_nothing(index_elements=["id"])
    insert_many(session, stmt, values, _OUTBOX.c.id)


def _fence_offset(
    session: Session,
    group_id: str,
    key: tuple[str, int],
    next_offset: int,
    expected: int | None,
    now: datetime,
) -> None:
    topic, partition = key
    table = _OFFSETS
    stmt: Executable
    if expected is None:
        stmt = (
            upsert_insert(session, table)
            .values(
                group_id=group_id,
                topic=topic,
                partition=partition,
                next_offset=next_offset,
                updated_at=now,
            )
            .on_conflict_do_nothing()
        )
    else:
        stmt = (
            update(table)
            .where(
                table.c.group_id == group_id,
                table.c.topic == topic,
                table.c.partition == partition,
                table.c.next_offset == expected,
            )
            .values(next_offset=next_offset, updated_at=now)
        )
    if session.execute(stmt).rowcount == 1:  # type: ignore[attr-defined]
        return
    found = session.execute(
        select(table.c.next_offset).where(
            table.c.group_id == group_id, table.c.topic == topic, table.c.partition == partition
        )
    ).scalar_one_or_none()
    raise OffsetConflict(group_id, topic, partition, expected, found)


def alert_row(
    verdict: Verdict,
    payment: Payment,
    now: datetime,
    dataset: str = LIVE_DATASET,
    unknown_customer: bool | None = None,
) -> dict[str, Any]:
    return {
        "alert_id": alert_id_for(verdict.payment_id, dataset),
        "payment_id": verdict.payment_id,
        "event_ts": ms_to_datetime(verdict.ts_ms),
        "alert_ts": now,
        "customer_id": verdict.customer_id,
        "session_id": payment.session_id or None,
        "device": payment.device or None,
        "device_id": payment.device_id or None,
        "utm_source": payment.utm_source or None,
        "country": payment.country or None,
        "card_bin": payment.card_bin or None,
        "ip_hash": payment.ip_hash or None,
        "unknown_customer": unknown_customer,
        "amount": payment.amount,
        "currency": payment.currency or None,
        "score": verdict.score,
        "severity": verdict.severity,
        "reasons": [r.to_dict() for r in verdict.reasons],
        "ruleset_version": verdict.ruleset_version,
        "dataset": dataset,
        "status": "PENDING_REVIEW",
        "row_version": 1,
        "created_at": now,
        "updated_at": now,
    }


def alert_id_for(payment_id: str, dataset: str = LIVE_DATASET) -> str:
    """The id of the alert of one payment in one dataset: one alert per (dataset, payment).

    Live alerts (the Kafka topics, the service and the Flink job alike) are ``ALT-<payment
    id>``, as they always were: links, the outbox and a restarted detector find them again.
    A replayed or streamed dataset's are ``ALT:<payment id>@<dataset>``: two datasets whose
    payment ids overlap (two generated datasets both number theirs from PAY00000001) have
    two alerts, each with its own decisions.  The forms cannot meet: live ids start with
    ``ALT-``, the others with ``ALT:``, and a dataset name has no ``@``
    (``desk.studio.check_name``), so the last ``@`` ends the payment id."""
    if dataset == LIVE_DATASET:
        return f"ALT-{payment_id}"
    return f"ALT:{payment_id}@{dataset}"


def ms_to_datetime(ts_ms: int) -> datetime:
    # Integer arithmetic: a float division could land a microsecond off.
    return EPOCH + timedelta(milliseconds=ts_ms)


def _alert_rows(
    verdicts: Sequence[tuple[Verdict, Payment]],
    datasets: Sequence[str],
    now: datetime,
    unknown: Collection[str] | None,
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Alert rows, one per payment and dataset, and each alert's rule ids."""
    rows: dict[str, dict[str, Any]] = {}
    reasons: dict[str, list[str]] = {}
    for (verdict, payment), dataset in zip(verdicts, datasets, strict=True):
        alert_id = alert_id_for(verdict.payment_id, dataset)
        if verdict.is_alert and alert_id not in rows:
            flag = None if unknown is None else payment.customer_id in unknown
            rows[alert_id] = alert_row(verdict, payment, now, dataset, flag)
            reasons[alert_id] = [r.rule_id for r in verdict.reasons]
    return list(rows.values()), reasons


def _insert_alerts(
    session: Session, rows: list[dict[str, Any]], reasons: Mapping[str, list[str]]
) -> None:
    if not rows:
        return
    # No conflict target: the alert of this (payment, dataset) exists, by either key (an
    # alert written before 0010 keeps the id it was written with).
    stmt = upsert_insert(session, _ALERTS).on_conflict_do_nothing().returning(_ALERTS.c.alert_id)
    inserted = session.execute(stmt, rows).scalars().all()
    # Reasons only for alerts written now: an existing alert keeps the reasons it was raised with.
    reason_rows = [
        {"alert_id": alert_id, "rule_id": rule_id}
        for alert_id in inserted
        for rule_id in dict.fromkeys(reasons[alert_id])
    ]
    reasons_stmt = upsert_insert(session, _REASONS).on_conflict_do_nothing()
    insert_many(session, reasons_stmt, reason_rows, _REASONS.c.alert_id)


def _state_rows(
    states: Mapping[str, CustomerState] | Mapping[StateKey, CustomerState],
    dataset: str,
    now: datetime,
) -> list[dict[str, Any]]:
    rows = []
    for key, s in states.items():
        d, c = key if isinstance(key, tuple) else (dataset, key)
        rows.append({"customer_id": c, "dataset": d, "state": s.to_dict(), "updated_at": now})
    return rows


def _upsert_states(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = upsert_insert(session, _STATES)
    stmt = stmt.on_conflict_do_update(
        index_elements=["customer_id", "dataset"],
        set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at},
    )
    session.execute(stmt, rows)


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _dead_letter_rows(
    dead_letters: Sequence[DeadLetterRecord], now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "source_topic": d.source_topic,
            "partition": d.partition,
            "offset": d.offset,
            "reason": _clean(d.reason),
            "detail": truncate_payload(d.detail),
            "payload": truncate_payload(d.payload),
            "received_at": d.received_at or now,
        }
        for d in dead_letters
    ]


def _insert_dead_letters(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = upsert_insert(session, _DEAD).on_conflict_do_nothing(
        index_elements=["source_topic", "partition", "offset"]
    )
    insert_many(session, stmt, rows, _DEAD.c.id)


def truncate_payload(payload: str | bytes, limit: int = MAX_PAYLOAD_BYTES) -> str:
    """At most ``limit`` UTF-8 bytes, cut on a character boundary; undecodable bytes and lone
    surrogates become replacement characters so that any poison message can be stored."""
    text = _clean(payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload)
    # Only the character split by the cut can be incomplete; "ignore" drops just that one.
    return text.encode("utf-8", "replace")[:limit].decode("utf-8", "ignore")


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; one poison byte must not fail the whole batch.
    return text.replace("\x00", "\ufffd")
