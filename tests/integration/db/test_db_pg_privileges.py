"""Least privilege on PostgreSQL (issue 15, finding 7): migrations run as the owner role, the
app connects as ``kvt_app``, which can do its work but can neither rewrite nor hide the audit
trail and the decisions (DELETE, UPDATE, TRUNCATE, ALTER TABLE ... DISABLE TRIGGER, DROP:
all refused); a downgrade that would drop audit, decision or account rows refuses unless
forced, and says how many."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from data_gen.generate import generate
from data_gen.params import GenParams
from db import __main__ as cli
from db import migrate
from db.detector_store import alert_id_for
from db.engine import in_schema, make_engine, session_factory
from db.loader import load_dataset
from desk import auth
from desk import queue as q
from desk.handle import DbHandle
from detector.common.settings import Settings
from detector.runner import replay_messages
from detector.service import DetectorService
from detector.sources import ReplaySource
from tests.unit.db.builders import batch, scored, session_of, signed_in, write

pytestmark = pytest.mark.integration

APPEND_ONLY = ("audit_log", "alert_decisions")


@pytest.fixture
def app_engine(pg_engine: Engine, pg_app_url: str) -> Iterator[Engine]:
    """The test's schema (migrated by its owner, privileges granted to the app's role), seen
    through the app's role."""
    role = make_url(pg_app_url).username
    assert role
    migrate.upgrade(pg_engine, app_role=role)
    engine = make_engine(in_schema(pg_app_url, _schema(pg_engine)))
    yield engine
    engine.dispose()


def _schema(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT current_schema()")).scalar_one())


def _refused(engine: Engine, sql: str) -> str:
    with pytest.raises(DBAPIError) as exc, engine.begin() as conn:
        conn.execute(text(sql))
    return str(exc.value.orig).splitlines()[0]


def _seed(pg_engine: Engine, app_engine: Engine) -> str:
    """An alert decided by an analyst, through the app's role: audit and decision rows."""
    pairs, _ = scored(batch(20))
    with session_of(app_engine) as s:
        write(s, pairs)
        s.commit()
    alert_id = next(alert_id_for(v.payment_id) for v, _ in pairs if v.is_alert)
    sessions = session_factory(app_engine)
    ana = signed_in(sessions, "ana", "analyst")
    result = q.decide_many(DbHandle(sessions), [(alert_id, 1)], "BLOCK", ana, "app role at work")
    assert result.updated == (alert_id,)
    return alert_id


def test_the_app_role_works_but_cannot_rewrite_or_hide_the_trail(
    pg_engine: Engine, app_engine: Engine
) -> None:
    _seed(pg_engine, app_engine)
    # Signing in (users, sessions, failures, audit) works as the app's role too.
    out = auth.sign_in(
        DbHandle(session_factory(app_engine)),
        "ana",
        "wrong password!",
        timedelta(minutes=30),
        timedelta(hours=1),
    )
    assert out.principal is None
    with app_engine.connect() as conn:
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in APPEND_ONLY
        }
    assert counts["alert_decisions"] == 1 and counts["audit_log"] >= 2

    for table in APPEND_ONLY:
        for sql in (
            f"DELETE FROM {table}",
            f"UPDATE {table} SET at = at",
            f"TRUNCATE {table}",
            f"ALTER TABLE {table} DISABLE TRIGGER USER",
            f"ALTER TABLE {table} DISABLE TRIGGER ALL",
            f"DROP TABLE {table} CASCADE",
        ):
            message = _refused(app_engine, sql)
            assert "permission denied" in message or "must be owner" in message, (sql, message)
    # Nor can it make itself a table to move things into, or change a trigger function.
    _refused(app_engine, "CREATE TABLE escape (x int)")
    _refused(app_engine, "CREATE OR REPLACE FUNCTION kvt_append_only() RETURNS trigger "
                         "LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$")  # fmt: skip
    with app_engine.connect() as conn:
        after = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in APPEND_ONLY
        }
    assert after == counts


def test_the_owner_role_still_cannot_rewrite_the_trail_by_accident(
    pg_engine: Engine, app_engine: Engine
) -> None:
    _seed(pg_engine, app_engine)
    for table in APPEND_ONLY:
        assert "append-only" in _refused(pg_engine, f"DELETE FROM {table}")
        assert "append-only" in _refused(pg_engine, f"TRUNCATE {table}")


