"""Dialect-specific statements the storage queries need, behind one portable signature."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.errors import DbError

T = TypeVar("T")

# Rows per IN (...) list: well under SQLite's bound-parameter limit.
IN_CHUNK = 2000


def upsert_insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that supports ``on_conflict_do_nothing/do_update`` on the session's dialect."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise DbError(f"unsupported dialect {name!r}")


def insert_many(
    session: Session,
    stmt: postgresql.Insert | sqlite.Insert,
    rows: Sequence[Mapping[str, Any]],
    key: ColumnElement[Any],
) -> None:
    """Execute an ``INSERT … ON CONFLICT`` for many rows in few round trips.

    SQLAlchemy 2.1 batches an executemany into multi-row VALUES only when the INSERT has no
    ON CONFLICT clause or has RETURNING (sqlalchemy#13130); without either, psycopg2 sends one
    statement per row, some 10x slower.  So on PostgreSQL a cheap RETURNING of ``key`` is
    added and discarded.  SQLite's own executemany reuses one prepared statement: fast as is.
    """
    if not rows:
        return
    pg = session.get_bind().dialect.name == "postgresql"
    session.execute(stmt.returning(key) if pg else stmt, list(rows))


def serialize_writers(session: Session, key: int, table: str) -> None:
    """Block until no other transaction holds the same lock, for read-then-write sequences.

    PostgreSQL: a transaction-scoped advisory lock on ``key``.  SQLite: a write that changes
    nothing still takes the database's write lock, and reads after it see every commit.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    else:
        session.execute(text(f"UPDATE {table} SET rowid = rowid WHERE 1 = 0"))


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
