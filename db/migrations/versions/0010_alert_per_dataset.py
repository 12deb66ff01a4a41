"""An alert is one per payment *and dataset*: the unique key on ``fraud_alerts.payment_id``
becomes one on ``(payment_id, dataset)``.

Two replayed datasets whose payment ids overlap (generated datasets all number their payments
from PAY00000001) each get their own alert, with its own decisions: before this revision the
second dataset's alert collided with the first one's (one row, the first one's decision shown
against the second one's score, or the second one's alert missing).  Alert ids follow
(``db.detector_store.alert_id_for``): live alerts keep ``ALT-<payment id>``, a dataset's are
``ALT:<payment id>@<dataset>``.  Rows already written keep their ids (decisions and the audit
trail name them).

Downgrading refuses while a payment id has alerts in more than one dataset: the old key
cannot hold them; clear one dataset's alerts first.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.migrate import DowngradeRefused

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_OLD = "uq_fraud_alerts_payment_id"
_NEW = "uq_fraud_alerts_payment_id_dataset"


def upgrade() -> None:
    with op.batch_alter_table("fraud_alerts") as batch:
        batch.drop_constraint(_OLD, type_="unique")
        batch.create_unique_constraint(_NEW, ["payment_id", "dataset"])


def downgrade() -> None:
    shared = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM (SELECT payment_id FROM fraud_alerts"
            " GROUP BY payment_id HAVING count(*) > 1) AS s"
        )
    )
    if shared:
        raise DowngradeRefused(
            f"cannot downgrade below 0010: {shared} payment id(s) have alerts in more than "
            "one dataset, which the old one-alert-per-payment key cannot hold; clear one "
            "dataset's alerts first"
        )
    with op.batch_alter_table("fraud_alerts") as batch:
        batch.drop_constraint(_NEW, type_="unique")
        batch.create_unique_constraint(_OLD, ["payment_id"])
