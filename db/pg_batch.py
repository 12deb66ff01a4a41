"""save_batch's PostgreSQL path: COPY into session temp tables, then one set-based statement.

Multi-row ``INSERT … VALUES`` spends most of its time building and parsing the statement text;
COPY skips both, and the alert insert and its reason rows become one statement.  The temp
tables live as long as the connection and empty themselves at commit.

A caught-up detector commits small batches many times a second, where the staging round
trips (create/empty the temp table, COPY, insert) cost more than the rows: up to
:data:`SMALL_BATCH` rows travel instead as one JSON parameter, typed by the table's own row
type (``jsonb_populate_recordset``), in a single statement.
"""

from __future__ import annotations

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
