"""The desk's tests use the storage tests' migrated SQLite database per test, and a runtime
over it (the handle every desk function takes) that starts nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from db.engine import session_factory
from desk.runtime import Runtime
from detector.common.settings import Settings
from tests.unit.db.conftest import db_url, engine, session

__all__ = ["db_url", "engine", "rt", "session"]


@pytest.fixture
def rt(engine: Engine, tmp_path: Path) -> Runtime:
    return Runtime(Settings(data_dir=tmp_path), engine, session_factory(engine))
