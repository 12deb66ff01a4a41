"""Migrations on PostgreSQL: up, down, up again, data kept, models in agreement."""

from __future__ import annotations

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from db import migrate
from db.engine import make_engine
from db.models import Base
from tests.integration.db.race import at_once

pytestmark = pytest.mark.integration

QUEUE = {"alert_reasons", "dead_letters"}
ACCOUNTS = {"users", "audit_log"}
OUTBOX = {"outbox"}
TOKENS = {"api_tokens"}
SESSIONS = {"web_sessions", "sign_in_failures"}
COUNTS = {"fraud_alert_counts"}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_down_to_base_and_up_again(bare_engine: Engine) -> None:
    migrate.upgrade(bare_engine)
    head = _tables(bare_engine)
    assert migrate.current_revision(bare_engine) == migrate.head_revision()
    assert len(head) == 20 and head >= QUEUE | ACCOUNTS | OUTBOX | TOKENS | SESSIONS | COUNTS
    migrate.downgrade(bare_engine, "0010")
    assert _tables(bare_engine) == head - COUNTS
    head -= COUNTS
    migrate.downgrade(bare_engine, "0005")
    assert _tables(bare_engine) == head - SESSIONS
    migrate.downgrade(bare_engine, "0004")
    assert _tables(bare_engine) == head - TOKENS - SESSIONS
    migrate.downgrade(bare_engine, "0003")
    assert _tables(bare_engine) == head - OUTBOX - TOKENS - SESSIONS
    migrate.downgrade(bare_engine, "0002")
    assert _tables(bare_engine) == head - ACCOUNTS - OUTBOX - TOKENS - SESSIONS
    migrate.downgrade(bare_engine, "0001")
    assert _tables(bare_engine) == head - QUEUE - ACCOUNTS - OUTBOX - TOKENS - SESSIONS
    migrate.downgrade(bare_engine, "base")
    assert _tables(bare_engine) == set()
    migrate.upgrade(bare_engine)
    assert _tables(bare_engine) == head | COUNTS


def test_models_and_migrations_agree(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_jsonb_and_partial_unique_index_on_postgresql(pg_engine: Engine) -> None:
    with pg_engine.connect() as conn:
        kind = conn.execute(
            text(
                "SELECT data_type FROM information_schema.columns WHERE table_schema ="
                " current_schema() AND table_name = 'fraud_alerts' AND column_name = 'reasons'"
            )
        ).scalar_one()
        index = conn.execute(
            text(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND indexname = 'uq_rulesets_active'"
            )
        ).scalar_one()
    assert kind == "jsonb"
    assert "UNIQUE" in index and "WHERE active" in index


def test_upgrade_keeps_rows_and_backfills_alert_reasons(bare_engine: Engine) -> None:
    migrate.upgrade(bare_engine, "0001")
    reasons = [{"rule_id": "FIRST_PAYMENT"}, {"rule_id": "UNUSUAL_HOUR"}]
    with bare_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO fraud_alerts (alert_id, payment_id, event_ts, alert_ts, customer_id,"
                " amount, score, severity, reasons, ruleset_version, created_at, updated_at)"
                " VALUES ('ALT-P1', 'P1', now(), now(), 'C1', 12.5, 75, 'MEDIUM',"
                " CAST(:r AS jsonb), '1', now(), now())"
            ),
            {"r": json.dumps(reasons)},
        )
        conn.execute(text("INSERT INTO consumer_offsets VALUES ('g', 'payments', 0, 41, now())"))
    migrate.upgrade(bare_engine)
    with bare_engine.connect() as conn:
        assert conn.execute(text("SELECT score FROM fraud_alerts")).scalar_one() == 75
        assert conn.execute(text("SELECT next_offset FROM consumer_offsets")).scalar_one() == 41
        rules = conn.execute(text("SELECT rule_id FROM alert_reasons ORDER BY 1")).scalars().all()
    assert rules == ["FIRST_PAYMENT", "UNUSUAL_HOUR"]


def test_concurrent_upgrades_are_serialised(schema_url: str) -> None:
    # The app and the detector both migrate at start; neither may fail on a fresh database.

    def run() -> None:
        engine = make_engine(schema_url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()

    errors = [r for r in at_once(run, run, run, timeout_s=60) if r is not None]
    assert errors == []
    assert migrate.current_revision(schema_url) == migrate.head_revision()


def test_two_active_rulesets_violate_the_partial_index(pg_engine: Engine) -> None:
    insert = text(
        "INSERT INTO rulesets (label, body, fingerprint, author, created_at, active)"
        " VALUES ('x', '{}', 'f', 'a', now(), :active)"
    )
    with pg_engine.begin() as conn:
        conn.execute(insert, [{"active": True}, {"active": False}])
    with pytest.raises(IntegrityError), pg_engine.begin() as conn:
        conn.execute(insert, {"active": True})
