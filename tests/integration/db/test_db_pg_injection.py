"""Filters and searches on the real PostgreSQL: injection attempts match nothing, change
nothing (the same attempts as tests/unit/security on SQLite)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.unit.db.builders import batch, scored, session_of, write
from tests.unit.security.injection import attempt_everywhere

pytestmark = pytest.mark.integration


def test_injection_attempts_match_nothing_and_change_nothing(pg_engine: Engine) -> None:
    pairs, states = scored(batch(40))
    with session_of(pg_engine) as s:
        write(s, pairs, states)
        s.commit()
    attempt_everywhere(pg_engine)
