"""Run the Alembic migrations from Python; no alembic.ini needed.

The app and the detector call :func:`upgrade` at start, so both may race on a fresh database:
on PostgreSQL a transaction-scoped advisory lock serialises them and the second one finds the
schema at head.  PostgreSQL DDL is transactional, so a failed upgrade leaves nothing behind;
SQLite commits DDL statement by statement.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from db.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant shared by every process of the project; "KVT" in ASCII.
_ADVISORY_LOCK_KEY = 0x4B5654


def upgrade(target: Engine | str | URL | None = None, revision: str = "head") -> None:
    """Bring the schema at ``target`` (engine, URL, or the settings' URL) up to ``revision``."""
    _run(target, lambda cfg: command.upgrade(cfg, revision))


def downgrade(target: Engine | str | URL | None, revision: str) -> None:
    """Go back to ``revision`` (``"base"`` drops every table); data in dropped tables is lost."""
    _run(target, lambda cfg: command.downgrade(cfg, revision))


def current_revision(target: Engine | str | URL | None = None) -> str | None:
    engine, owned = _engine(target)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if owned:
            engine.dispose()


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config(None)).get_current_head()
    assert head is not None
    return head


def _config(connection: Connection | None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _run(target: Engine | str | URL | None, action: object) -> None:
    engine, owned = _engine(target)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
            action(_config(conn))  # type: ignore[operator]
    finally:
        if owned:
            engine.dispose()


def _engine(target: Engine | str | URL | None) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    return make_engine(target), True
