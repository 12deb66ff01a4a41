"""Review queue indexes, per-rule alert reasons (backfilled), dead letters.

The queue pages filter by status (often with severity), sort by score or event time and page
through up to millions of alerts; each composite index below serves one of those shapes with an
index scan in the requested order, ``alert_id`` last so pagination ties break stably.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ALERT_INDEXES = {
    "ix_fraud_alerts_status_severity_event_ts": ["status", "severity", "event_ts"],
    "ix_fraud_alerts_status_event_ts_alert_id": ["status", "event_ts", "alert_id"],
    "ix_fraud_alerts_status_score_alert_id": ["status", "score", "alert_id"],
    "ix_fraud_alerts_score_alert_id": ["score", "alert_id"],
    "ix_fraud_alerts_severity": ["severity"],
}

# One row per (alert, rule) from the reasons JSON of alerts written before this revision.
_BACKFILL = {
    "postgresql": """
        INSERT INTO alert_reasons (alert_id, rule_id)
        SELECT a.alert_id, r.value ->> 'rule_id'
        FROM fraud_alerts a, jsonb_array_elements(a.reasons) AS r(value)
        ON CONFLICT DO NOTHING
    """,
    "sqlite": """
        INSERT OR IGNORE INTO alert_reasons (alert_id, rule_id)
        SELECT a.alert_id, json_extract(r.value, '$.rule_id')
        FROM fraud_alerts a, json_each(a.reasons) AS r
    """,
}


def upgrade() -> None:
    for name, columns in _ALERT_INDEXES.items():
        op.create_index(name, "fraud_alerts", columns)
    op.create_table(
        "alert_reasons",
        sa.Column("alert_id", sa.String()),
        sa.Column("rule_id", sa.String()),
        sa.PrimaryKeyConstraint("alert_id", "rule_id", name="pk_alert_reasons"),
    )
    op.create_index("ix_alert_reasons_rule_id_alert_id", "alert_reasons", ["rule_id", "alert_id"])
    op.execute(_BACKFILL[op.get_bind().dialect.name])
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column("source_topic", sa.String(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
        sa.UniqueConstraint(
            "source_topic",
            "partition",
            "offset",
            name="uq_dead_letters_source_topic_partition_offset",
        ),
    )
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"])


def downgrade() -> None:
    op.drop_table("dead_letters")
    op.drop_table("alert_reasons")
    for name in _ALERT_INDEXES:
        op.drop_index(name, table_name="fraud_alerts")
