"""Alert counts kept by the database: ``fraud_alert_counts`` holds signed deltas per
(dataset, status, severity, country, device), written by triggers on ``fraud_alerts``.

The queue's header and the API's first page need the count of every alert per status,
severity, country and device.  Counted on demand, that is a grouped scan of the whole table
(about 0.4 s of a core at 1,000,000 alerts), repeated by every server process every few
seconds.  Kept by triggers, it is a read of a few hundred rows, exact at every commit, and
any writer (detector, Flink sink, bulk load, a decision, a dataset cleared) keeps it right.

Deltas are appended, never updated in place: a counter row updated by every writer would be
a lock all of them queue on (and a deadlock when two transactions touch two counters in
opposite orders).  Readers sum them.  Every ``COMPACT_EVERY`` deltas, the writer that crosses
the mark folds every delta it can see into one row per group, in one statement (one snapshot:
a delta committed meanwhile is neither summed nor deleted), so a read stays a few hundred rows.

- PostgreSQL: one statement-level trigger per verb, over the statement's transition tables,
  so a batch of 500 alerts adds one row per group it touches, not 500.
- SQLite: row-level triggers (it has no transition tables); an UPDATE that leaves the five
  columns alone adds nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_COLS = "dataset, status, severity, country, device"
COMPACT_EVERY = 4096  # deltas between two compactions
# Folds the deltas up to ``mark`` (an id) into one row per group; the new rows get higher ids.
_FOLD = (
    "WITH moved AS (DELETE FROM fraud_alert_counts WHERE id <= {mark}"
    f" RETURNING {_COLS}, n)"
    f" INSERT INTO fraud_alert_counts ({_COLS}, n)"
    f" SELECT {_COLS}, sum(n) FROM moved GROUP BY {_COLS} HAVING sum(n) <> 0"
)


def upgrade() -> None:
    op.create_table(
        "fraud_alert_counts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("dataset", sa.String(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("country", sa.String()),
        sa.Column("device", sa.String()),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_fraud_alert_counts_dataset", "fraud_alert_counts", ["dataset"])
    op.execute(
        f"INSERT INTO fraud_alert_counts ({_COLS}, n)"
        f" SELECT {_COLS}, count(*) FROM fraud_alerts GROUP BY {_COLS}"
    )
    if op.get_bind().dialect.name == "postgresql":
        _pg_triggers()
    else:
        _sqlite_triggers()


def _pg_triggers() -> None:
    bodies = {
        "insert": f"SELECT {_COLS}, count(*) FROM new_rows GROUP BY {_COLS}",
        "delete": f"SELECT {_COLS}, -count(*) FROM old_rows GROUP BY {_COLS}",
        # Only the groups that changed: a decision moves one alert from one status to another;
        # a re-score that keeps the five columns adds nothing.
        "update": (
            f"SELECT {_COLS}, sum(n) FROM ("
            f" SELECT {_COLS}, -1 AS n FROM old_rows"
            f" UNION ALL SELECT {_COLS}, 1 AS n FROM new_rows"
            f") AS d GROUP BY {_COLS} HAVING sum(n) <> 0"
        ),
    }
    refs = {
        "insert": "NEW TABLE AS new_rows",
        "delete": "OLD TABLE AS old_rows",
        "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    }
    # A writer that crosses a multiple of COMPACT_EVERY compacts, unless another one is at it
    # (the advisory lock is held until its commit; writers never wait on it).
    fold = _FOLD.format(mark="last")
    for verb, body in bodies.items():
        op.execute(
            f"CREATE FUNCTION kvt_alert_counts_{verb}() RETURNS trigger LANGUAGE plpgsql AS $$"
            " DECLARE added bigint; last bigint; BEGIN"
            f" INSERT INTO fraud_alert_counts ({_COLS}, n) {body};"
            " GET DIAGNOSTICS added = ROW_COUNT;"
            " IF added > 0 THEN"
            "  last := currval(pg_get_serial_sequence('fraud_alert_counts', 'id'));"
            f"  IF last / {COMPACT_EVERY} > (last - added) / {COMPACT_EVERY}"
            "   AND pg_try_advisory_xact_lock(hashtext('kvt.fraud_alert_counts')) THEN"
            f"   {fold};"
            "  END IF;"
            " END IF;"
            " RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER fraud_alerts_count_{verb} AFTER {verb.upper()} ON fraud_alerts"
            f" REFERENCING {refs[verb]} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION kvt_alert_counts_{verb}()"
        )
    op.execute(
        "CREATE FUNCTION kvt_alert_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN DELETE FROM fraud_alert_counts; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER fraud_alerts_count_truncate AFTER TRUNCATE ON fraud_alerts"
        " FOR EACH STATEMENT EXECUTE FUNCTION kvt_alert_counts_truncate()"
    )


def _sqlite_row(prefix: str, n: int) -> str:
    values = ", ".join(f"{prefix}.{c.strip()}" for c in _COLS.split(","))
    return f"INSERT INTO fraud_alert_counts ({_COLS}, n) VALUES ({values}, {n});"


def _sqlite_triggers() -> None:
    changed = " OR ".join(f"OLD.{c.strip()} IS NOT NEW.{c.strip()}" for c in _COLS.split(","))
    op.execute(
        "CREATE TRIGGER fraud_alerts_count_insert AFTER INSERT ON fraud_alerts"
        f" BEGIN {_sqlite_row('NEW', 1)} END"
    )
    op.execute(
        "CREATE TRIGGER fraud_alerts_count_delete AFTER DELETE ON fraud_alerts"
        f" BEGIN {_sqlite_row('OLD', -1)} END"
    )
    op.execute(
        f"CREATE TRIGGER fraud_alerts_count_update AFTER UPDATE ON fraud_alerts WHEN {changed}"
        f" BEGIN {_sqlite_row('OLD', -1)} {_sqlite_row('NEW', 1)} END"
    )
    # One writer at a time: the fold needs neither a lock nor one statement.  Its own inserts
    # do not fire this trigger again (SQLite's triggers are not recursive unless asked).
    op.execute(
        "CREATE TRIGGER fraud_alert_counts_fold AFTER INSERT ON fraud_alert_counts"
        f" WHEN NEW.id % {COMPACT_EVERY} = 0 BEGIN"
        f" INSERT INTO fraud_alert_counts ({_COLS}, n) SELECT {_COLS}, sum(n)"
        f" FROM fraud_alert_counts WHERE id <= NEW.id GROUP BY {_COLS} HAVING sum(n) <> 0;"
        " DELETE FROM fraud_alert_counts WHERE id <= NEW.id; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for verb in ("insert", "delete", "update", "truncate"):
            op.execute(f"DROP TRIGGER fraud_alerts_count_{verb} ON fraud_alerts")
            op.execute(f"DROP FUNCTION kvt_alert_counts_{verb}()")
    else:
        for verb in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER fraud_alerts_count_{verb}")
        op.execute("DROP TRIGGER fraud_alert_counts_fold")
    op.drop_table("fraud_alert_counts")
