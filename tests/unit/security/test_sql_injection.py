"""Filters and searches are parameterised: injection attempts match nothing, change nothing
(SQLite here; tests/integration/db/test_db_pg_injection.py runs the same on PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.alerts import AlertFilters
from db.errors import DbError
from tests.unit.db.builders import batch, scored, write
from tests.unit.security.injection import attempt_everywhere
from tests.unit.security.payloads import SQL


def test_injection_attempts_match_nothing_and_change_nothing(engine: Engine) -> None:
    pairs, states = scored(batch(40))
    with Session(engine) as s:
        write(s, pairs, states)
        s.commit()
    attempt_everywhere(engine)


@pytest.mark.parametrize("payload", SQL)
def test_closed_vocabularies_refuse_unknown_values(payload: str) -> None:
    for field in ("status", "severity", "rule_ids"):
        with pytest.raises(DbError, match="unknown value"):
            AlertFilters(**{field: (payload,)})
