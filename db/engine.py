"""Engine and session setup for PostgreSQL (production) and SQLite (embedded default)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from db.errors import DbError
from detector.common.private import private_file
from detector.common.settings import load_settings

# The detector thread and the pages write to the same SQLite file: wait for the lock a while
# instead of failing at once.
SQLITE_BUSY_TIMEOUT_MS = 10_000
PG_DRIVER = "postgresql+psycopg2"
T = TypeVar("T")
log = logging.getLogger("kvt.db")


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: the settings' ``db_url``); ``kwargs`` go to
    ``create_engine``."""
    if url is None:
        url = load_settings().db_url  # a SettingsError names its own variable
    try:
        parsed = make_url(url)
    except Exception:  # SQLAlchemy raises several types for a bad URL
        # Neither the URL nor the parser's message, which quotes parts of it: it may hold a
        # password.
        raise DbError(
            "invalid database URL (KVT_DATABASE_URL or --url): it cannot be parsed; expected "
            "postgresql://user:***@host:port/database or sqlite:///path/to/file.db"
        ) from None
    # orjson: several times faster than json for the alert reasons and customer states.
    kwargs.setdefault("json_serializer", _json_dumps)
    kwargs.setdefault("json_deserializer", orjson.loads)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    if backend == "postgresql":
        # psycopg2 is the installed driver and the bulk paths use its COPY API; a bare
        # "postgresql://" would otherwise mean psycopg 3 to SQLAlchemy 2.1.
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername=PG_DRIVER)
        elif parsed.drivername != PG_DRIVER:
            raise DbError(f"{parsed.drivername!r}: use postgresql:// or {PG_DRIVER}://")
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)
    raise DbError(f"unsupported database {backend!r} in {parsed!r}: use postgresql or sqlite")


def once_more_if_stale(read: Callable[[], T]) -> T:
    """``read()``, and once more when it failed on a pooled connection the server had closed
    (a restart, an idle timeout).  For an engine without ``pool_pre_ping``: instead of a
    round trip per checkout to test the connection, the first use finds out, and the failure
    has made the pool drop every connection older than it, so the second try gets a new
    one.  Only for reads: a write may have reached the server before the connection broke."""
    try:
        return read()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("database connection lost (%s); trying once more on a new one", exc.orig)
        return read()


def in_schema(url: str, schema: str) -> str:
    """A PostgreSQL URL whose connections see only `schema` (isolated tests and benches)."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # Objects stay readable after commit: pages render what they just wrote.
    return sessionmaker(engine, expire_on_commit=False)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        # It holds the password hashes: 0600 before SQLite writes a byte (its -wal and -shm
        # files take the database file's mode).
        file = Path(database).expanduser()
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # an existing one is kept
        private_file(file)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # WAL: pages keep reading while the detector writes.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    return engine
