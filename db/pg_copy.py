"""PostgreSQL COPY helpers: the bulk loader's fast path.

Rows travel as CSV with NULL written as an unquoted empty field; Arrow's writer quotes all text,
so an empty string stays distinct from NULL.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection
from sqlalchemy.orm import Session


def raw_connection(bind: Session | Connection) -> Any:
    """The psycopg2 connection under a session's (or connection's) current transaction."""
    conn = bind.connection() if isinstance(bind, Session) else bind
    return conn.connection.dbapi_connection


def quote(bind: Session | Connection, name: str) -> str:
    conn = bind.connection() if isinstance(bind, Session) else bind
    return conn.dialect.identifier_preparer.quote(name)


def arrow_csv(batch: pa.RecordBatch | pa.Table) -> io.BytesIO:
    """Arrow's CSV writer, several times faster than pandas'.  It quotes all text, so only
    NULL is written as a bare empty field."""
    buffer = io.BytesIO()
    pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
    buffer.seek(0)
    return buffer


def copy_csv(
    bind: Session | Connection, table: str, columns: Sequence[str], buffer: io.IOBase
) -> int:
    """COPY the CSV in ``buffer`` into ``table``; returns the rows copied."""
    cols = ", ".join(quote(bind, c) for c in columns)
    sql = f"COPY {quote(bind, table)} ({cols}) FROM STDIN WITH (FORMAT csv)"
    with raw_connection(bind).cursor() as cursor:
        cursor.copy_expert(sql, buffer)
        return int(cursor.rowcount)
