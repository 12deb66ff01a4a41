"""Filters and searches are parameterised: injection attempts match nothing, change nothing
(SQLite here; tests/integration/db/test_db_pg_injection.py runs the same on PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from db.alerts import AlertFilters
from db.errors import DbError
from desk import pipeline
from desk import queue as q
from tests.unit.security.injection import attempt_everywhere
from tests.unit.security.payloads import SQL


def test_injection_attempts_match_nothing_and_change_nothing(engine: Engine) -> None:
    attempt_everywhere(engine)


@pytest.mark.parametrize("payload", SQL)
def test_closed_vocabularies_refuse_unknown_values(payload: str) -> None:
    for field in ("status", "severity", "rule_ids"):
        with pytest.raises(DbError, match="unknown value"):
            AlertFilters(**{field: (payload,)})


@pytest.mark.parametrize("payload", SQL)
def test_typed_filters_refuse_text_before_any_query(payload: str) -> None:
    # Dates, scores and page numbers come from date, slider and number widgets; text in
    # their place fails in Python, it never reaches a statement.
    with pytest.raises(TypeError):
        q.build_filters(day_range=[payload])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="invalid literal"):
        q.build_filters(score_range=(payload, payload), score_bounds=(0, 100))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pipeline.list_dead_letters(None, page=payload)  # type: ignore[arg-type]
