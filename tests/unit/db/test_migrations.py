"""The schema comes from migrations, matches the models, and upgrades without losing data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from db import migrate
from db.alerts import count_groups
from db.engine import make_engine, session_factory
from db.models import Base

CORE = {
    "customers",
    "products",
    "sessions",
    "orders",
    "order_items",
    "payments",
    "fraud_alerts",
    "alert_decisions",
    "rulesets",
    "detector_state",
    "consumer_offsets",
}
QUEUE = {"alert_reasons", "dead_letters", "fraud_alert_counts"}
ACCOUNTS = {"users", "audit_log"}
OUTBOX = {"outbox"}
TOKENS = {"api_tokens"}
SESSIONS = {"web_sessions", "sign_in_failures"}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_empty_database_upgrades_to_head_with_every_table(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert _tables(engine) == CORE | QUEUE | ACCOUNTS | OUTBOX | TOKENS | SESSIONS


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_downgrade_to_base_then_upgrade_again(engine: Engine) -> None:
    migrate.downgrade(engine, "0001")
    assert _tables(engine) == CORE
    migrate.downgrade(engine, "base")
    assert _tables(engine) == set()
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert _tables(engine) == CORE | QUEUE | ACCOUNTS | OUTBOX | TOKENS | SESSIONS


def test_upgrade_keeps_rows_and_backfills_alert_reasons(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0001")
    reasons = [{"rule_id": "FIRST_PAYMENT", "points": 40}, {"rule_id": "NEW_DEVICE", "points": 30}]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO fraud_alerts (alert_id, payment_id, event_ts, alert_ts, customer_id,"
                " amount, score, severity, reasons, ruleset_version, created_at, updated_at)"
                " VALUES ('ALT-P1', 'P1', '2025-11-20 10:00:00', '2025-11-20 10:00:01', 'C1',"
                " 12.5, 70, 'MEDIUM', :reasons, '1', '2025-11-20 10:00:01', '2025-11-20 10:00:01')"
            ),
            {"reasons": json.dumps(reasons)},
        )
        conn.execute(
            text(
                "INSERT INTO customers (customer_id, signup_ts, country, is_minor)"
                " VALUES ('C1', '2025-01-01 00:00:00', 'FR', 0)"
            )
        )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        alert = conn.execute(text("SELECT score, status, row_version FROM fraud_alerts")).one()
        rules = conn.execute(text("SELECT rule_id FROM alert_reasons ORDER BY rule_id")).scalars()
        customers = conn.execute(text("SELECT customer_id FROM customers")).scalars().all()
    assert tuple(alert) == (70, "PENDING_REVIEW", 1)
    assert list(rules) == ["FIRST_PAYMENT", "NEW_DEVICE"]
    assert customers == ["C1"]


def test_at_most_one_active_ruleset_is_enforced_by_the_database(engine: Engine) -> None:
    insert = text(
        "INSERT INTO rulesets (label, body, fingerprint, author, created_at, active)"
        " VALUES ('x', '{}', 'f', 'a', '2025-11-20 10:00:00', :active)"
    )
    with engine.begin() as conn:
        conn.execute(insert, [{"active": True}, {"active": False}, {"active": False}])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert, {"active": True})


def test_alerts_before_0009_read_unattributed_and_new_ones_default_to_live(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0007")
    insert = text(
        "INSERT INTO fraud_alerts (alert_id, payment_id, event_ts, alert_ts, customer_id,"
        " amount, score, severity, reasons, ruleset_version, created_at, updated_at)"
        " VALUES (:a, :p, '2025-11-20 10:00:00', '2025-11-20 10:00:01', 'C1',"
        " 12.5, 70, 'MEDIUM', '[]', '1', '2025-11-20 10:00:01', '2025-11-20 10:00:01')"
    )
    with engine.begin() as conn:
        conn.execute(insert, {"a": "ALT-P1", "p": "P1"})
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert, {"a": "ALT-P2", "p": "P2"})
        rows = conn.execute(text("SELECT alert_id, dataset FROM fraud_alerts ORDER BY 1")).all()
    assert [tuple(r) for r in rows] == [("ALT-P1", "?"), ("ALT-P2", "live")]


def test_0008_flags_unknown_customers_and_reads_earlier_alerts_as_unchecked(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0007")
    insert = text(
        "INSERT INTO fraud_alerts (alert_id, payment_id, event_ts, alert_ts, customer_id,"
        " amount, score, severity, reasons, ruleset_version, created_at, updated_at)"
        " VALUES ('ALT-P1', 'P1', '2025-11-20 10:00:00', '2025-11-20 10:00:01', 'C1',"
        " 12.5, 70, 'MEDIUM', '[]', '1', '2025-11-20 10:00:01', '2025-11-20 10:00:01')"
    )
    with engine.begin() as conn:
        conn.execute(insert)
    migrate.upgrade(engine, "0008")
    with engine.begin() as conn:
        flag = conn.execute(text("SELECT unknown_customer FROM fraud_alerts")).scalar_one()
    assert flag is None
    migrate.downgrade(engine, "0007")
    assert "unknown_customer" not in {
        c["name"] for c in inspect(engine).get_columns("fraud_alerts")
    }
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()


def test_0010_lets_two_datasets_hold_a_payment_id_and_refuses_to_downgrade_over_them(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0009")
    insert = text(
        "INSERT INTO fraud_alerts (alert_id, payment_id, event_ts, alert_ts, customer_id,"
        " amount, score, severity, reasons, ruleset_version, dataset, created_at, updated_at)"
        " VALUES (:a, :p, '2025-11-20 10:00:00', '2025-11-20 10:00:01', 'C1',"
        " 12.5, 70, 'MEDIUM', '[]', '1', :d, '2025-11-20 10:00:01', '2025-11-20 10:00:01')"
    )
    with engine.begin() as conn:
        conn.execute(insert, {"a": "ALT-P1", "p": "P1", "d": "shop-a"})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert, {"a": "ALT:P1@shop-b", "p": "P1", "d": "shop-b"})
    # To 0010 only: SQLite commits DDL statement by statement, so a later revision's
    # downgrade (a table rebuilt) would not be undone by 0010's refusal.
    migrate.upgrade(engine, "0010")
    with engine.begin() as conn:
        conn.execute(insert, {"a": "ALT:P1@shop-b", "p": "P1", "d": "shop-b"})
    with pytest.raises(IntegrityError), engine.begin() as conn:  # still one per dataset
        conn.execute(insert, {"a": "ALT:P1@shop-b2", "p": "P1", "d": "shop-b"})
    with pytest.raises(migrate.DowngradeRefused, match="1 payment id"):
        migrate.downgrade(engine, "0009")
    assert migrate.current_revision(engine) == "0010"
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM fraud_alerts WHERE dataset = 'shop-b'"))
    migrate.downgrade(engine, "0009")
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert, {"a": "ALT:P1@shop-b", "p": "P1", "d": "shop-b"})
    engine.dispose()


def test_0011_counts_the_alerts_already_there_and_a_refused_downgrade_changes_nothing(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0010")
    insert = text(
        "INSERT INTO fraud_alerts (alert_id, payment_id, event_ts, alert_ts, customer_id,"
        " amount, score, severity, reasons, ruleset_version, dataset, country, created_at,"
        " updated_at) VALUES (:a, :p, '2025-11-20 10:00:00', '2025-11-20 10:00:01', 'C1',"
        " 12.5, 70, :s, '[]', '1', :d, 'FR', '2025-11-20 10:00:01', '2025-11-20 10:00:01')"
    )
    with engine.begin() as conn:
        for i, (severity, dataset) in enumerate([("HIGH", "a"), ("HIGH", "a"), ("MEDIUM", "b")]):
            conn.execute(insert, {"a": f"A{i}", "p": f"P{i}", "s": severity, "d": dataset})
    migrate.upgrade(engine)
    with session_factory(engine)() as s:
        assert sorted(count_groups(s)) == [
            ("PENDING_REVIEW", "HIGH", "FR", None, 2),
            ("PENDING_REVIEW", "MEDIUM", "FR", None, 1),
        ]
        assert count_groups(s, "b") == [("PENDING_REVIEW", "MEDIUM", "FR", None, 1)]
    # 0010 refuses to go back over two datasets sharing a payment id: 0011, undone first in
    # the same transaction, is back as it was.
    with engine.begin() as conn:
        conn.execute(insert, {"a": "A0b", "p": "P0", "s": "HIGH", "d": "b"})
    with pytest.raises(migrate.DowngradeRefused):
        migrate.downgrade(engine, "0009")
    assert migrate.current_revision(engine) == migrate.head_revision()
    with session_factory(engine)() as s:
        assert sum(g[4] for g in count_groups(s, "b")) == 2
    engine.dispose()


def test_0012_keeps_states_live_and_lets_datasets_hold_a_customer_each(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0011")
    state = "INSERT INTO detector_state (customer_id, {cols} state, updated_at) VALUES" \
        " ('C1', {vals} '{{}}', '2025-11-20 10:00:01')"  # fmt: skip
    with engine.begin() as conn:
        conn.execute(text(state.format(cols="", vals="")))
    migrate.upgrade(engine)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT dataset FROM detector_state")).scalars().all() == [
            "live"  # the states stored before are the live stream's
        ]
        conn.execute(text(state.format(cols="dataset,", vals="'shop-a',")))
    with pytest.raises(IntegrityError), engine.begin() as conn:  # one per customer and dataset
        conn.execute(text(state.format(cols="dataset,", vals="'shop-a',")))
    with pytest.raises(migrate.DowngradeRefused, match="1 customer"):
        migrate.downgrade(engine, "0011")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM detector_state WHERE dataset <> 'live'"))
    migrate.downgrade(engine, "0011")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT customer_id FROM detector_state")).scalars().all() == [
            "C1"
        ]
    engine.dispose()
