"""PostgreSQL fixtures for the API suite: the db suite's private schema per test."""

from __future__ import annotations

from tests.integration.db.conftest import bare_engine, pg_engine, schema_url

__all__ = ["bare_engine", "pg_engine", "schema_url"]