def test_upgrade_grants_exactly_the_apps_privileges(pg_engine: Engine, app_engine: Engine) -> None:
    role = app_engine.url.username
    with pg_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) "
                "FROM information_schema.role_table_grants "
                "WHERE grantee = :r AND table_schema = current_schema() GROUP BY table_name"
            ),
            {"r": role},
        ).all()
    grants = dict(rows)
    assert grants["audit_log"] == grants["alert_decisions"] == "INSERT,SELECT"
    assert grants["alembic_version"] == "SELECT"
    assert grants["payments"] == "DELETE,INSERT,SELECT,TRUNCATE,UPDATE"  # db load --replace
    assert grants["fraud_alerts"] == "DELETE,INSERT,SELECT,UPDATE"
    assert not any("TRIGGER" in g or "REFERENCES" in g for g in grants.values())


def test_a_downgrade_that_would_drop_the_trail_refuses_and_counts(
    pg_engine: Engine, app_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(pg_engine, app_engine)
    with pg_engine.connect() as conn:
        audit = conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
    with pytest.raises(migrate.DowngradeRefused) as exc:
        migrate.downgrade(pg_engine, "0002")
    assert f"{audit:,} audit_log row(s)" in str(exc.value) and "1 users row(s)" in str(exc.value)
    assert "--force" in str(exc.value)
    assert migrate.current_revision(pg_engine) == migrate.head_revision()  # nothing changed
    # Down to the base also drops the decisions: counted as well.
    with pytest.raises(migrate.DowngradeRefused, match=r"1 alert_decisions row\(s\)"):
        migrate.downgrade(pg_engine, "base")
    # Not losing anything (0006: sessions and sign-in failures only) goes through.
    migrate.downgrade(pg_engine, "0005")
    migrate.upgrade(pg_engine)

    url = pg_engine.url.render_as_string(hide_password=False)
    assert cli.main(["downgrade", "0002", "--url", url]) == cli.EXIT_INPUT
    assert "would drop" in capsys.readouterr().err
    assert cli.main(["downgrade", "0002", "--force", "--url", url]) == 0
    assert migrate.current_revision(pg_engine) == "0002"


def test_the_command_line_upgrade_grants_the_app_role_from_the_settings(
    pg_app_url: str, monkeypatch: pytest.MonkeyPatch, bare_engine: Engine, schema_url: str
) -> None:
    app_url = in_schema(pg_app_url, _schema(bare_engine))
    monkeypatch.setenv("KVT_DATABASE_OWNER_URL", schema_url)
    monkeypatch.setenv("KVT_DATABASE_URL", app_url)
    assert cli.main(["upgrade"]) == 0
    assert migrate.current_revision(bare_engine) == migrate.head_revision()
    app = sa.create_engine(app_url, poolclass=sa.pool.NullPool)
    try:
        with app.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 0
        assert "permission denied" in _refused(app, "DELETE FROM audit_log")
        # The app's own start-up finds the schema at head and needs no DDL.
        migrate.upgrade(app)
    finally:
        app.dispose()


def test_the_detector_and_the_loader_run_as_the_app_role(
    app_engine: Engine, tmp_path: Path
) -> None:
    """What each needs, granted: the detector's batches (alerts, states, offsets, outbox,
    dead letters) and a bulk load that replaces the dataset tables (TRUNCATE, LOCK, temp
    tables), all as ``kvt_app``."""
    generate(tmp_path / "ds", GenParams(scale=0.02, seed=11))
    settings = replace(Settings(), data_dir=tmp_path)
    source = ReplaySource(replay_messages(tmp_path / "ds"), settings, "replay:app-role")
    DetectorService(settings, source, session_factory(app_engine)).run(until_idle=True)
    with app_engine.connect() as conn:
        alerts = conn.execute(text("SELECT count(*) FROM fraud_alerts")).scalar_one()
        states = conn.execute(text("SELECT count(*) FROM detector_state")).scalar_one()
    assert alerts > 0 and states > 0
    first = load_dataset(app_engine, tmp_path / "ds")
    again = load_dataset(app_engine, tmp_path / "ds", replace=True)
    assert first.rows == again.rows > 0 and again.replaced
