"""Engine setup and the portable column types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from db.engine import make_engine, once_more_if_stale
from db.errors import DbError
from db.models import ConsumerOffset


def test_sqlite_engine_creates_its_directory_and_sets_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'kvt.db'}")
    with engine.connect() as conn:
        pragmas = {
            name: conn.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert (tmp_path / "a" / "b" / "kvt.db").exists()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10_000}


def test_default_url_comes_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KVT_DATABASE_URL", f"sqlite:///{tmp_path / 'from_env.db'}")
    assert make_engine().url.database == str(tmp_path / "from_env.db")


def test_bare_postgresql_url_uses_psycopg2() -> None:
    engine = make_engine("postgresql://u:p@127.0.0.1:1/x")
    assert engine.url.drivername == "postgresql+psycopg2"
    assert engine.pool._pre_ping  # type: ignore[attr-defined]


def test_a_read_is_tried_once_more_on_a_connection_the_server_closed() -> None:
    gone = DBAPIError("SELECT 1", None, Exception("server closed the connection"))
    gone.connection_invalidated = True
    calls: list[int] = []

    def read() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise gone
        return "ok"

    assert once_more_if_stale(read) == "ok" and len(calls) == 2
    calls.clear()

    def broken() -> str:
        calls.append(1)
        raise gone

    with pytest.raises(DBAPIError):
        once_more_if_stale(broken)  # once more, not forever
    assert len(calls) == 2
    other = DBAPIError("SELECT x", None, Exception("syntax error"))
    with pytest.raises(DBAPIError):
        once_more_if_stale(lambda: (_ for _ in ()).throw(other))


@pytest.mark.parametrize("url", ["mysql://u@h/x", "not a url", "postgresql+asyncpg://u@h/x"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(DbError):
        make_engine(url)


@pytest.mark.parametrize(
    "url", ["postgresql://kvt:s3cret-pw@db:port/kvt", "postgresql://u@host:s3cret-pw/db"]
)
def test_an_unparsable_url_is_not_echoed_with_its_password(url: str) -> None:
    with pytest.raises(DbError) as info:
        make_engine(url)
    assert "s3cret-pw" not in str(info.value)
    assert "invalid database URL (KVT_DATABASE_URL or --url)" in str(info.value)


def test_timestamps_come_back_aware_and_in_utc(engine: Engine) -> None:
    paris = timezone(timedelta(hours=1))
    written = datetime(2025, 11, 20, 4, 30, 15, 123000, tzinfo=paris)
    with engine.begin() as conn:
        conn.execute(
            ConsumerOffset.__table__.insert(),
            {
                "group_id": "g",
                "topic": "t",
                "partition": 0,
                "next_offset": 1,
                "updated_at": written,
            },
        )
    with engine.connect() as conn:
        read = conn.execute(select(ConsumerOffset.updated_at)).scalar_one()
    assert read == written
    assert read.tzinfo == UTC
    assert read.hour == 3


def test_naive_timestamps_are_rejected(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        conn.execute(
            ConsumerOffset.__table__.insert(),
            {"group_id": "g", "topic": "t", "partition": 0, "next_offset": 1,
             "updated_at": datetime(2025, 11, 20)},
        )  # fmt: skip
