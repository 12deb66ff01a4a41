"""Datasets apart in the detector's state and in the loaded payments.

* ``detector_state`` is keyed by ``(customer_id, dataset)``: two datasets streamed through the
  live topics number their customers the same way (generated datasets all start at
  C000001), and one key per customer mixed their velocity, history and known devices, so a
  dataset's scores depended on the datasets streamed before it.  Rows already stored are the
  live stream's (``live``, the column's default): the live stream keeps its states.
* ``payments.dataset`` records the dataset a loaded payment came from (NULL for rows loaded
  before: not known), so the insights join an alert to its own dataset's payment only
  (``db.alert_counts``), not to another dataset's payment of the same id.

Downgrading refuses while a customer has states in more than one dataset: the old key cannot
hold them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrate import DowngradeRefused

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

LIVE = "live"
_PK = "pk_detector_state"


def upgrade() -> None:
    with op.batch_alter_table("detector_state") as batch:
        batch.add_column(sa.Column("dataset", sa.String(), nullable=False, server_default=LIVE))
        batch.drop_constraint(_PK, type_="primary")
        batch.create_primary_key(_PK, ["customer_id", "dataset"])
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("dataset", sa.String(), nullable=True))


def downgrade() -> None:
    shared = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM (SELECT customer_id FROM detector_state"
            " GROUP BY customer_id HAVING count(*) > 1) AS s"
        )
    )
    if shared:
        raise DowngradeRefused(
            f"cannot downgrade below 0012: {shared} customer(s) have states in more than one "
            "dataset, which the old one-state-per-customer key cannot hold; delete the "
            "datasets' states (detector_state rows whose dataset is not 'live') first"
        )
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("dataset")
    with op.batch_alter_table("detector_state") as batch:
        batch.drop_constraint(_PK, type_="primary")
        batch.create_primary_key(_PK, ["customer_id"])
        batch.drop_column("dataset")
