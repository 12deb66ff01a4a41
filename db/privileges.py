"""What the app's database role may do (PostgreSQL): applied by every upgrade run as the owner.

The owner role owns the schema and runs the migrations; the app and the detector connect as
another role, granted exactly this after each upgrade (everything is revoked first, so a
privilege granted by hand does not linger):

- ``audit_log`` and ``alert_decisions``: SELECT and INSERT only.  Not being their owner, the
  role cannot ``ALTER TABLE ... DISABLE TRIGGER`` either, so the append-only triggers hold
  against the app itself.
- the dataset tables: DML and TRUNCATE (``db load --replace`` empties them).
- ``alembic_version``: SELECT (the app checks the schema is at head).
- every other table: SELECT, INSERT, UPDATE, DELETE.
- the schema: USAGE (no CREATE); sequences: USAGE, SELECT.

New tables need nothing here unless they must be stricter (add them to :data:`STRICT`).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

APPEND_ONLY = ("audit_log", "alert_decisions")
STRICT: dict[str, str] = {
    **{table: "SELECT, INSERT" for table in APPEND_ONLY},
    "alembic_version": "SELECT",
}
DML = "SELECT, INSERT, UPDATE, DELETE"


def dataset_tables() -> tuple[str, ...]:
    from db.loader import TABLES  # the loader owns that list; imported late (pyarrow)

    return tuple(t.name for t in TABLES)


def privileges_of(table: str) -> str:
    if table in STRICT:
        return STRICT[table]
    if table in dataset_tables():
        return DML + ", TRUNCATE"
    return DML


def grant_app_role(conn: Connection, role: str) -> None:
    """Give ``role`` exactly the app's privileges on the current schema's tables."""
    quote = conn.dialect.identifier_preparer.quote
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    tables = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    ).scalars()
    who = quote(role)
    conn.execute(text(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {who}"))
    for table in sorted(tables):
        name = quote(table)
        conn.execute(text(f"REVOKE ALL ON {name} FROM {who}"))
        conn.execute(text(f"GRANT {privileges_of(table)} ON {name} TO {who}"))
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {who}"))
