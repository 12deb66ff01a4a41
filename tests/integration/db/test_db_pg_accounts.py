"""Accounts and the audit trail on PostgreSQL: two analysts deciding the same alert at the
same moment through the service layer, the database refusing to rewrite the trail, and
signing in against the real server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from db import audit as trail
from db.alerts import decide
from db.detector_store import alert_id_for
from db.engine import session_factory
from db.models import Alert, AuditEvent
from desk import auth
from desk import queue as q
from desk.auth import Principal
from desk.handle import DbHandle
from tests.integration.db.race import at_once
from tests.unit.db.builders import PASSWORD, batch, scored, session_of, signed_in, write

pytestmark = pytest.mark.integration


def _race(
    sessions: Callable[[], Session], alert_id: str, *people: tuple[Principal, str]
) -> dict[str, q.ActionResult]:
    """Each person decides on version 1 of ``alert_id``, all released at the same moment."""

    def decide_as(who: Principal, action: str) -> Callable[[], q.ActionResult]:
        return lambda: q.decide_many(DbHandle(sessions), [(alert_id, 1)], action, who)  # type: ignore[arg-type]

    results = at_once(*(decide_as(who, action) for who, action in people))
    return {who.username: r for (who, _), r in zip(people, results, strict=True)}


def test_two_analysts_at_the_same_moment_one_wins_both_are_audited(pg_engine: Engine) -> None:
    sessions = session_factory(pg_engine)
    pairs, _ = scored(batch(30))
    with session_of(pg_engine) as s:
        write(s, pairs)
        s.commit()
    alert_ids = [alert_id_for(v.payment_id) for v, _ in pairs if v.is_alert][:5]
    assert len(alert_ids) == 5
    ana = signed_in(sessions, "ana", "analyst")
    bob = signed_in(sessions, "bob", "analyst")
    for alert_id in alert_ids:  # several rounds: it must come out right every time
        results = _race(sessions, alert_id, (ana, "BLOCK"), (bob, "APPROVE"))
        winners = [n for n, r in results.items() if r.updated == (alert_id,)]
        losers = [n for n, r in results.items() if [c.alert_id for c in r.conflicts] == [alert_id]]
        assert len(winners) == 1 and len(losers) == 1, results
        (winner,), (loser,) = winners, losers
        # The loser is told who decided meanwhile.
        assert results[loser].conflicts[0].actor == winner
        with session_of(pg_engine) as s:
            alert = s.get(Alert, alert_id)
            events = s.scalars(
                select(AuditEvent).where(AuditEvent.target == alert_id).order_by(AuditEvent.id)
            ).all()
        assert alert is not None and alert.decided_by == winner and alert.row_version == 2
        assert sorted((e.actor, e.outcome) for e in events) == sorted(
            [(winner, "ok"), (loser, "conflict")]
        )


def test_the_database_refuses_to_rewrite_the_trail(pg_engine: Engine) -> None:
    pairs, _ = scored(batch(10))
    with session_of(pg_engine) as s:
        write(s, pairs)
        alert_id = s.scalars(select(Alert.alert_id)).first()
        assert alert_id is not None
        decide(s, alert_id, "BLOCK", "ana", None, 1, "analyst")
        s.commit()
    for table in ("audit_log", "alert_decisions"):
        for sql in (f"UPDATE {table} SET actor = 'mallory'", f"DELETE FROM {table}",
                    f"TRUNCATE {table} CASCADE"):  # fmt: skip
            with pg_engine.begin() as conn, pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text(sql))
    with session_of(pg_engine) as s:
        rows = [(e.actor, e.action) for e in trail.list_events(s)]
    assert rows == [("ana", "alert.decide")]


def test_sign_in_and_refusals_on_postgresql(pg_engine: Engine) -> None:
    sessions = session_factory(pg_engine)
    signed_in(sessions, "root", "admin")
    idle, max_age = timedelta(minutes=30), timedelta(hours=12)
    root = auth.sign_in(DbHandle(sessions), "root", PASSWORD, idle, max_age).principal
    assert root is not None and root.role == "admin"
    auth.create_user(DbHandle(sessions), root, "Vera", "viewer", "viewer's long password")
    vera = auth.sign_in(
        DbHandle(sessions), "vera", "viewer's long password", idle, max_age
    ).principal
    assert vera is not None
    with pytest.raises(auth.Forbidden):
        q.decide_many(DbHandle(sessions), [], "BLOCK", vera)
    with pytest.raises(auth.Forbidden):
        auth.create_user(DbHandle(sessions), vera, "mallory", "admin", "mallory's long password")
    with session_of(pg_engine) as s:
        outcomes = [(e.actor, e.action, e.outcome) for e in trail.list_events(s)][::-1]
    assert outcomes == [
        ("root", "auth.sign_in", "ok"),
        ("root", "user.create", "ok"),
        ("vera", "auth.sign_in", "ok"),
        ("vera", "decide", "denied"),
        ("vera", "manage_users", "denied"),
    ]
