"""Alerts say whether their customer was unknown: the customer reference (the ``customers``
table) did not list the payment's customer when it was scored.

Such a payment is scored as a new customer's would be (``KVT_UNKNOWN_CUSTOMERS=flag``); the
flag tells the analyst that "new customer" means "nobody the shop knows".  Nullable: NULL means
not checked (alerts written before this revision, and writers without the reference check,
such as the Flink job); false means the reference listed the customer or listed nobody.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fraud_alerts") as batch:
        batch.add_column(sa.Column("unknown_customer", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fraud_alerts") as batch:
        batch.drop_column("unknown_customer")
