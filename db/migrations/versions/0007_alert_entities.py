"""Entity keys on alerts: the payment's card BIN and IP hash.

They travel with every scored payment so that rules across customers (a card range, a
network) can use them next; the alert keeps them so an analyst sees them in the detail.
Nullable: alerts written before this revision have neither.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fraud_alerts") as batch:
        batch.add_column(sa.Column("card_bin", sa.String(), nullable=True))
        batch.add_column(sa.Column("ip_hash", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fraud_alerts") as batch:
        batch.drop_column("ip_hash")
        batch.drop_column("card_bin")
