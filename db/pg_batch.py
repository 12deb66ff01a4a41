"""save_batch's PostgreSQL path: COPY into session temp tables, then one set-based statement.

Multi-row ``INSERT … VALUES`` spends most of its time building and parsing the statement text;
COPY skips both, and the alert insert and its reason rows become one statement.  The temp
tables live as long as the connection and empty themselves at commit.

A caught-up detector commits small batches many times a second, where every round trip to the
server adds to an alert's latency (and, on a busy machine, each one waits to be scheduled).  A
batch of at most :data:`SMALL_BATCH` rows per table is therefore written by :func:`save_small`
as ONE statement: the offset fences, alerts and their reasons, states, dead letters and outbox
rows travel as JSON parameters (``jsonb_populate_recordset`` types them by the table's own row
type) into data-modifying CTEs.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session

from db.pg_copy import copy_csv, csv_buffer

ALERT_COLUMNS = (
    "alert_id",
    "payment_id",
    "event_ts",
    "alert_ts",
    "customer_id",
    "session_id",
    "device",
    "device_id",
    "utm_source",
    "country",
    "amount",
    "currency",
    "score",
    "severity",
    "reasons",
    "ruleset_version",
    "status",
    "row_version",
    "created_at",
    "updated_at",
)
_COLS = ", ".join(ALERT_COLUMNS)

_ALERTS_SQL = f"""
WITH inserted AS (
    INSERT INTO fraud_alerts ({_COLS})
    SELECT {_COLS} FROM kvt_alerts_in
    ON CONFLICT (payment_id) DO NOTHING
    RETURNING alert_id, reasons
)
INSERT INTO alert_reasons (alert_id, rule_id)
SELECT inserted.alert_id, r.value ->> 'rule_id'
FROM inserted CROSS JOIN LATERAL jsonb_array_elements(inserted.reasons) AS r(value)
ON CONFLICT DO NOTHING
"""
_FROM_JSON = "jsonb_populate_recordset(NULL::{table}, CAST(:rows AS jsonb))"
SMALL_BATCH = 200
_STATES_SQL = """
INSERT INTO detector_state (customer_id, state, updated_at)
SELECT customer_id, state, updated_at FROM kvt_states_in
ON CONFLICT (customer_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
"""


_SMALL_SQL = f"""
WITH
offsets AS (
    SELECT * FROM jsonb_to_recordset(CAST(:offsets AS jsonb))
        AS v(topic text, partition int, expected bigint, next_offset bigint)
),
moved AS (
    UPDATE consumer_offsets o
    SET next_offset = v.next_offset, updated_at = CAST(:now AS timestamptz)
    FROM offsets v
    WHERE o.group_id = :group_id AND o.topic = v.topic AND o.partition = v.partition
      AND v.expected IS NOT NULL AND o.next_offset = v.expected
    RETURNING 1
),
started AS (
    INSERT INTO consumer_offsets (group_id, topic, partition, next_offset, updated_at)
    SELECT :group_id, topic, partition, next_offset, CAST(:now AS timestamptz)
    FROM offsets WHERE expected IS NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
),
alerts AS (
    INSERT INTO fraud_alerts ({_COLS})
    SELECT {_COLS} FROM jsonb_populate_recordset(NULL::fraud_alerts, CAST(:alerts AS jsonb))
    ON CONFLICT (payment_id) DO NOTHING
    RETURNING alert_id, reasons
),
reasons AS (
    INSERT INTO alert_reasons (alert_id, rule_id)
    SELECT alerts.alert_id, r.value ->> 'rule_id'
    FROM alerts CROSS JOIN LATERAL jsonb_array_elements(alerts.reasons) AS r(value)
    ON CONFLICT DO NOTHING
),
states AS (
    INSERT INTO detector_state (customer_id, state, updated_at)
    SELECT customer_id, state, updated_at
    FROM jsonb_populate_recordset(NULL::detector_state, CAST(:states AS jsonb))
    ON CONFLICT (customer_id) DO UPDATE
        SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
),
dead AS (
    INSERT INTO dead_letters (source_topic, partition, "offset", reason, detail, payload,
                              received_at)
    SELECT source_topic, partition, "offset", reason, detail, payload, received_at
    FROM jsonb_populate_recordset(NULL::dead_letters, CAST(:dead AS jsonb))
    ON CONFLICT (source_topic, partition, "offset") DO NOTHING
),
queued AS (
    INSERT INTO outbox (id, topic, key, value, headers, created_at)
    SELECT id, topic, key, decode(value, 'base64'), headers, CAST(:now AS timestamptz)
    FROM jsonb_to_recordset(CAST(:outbox AS jsonb))
        AS m(id text, topic text, key text, value text, headers jsonb)
    ON CONFLICT (id) DO NOTHING
),
sent AS (
    DELETE FROM outbox WHERE id IN (SELECT jsonb_array_elements_text(CAST(:published AS jsonb)))
)
SELECT (SELECT count(*) FROM moved) + (SELECT count(*) FROM started)
"""


def fits_small(*tables: Sequence[object]) -> bool:
    return all(len(rows) <= SMALL_BATCH for rows in tables)


def save_small(
    session: Session,
    *,
    group_id: str,
    offsets: Sequence[tuple[str, int, int | None, int]],
    alerts: Sequence[Mapping[str, Any]],
    states: Sequence[Mapping[str, Any]],
    dead_letters: Sequence[Mapping[str, Any]],
    outbox: Sequence[tuple[str, str, str | None, bytes, dict[str, str] | None]],
    published: Sequence[str],
    now: datetime,
) -> int:
    """One statement for a whole small batch; returns how many of ``offsets`` (topic,
    partition, expected, next) passed their fence.  Fewer than all: the caller rolls back."""
    params = {
        "group_id": group_id,
        "now": now.isoformat(),
        "offsets": _json(
            [
                {"topic": t, "partition": p, "expected": e, "next_offset": n}
                for t, p, e, n in offsets
            ]
        ),
        "alerts": _json([{c: r[c] for c in ALERT_COLUMNS} for r in alerts]),
        "states": _json(list(states)),
        "dead": _json(list(dead_letters)),
        "outbox": _json(
            [
                {"id": i, "topic": t, "key": k, "value": base64.b64encode(v).decode(), "headers": h}
                for i, t, k, v, h in outbox
            ]
        ),
        "published": _json(list(published)),
    }
    return int(session.execute(text(_SMALL_SQL), params).scalar_one())


def insert_alerts(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert alert rows (``ON CONFLICT (payment_id) DO NOTHING``) and, for the ones actually
    inserted, their (alert, rule) rows."""
    if len(rows) <= SMALL_BATCH:
        sql = _ALERTS_SQL.replace("kvt_alerts_in", _FROM_JSON.format(table="fraud_alerts"))
        session.execute(
            text(sql), {"rows": _json([{c: r[c] for c in ALERT_COLUMNS} for r in rows])}
        )
        return
    _stage(session, "kvt_alerts_in", "fraud_alerts")
    cell = _Cells()
    values = (
        tuple(_json(r[c]) if c == "reasons" else cell(r[c]) for c in ALERT_COLUMNS) for r in rows
    )
    copy_csv(session, "kvt_alerts_in", ALERT_COLUMNS, csv_buffer(values))
    session.execute(text(_ALERTS_SQL))


def upsert_states(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    if len(rows) <= SMALL_BATCH:
        sql = _STATES_SQL.replace("kvt_states_in", _FROM_JSON.format(table="detector_state"))
        session.execute(text(sql), {"rows": _json(list(rows))})
        return
    _stage(session, "kvt_states_in", "detector_state")
    cell = _Cells()
    values = ((r["customer_id"], _json(r["state"]), cell(r["updated_at"])) for r in rows)
    copy_csv(session, "kvt_states_in", ("customer_id", "state", "updated_at"), csv_buffer(values))
    session.execute(text(_STATES_SQL))


def _stage(session: Session, temp: str, like: str) -> None:
    # One round trip.  The DELETE: rows of an earlier call in the same transaction would
    # otherwise be inserted twice.
    session.execute(
        text(
            f"CREATE TEMP TABLE IF NOT EXISTS {temp} (LIKE {like}) ON COMMIT DELETE ROWS;"
            f" DELETE FROM {temp}"
        )
    )


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


class _Cells:
    """CSV cell text: timestamps as ISO strings, each distinct one formatted once (a batch
    stamps most rows with the same ``now``)."""

    def __init__(self) -> None:
        self._seen: dict[datetime, str] = {}

    def __call__(self, value: object) -> object:
        if not isinstance(value, datetime):
            return value
        text = self._seen.get(value)
        if text is None:
            text = self._seen[value] = value.isoformat()
        return text
