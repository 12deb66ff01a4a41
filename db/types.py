"""Column types that behave the same on PostgreSQL and SQLite.

* Timestamps are timezone-aware and always UTC in Python.  PostgreSQL stores ``timestamptz``;
  SQLite has no time zone support, so values are stored as naive UTC text and get their UTC
  tzinfo back on the way out.  Naive datetimes are rejected rather than guessed at.
* Money is ``NUMERIC(12, 2)``: exact storage and exact ``sum()`` in SQL, while Python sees a
  float because the scoring engine works in floats and amounts are already rounded to cents.
* JSON is ``JSONB`` on PostgreSQL (indexable, compact) and SQLite's JSON text elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


MONEY_PRECISION = 12
MONEY_SCALE = 2


def money() -> Numeric[float]:
    return Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=False)


def json_type() -> TypeEngine[Any]:
    return JSON().with_variant(JSONB(), "postgresql")


def utc_now() -> datetime:
    return datetime.now(UTC)
