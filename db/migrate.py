"""Run the Alembic migrations from Python; no alembic.ini needed.

The app and the detector call :func:`prepare` at start, so both may race on a fresh database:
on PostgreSQL a transaction-scoped advisory lock serialises them and the second one finds the
schema at head.  PostgreSQL DDL is transactional, so a failed upgrade leaves nothing behind;
SQLite commits DDL statement by statement.

Migrations run as the owner role (``KVT_DATABASE_OWNER_URL``) when one is configured, and
then grant the app's role (the user of ``KVT_DATABASE_URL``) its privileges
(:mod:`db.privileges`).  A downgrade that would drop audit, decision or account rows refuses
unless forced, and says how many rows it would drop.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import URL, make_url

from db.engine import make_engine
from db.errors import DbError
from db.privileges import grant_app_role
from detector.common.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant shared by every process of the project; "KVT" in ASCII.
_ADVISORY_LOCK_KEY = 0x4B5654


# Revisions whose downgrade drops tables holding who-did-what: never silently.
PROTECTED: dict[str, tuple[str, ...]] = {
    "0001": ("alert_decisions",),
    "0003": ("audit_log", "users"),
}


class DowngradeRefused(DbError):
    """A downgrade would drop audit, decision or account rows and was not forced."""


def upgrade(
    target: Engine | str | URL | None = None, revision: str = "head", app_role: str | None = None
) -> None:
    """Bring the schema at ``target`` (engine, URL, or the settings' URL) up to ``revision``;
    on PostgreSQL, then grant ``app_role`` the app's privileges."""

    def action(cfg: Config) -> None:
        command.upgrade(cfg, revision)
        conn = cfg.attributes["connection"]
        if app_role and conn.dialect.name == "postgresql":
            grant_app_role(conn, app_role)

    _run(target, action)


def prepare(settings: Settings) -> None:
    """At the start of the app and the detector: the schema at head, as the owner role when
    one is configured.  Without one the app's own URL migrates (SQLite, a single-role
    PostgreSQL); a restricted app role finds the schema at head and changes nothing."""
    if settings.database_owner_url:
        upgrade(settings.database_owner_url, app_role=app_role(settings))
    else:
        upgrade(settings.db_url)


def app_role(settings: Settings) -> str | None:
    """The role to grant the app's privileges to: the user of ``KVT_DATABASE_URL`` when the
    owner's URL names another one."""
    if not settings.database_url or not settings.database_owner_url:
        return None
    app = make_url(settings.database_url).username
    owner = make_url(settings.database_owner_url).username
    return app if app and app != owner else None


def downgrade(target: Engine | str | URL | None, revision: str, force: bool = False) -> None:
    """Go back to ``revision`` (``"base"`` drops every table).  Refuses with
    :class:`DowngradeRefused` when that would drop audit, decision or account rows, unless
    ``force``."""

    def action(cfg: Config) -> None:
        if not force:
            _refuse_lossy(cfg, revision)
        command.downgrade(cfg, revision)

    _run(target, action)


def _refuse_lossy(cfg: Config, revision: str) -> None:
    conn = cfg.attributes["connection"]
    current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        return
    script = ScriptDirectory.from_config(cfg)
    lower = "base" if revision == "base" else revision
    undone = [r.revision for r in script.iterate_revisions(current, lower) if r.revision != lower]
    existing = set(inspect(conn).get_table_names())
    rows: dict[str, int] = {}
    for rev in undone:
        for table in PROTECTED.get(rev, ()):
            if table in existing:
                quoted = conn.dialect.identifier_preparer.quote(table)
                rows[table] = int(conn.execute(text(f"SELECT count(*) FROM {quoted}")).scalar_one())
    lost = {t: n for t, n in rows.items() if n}
    if lost:
        what = ", ".join(f"{n:,} {t} row(s)" for t, n in sorted(lost.items()))
        raise DowngradeRefused(
            f"downgrade to {revision} would drop {what}; nothing was changed. To drop them "
            f"anyway: python -m db downgrade {revision} --force"
        )


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
            else:
                # Python's sqlite3 opens a transaction before DML only: DDL would commit as it
                # runs, and a migration refused halfway (a downgrade refused by 0010 after
                # 0011's was undone) would leave its first steps done.  One transaction.
                conn.exec_driver_sql("BEGIN")
            action(_config(conn))  # type: ignore[operator]
    finally:
        if owned:
            engine.dispose()


def _engine(target: Engine | str | URL | None) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    return make_engine(target), True
