"""Two clients deciding one alert at the same moment on PostgreSQL: one 200, one 409 naming
the winner, both attempts in the audit trail; the first scores on a fresh database, arriving
together, all answer (one seeds the default rule set); a token outlives no change of its account's
password, role or state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from api.app import create_app
from db import tokens
from db.models import AlertDecision, AuditEvent
from desk import ApiRuntime, auth
from desk.handle import DbHandle
from detector.common.settings import Settings
from tests.integration.db.race import at_once
from tests.unit.db.builders import batch, scored, signed_in, write

pytestmark = pytest.mark.integration


def test_two_clients_decide_one_alert_at_once(
    pg_engine: Engine, schema_url: str, tmp_path: Path
) -> None:
    ctx = ApiRuntime.create(Settings(data_dir=tmp_path, database_url=schema_url))
    secrets = {}
    pairs, states = scored(batch(20))
    with Session(ctx.engine) as s:
        write(s, pairs, states)
        s.commit()
    for name in ("alice", "bob"):
        signed_in(ctx.sessions, name, "analyst")
        with Session(ctx.engine) as s:
            secrets[name] = tokens.create_token(s, name, "test").secret
            s.commit()
    alert_id = next(f"ALT-{v.payment_id}" for v, _ in pairs if v.is_alert)
    clients = {n: TestClient(create_app(ctx)) for n in secrets}

    def decide(name: str, action: str) -> tuple[int, dict[str, object]]:
        r = clients[name].post(
            f"/api/alerts/{alert_id}/decision",
            json={"action": action, "note": f"{name} was here"},
            headers={"Authorization": f"Bearer {secrets[name]}", "If-Match": '"1"'},
        )
        return r.status_code, r.json()

    try:
        results = at_once(lambda: decide("alice", "block"), lambda: decide("bob", "approve"))
        codes = sorted(code for code, _ in results)
        assert codes == [200, 409], results
        winner = next(n for n, (c, _) in zip(("alice", "bob"), results, strict=True) if c == 200)
        lost = next(body for code, body in results if code == 409)
        assert lost["winner"] == winner
        with Session(ctx.engine) as s:
            outcomes = sorted(
                (e.actor, e.outcome)
                for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "alert.decide"))
            )
            actions = sorted(s.scalars(select(AlertDecision.action)))
        loser = "bob" if winner == "alice" else "alice"
        assert outcomes == sorted([(winner, "ok"), (loser, "conflict")])
        assert sorted(actions) == sorted(["CONFLICT", "BLOCK" if winner == "alice" else "APPROVE"])
    finally:
        ctx.close()


def test_first_scores_on_a_fresh_database_arriving_together_all_answer(
    schema_url: str, tmp_path: Path
) -> None:
    ctx = ApiRuntime.create(Settings(data_dir=tmp_path, database_url=schema_url))
    signed_in(ctx.sessions, "carol", "analyst")
    with Session(ctx.engine) as s:
        secret = tokens.create_token(s, "carol", "test").secret
        s.commit()
    client = TestClient(create_app(ctx))
    body = {"customer_id": "C1", "attempt_ts": "2025-11-25T03:30:00Z", "amount": 900.0,
            "result": "failed", "device": "mobile", "device_id": "D-new",
            "utm_source": "direct", "payment_country": "US", "customer_country": "FR"}  # fmt: skip

    def score(n: int) -> tuple[int, str]:
        r = client.post("/api/score", json={**body, "payment_id": f"PAY-FRESH-{n}"},
                        headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
        return r.status_code, r.text

    try:
        results = at_once(*(lambda n=n: score(n) for n in range(8)))
        assert [code for code, _ in results] == [200] * 8, results
        with Session(ctx.engine) as s:
            assert s.scalars(text("SELECT version FROM rulesets")).all() == [1]
    finally:
        ctx.close()


@pytest.mark.parametrize(
    "change",
    [
        lambda s, root: auth.reset_password(DbHandle(s), root, "bot", "a brand new password"),
        lambda s, root: auth.change_role(DbHandle(s), root, "bot", "viewer"),
        lambda s, root: auth.set_active(DbHandle(s), root, "bot", False),
    ],
    ids=["password", "role", "disable"],
)
def test_a_token_used_after_its_accounts_password_or_role_changed_gets_401(
    pg_engine: Engine, schema_url: str, tmp_path: Path, change: Callable[..., None]
) -> None:
    ctx = ApiRuntime.create(Settings(data_dir=tmp_path, database_url=schema_url))
    try:
        root = signed_in(ctx.sessions, "root", "admin")
        signed_in(ctx.sessions, "bot", "analyst")
        with Session(ctx.engine) as s:
            secret = tokens.create_token(s, "bot", "root").secret
            s.commit()
        client = TestClient(create_app(ctx))
        bearer = {"Authorization": f"Bearer {secret}"}
        assert client.get("/api/me", headers=bearer).status_code == 200
        change(ctx.sessions, root)
        refused = client.get("/api/me", headers=bearer)
        assert refused.status_code == 401, refused.text
        with Session(ctx.engine) as s:
            revoked = s.scalars(
                select(AuditEvent.detail).where(AuditEvent.action.like("user.%"))
            ).one()
            why = s.scalars(
                select(AuditEvent.detail).where(AuditEvent.action == "auth.token")
            ).all()
        assert revoked["tokens_revoked"] == [1]
        assert [w["why"] for w in why] == ["invalid"]
    finally:
        ctx.close()


def test_calls_after_the_database_dropped_the_pools_connections_still_succeed(
    pg_engine: Engine, schema_url: str, tmp_path: Path
) -> None:
    """The lookups pool tests no connection on checkout (no pre-ping round trip): the token
    check meets the dead connection, tries once more on a new one, and the pool renews."""
    ctx = ApiRuntime.create(Settings(data_dir=tmp_path, database_url=schema_url))
    pairs, states = scored(batch(20))
    with Session(ctx.engine) as s:
        write(s, pairs, states)
        s.commit()
    signed_in(ctx.sessions, "alice", "analyst")
    with Session(ctx.engine) as s:
        secret = tokens.create_token(s, "alice", "test").secret
        s.commit()
    client = TestClient(create_app(ctx))
    h = {"Authorization": f"Bearer {secret}"}
    assert ctx.lookups_engine is not None
    try:
        assert client.get("/api/alerts", headers=h).status_code == 200
        pool = ctx.lookups_engine.pool
        idle = [pool.connect() for _ in range(max(1, pool.checkedin()))]  # type: ignore[attr-defined]
        pids = [c.dbapi_connection.get_backend_pid() for c in idle]
        for c in idle:
            c.close()  # back to the pool, where the server is about to close them
        with pg_engine.connect() as admin:
            for pid in pids:
                admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(3):
            r = client.get("/api/alerts", headers=h)
            assert r.status_code == 200, r.text
        score = client.post(
            "/api/score",
            json={"payment_id": "P-AFTER", "customer_id": "C1", "attempt_ts": "2025-01-01T00:00Z",
                  "amount": 10.0},
            headers=h,
        )  # fmt: skip
        assert score.status_code == 200, score.text
    finally:
        ctx.close()
