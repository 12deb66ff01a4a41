"""Filters and searches on the real PostgreSQL: injection attempts match nothing, change
nothing (the same attempts as tests/unit/security on SQLite)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.unit.db.builders import session_of
from tests.unit.security.injection import attempt_everywhere

pytestmark = pytest.mark.integration


def test_injection_attempts_match_nothing_and_change_nothing(pg_engine: Engine) -> None:
    attempt_everywhere(pg_engine)


def test_typed_filters_never_reach_postgresql_as_text(pg_engine: Engine) -> None:
    """A score that is not a number is refused by PostgreSQL as a bound value (a type error),
    never spliced into the statement."""
    from sqlalchemy.exc import DataError

    from db.alerts import AlertFilters, count_alerts

    with session_of(pg_engine) as s, pytest.raises(DataError, match="invalid input syntax"):
        count_alerts(s, AlertFilters(score_min="0 OR 1=1"))  # type: ignore[arg-type]


def test_a_refused_password_is_not_repeated_in_the_status(pg_url: str) -> None:
    from sqlalchemy import make_url

    from db.engine import make_engine
    from desk.pipeline import database_reachable

    secret = "wrong-s3cret-pw"
    url = make_url(pg_url).set(password=secret).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        ok, error = database_reachable(engine)
    finally:
        engine.dispose()
    assert not ok and "password authentication failed" in error
    assert secret not in error
