"""Every alert names the dataset that produced it: a replayed dataset's name, or ``live`` for
the Kafka topics (the detector service and the Flink job).

The queue, insights and pipeline filter by it, so two replays no longer blend into one queue.
Alerts written before this revision cannot be attributed: they read ``?`` (no dataset name can
be written so, see ``desk.studio.check_name``).  On PostgreSQL the column is added with that
default, stored once in the catalogue rather than written into every row, then the default
becomes ``live`` for rows to come: no table rewrite, however many alerts there are.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UNATTRIBUTED = "?"
LIVE = "live"
_INDEX = "ix_fraud_alerts_dataset_status_event_ts"


def upgrade() -> None:
    with op.batch_alter_table("fraud_alerts") as batch:
        batch.add_column(
            sa.Column("dataset", sa.String(), nullable=False, server_default=UNATTRIBUTED)
        )
    with op.batch_alter_table("fraud_alerts") as batch:
        batch.alter_column("dataset", server_default=LIVE, existing_type=sa.String())
    op.create_index(_INDEX, "fraud_alerts", ["dataset", "status", "event_ts"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="fraud_alerts")
    with op.batch_alter_table("fraud_alerts") as batch:
        batch.drop_column("dataset")
