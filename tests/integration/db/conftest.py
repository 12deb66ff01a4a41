"""PostgreSQL fixtures for the db suite: a private schema per test, dropped afterwards.

Every test gets an engine whose connections see only its own schema (``search_path``), with
the migrations applied, so tests neither see nor disturb each other or other suites' tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from db import migrate
from db.engine import in_schema, make_engine


@pytest.fixture
def schema_url(pg_url: str) -> Iterator[str]:
    """``pg_url`` narrowed to a fresh, empty schema."""
    schema = f"t_db_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield in_schema(pg_url, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def bare_engine(schema_url: str) -> Iterator[Engine]:
    """An engine on the empty schema (no migrations run)."""
    engine = make_engine(schema_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(bare_engine: Engine) -> Engine:
    migrate.upgrade(bare_engine)
    return bare_engine
