"""Core tables: the dataset, alerts with their audit trail, rule sets, detector state, offsets.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _money() -> sa.Numeric[float]:
    return sa.Numeric(12, 2, asdecimal=False)


TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String()),
        sa.Column("signup_ts", TS, nullable=False),
        sa.Column("country", sa.String(), nullable=False),
        sa.Column("timezone", sa.String()),
        sa.Column("preferred_device", sa.String()),
        sa.Column("preferred_source", sa.String()),
        sa.Column("spend_level", sa.String()),
        sa.Column("segment", sa.String()),
        sa.Column("birthdate", sa.Date()),
        sa.Column("is_minor", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customers"),
    )
    op.create_table(
        "products",
        sa.Column("product_id", sa.String()),
        sa.Column("name", sa.String()),
        sa.Column("category", sa.String()),
        sa.Column("is_adult_restricted", sa.Boolean(), nullable=False),
        sa.Column("unit_price", _money(), nullable=False),
        sa.Column("created_at", TS),
        sa.PrimaryKeyConstraint("product_id", name="pk_products"),
    )
    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String()),
        sa.Column("customer_id", sa.String()),
        sa.Column("start_ts", TS, nullable=False),
        sa.Column("end_ts", TS),
        sa.Column("device", sa.String()),
        sa.Column("device_id", sa.String()),
        sa.Column("ip_hash", sa.String()),
        sa.Column("country", sa.String()),
        sa.Column("utm_source", sa.String()),
        sa.Column("utm_campaign", sa.String()),
        sa.PrimaryKeyConstraint("session_id", name="pk_sessions"),
    )
    op.create_index("ix_sessions_customer_id", "sessions", ["customer_id"])
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String()),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String()),
        sa.Column("payment_id", sa.String()),
        sa.Column("order_ts", TS, nullable=False),
        sa.Column("total_amount", _money(), nullable=False),
        sa.Column("currency", sa.String()),
        sa.Column("shipping_method", sa.String()),
        sa.Column("status", sa.String()),
        sa.PrimaryKeyConstraint("order_id", name="pk_orders"),
    )
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])
    op.create_table(
        "order_items",
        sa.Column("order_id", sa.String()),
        sa.Column("line_no", sa.SmallInteger()),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", _money(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "line_no", name="pk_order_items"),
    )
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.String()),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String()),
        sa.Column("order_id", sa.String()),
        sa.Column("attempt_ts", TS, nullable=False),
        sa.Column("method", sa.String()),
        sa.Column("card_bin", sa.String()),
        sa.Column("payment_country", sa.String()),
        sa.Column("ip_hash", sa.String()),
        sa.Column("device", sa.String()),
        sa.Column("device_id", sa.String()),
        sa.Column("utm_source", sa.String()),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("currency", sa.String()),
        sa.Column("result", sa.String(), nullable=False),
        sa.Column("decline_reason", sa.String()),
        sa.Column("is_fraud", sa.Boolean()),
        sa.Column("fraud_scenario", sa.String()),
        sa.Column("fraud_incident_id", sa.String()),
        sa.PrimaryKeyConstraint("payment_id", name="pk_payments"),
    )
    op.create_index("ix_payments_customer_id_attempt_ts", "payments", ["customer_id", "attempt_ts"])
    op.create_index("ix_payments_attempt_ts", "payments", ["attempt_ts"])

    op.create_table(
        "fraud_alerts",
        sa.Column("alert_id", sa.String()),
        sa.Column("payment_id", sa.String(), nullable=False),
        sa.Column("event_ts", TS, nullable=False),
        sa.Column("alert_ts", TS, nullable=False),
        sa.Column("customer_id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String()),
        sa.Column("device", sa.String()),
        sa.Column("device_id", sa.String()),
        sa.Column("utm_source", sa.String()),
        sa.Column("country", sa.String()),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("currency", sa.String()),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("reasons", _json(), nullable=False),
        sa.Column("ruleset_version", sa.String(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="PENDING_REVIEW"),
        sa.Column("decision", sa.String(16)),
        sa.Column("decided_by", sa.String()),
        sa.Column("decided_at", TS),
        sa.Column("notes", sa.Text()),
        sa.Column("row_version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name="pk_fraud_alerts"),
        sa.UniqueConstraint("payment_id", name="uq_fraud_alerts_payment_id"),
    )
    op.create_index("ix_fraud_alerts_event_ts_alert_id", "fraud_alerts", ["event_ts", "alert_id"])
    op.create_index("ix_fraud_alerts_customer_id_event_ts", "fraud_alerts",
                    ["customer_id", "event_ts"])  # fmt: skip
    op.create_table(
        "alert_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16)),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("note", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_alert_decisions"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["fraud_alerts.alert_id"], name="fk_alert_decisions_alert_id_fraud_alerts"
        ),
    )
    op.create_index("ix_alert_decisions_alert_id_at", "alert_decisions", ["alert_id", "at"])

    op.create_table(
        "rulesets",
        sa.Column("version", sa.Integer(), autoincrement=True),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("body", _json(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("author", sa.String(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_rulesets"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_rulesets_active",
        "rulesets",
        ["active"],
        unique=True,
        postgresql_where=sa.text("active"),
        sqlite_where=sa.text("active"),
    )
    op.create_table(
        "detector_state",
        sa.Column("customer_id", sa.String()),
        sa.Column("state", _json(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_detector_state"),
    )
    op.create_table(
        "consumer_offsets",
        sa.Column("group_id", sa.String()),
        sa.Column("topic", sa.String()),
        sa.Column("partition", sa.Integer()),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("group_id", "topic", "partition", name="pk_consumer_offsets"),
    )


def downgrade() -> None:
    for table in (
        "consumer_offsets",
        "detector_state",
        "rulesets",
        "alert_decisions",
        "fraud_alerts",
        "payments",
        "order_items",
        "orders",
        "sessions",
        "products",
        "customers",
    ):
        op.drop_table(table)
