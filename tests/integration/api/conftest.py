"""Fixtures for the API suite: the db suite's private PostgreSQL schema per test, and the
detector suite's isolated pipeline (own topics, schema and consumer group)."""

from __future__ import annotations

from tests.integration.db.conftest import bare_engine, pg_engine, schema_url
from tests.integration.detector.conftest import make_pipeline

__all__ = ["bare_engine", "make_pipeline", "pg_engine", "schema_url"]
