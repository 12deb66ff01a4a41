"""Accounts: names, roles, password policy and hashing, sign-in with throttling, last admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from db import accounts, tokens
from db import audit as trail
from db.__main__ import main
from db.alerts import decide
from db.models import Alert, AlertDecision, AuditEvent, User
from db.types import utc_now
from tests.unit.db.builders import batch, scored, write

PW = "twelve chars or more"


def test_names_are_normalised_and_checked() -> None:
    assert accounts.normalize_username("  Alice.B ") == "alice.b"
    for bad in ("", "a", "-x", "x y", "é", "a" * 65, "a;drop"):
        with pytest.raises(accounts.AccountError, match="user name"):
            accounts.normalize_username(bad)


def test_password_policy() -> None:
    accounts.check_password(PW, "alice")
    with pytest.raises(accounts.AccountError, match="at least 12"):
        accounts.check_password("short", "alice")
    with pytest.raises(accounts.AccountError, match="at most"):
        accounts.check_password("x" * 257, "alice")
    with pytest.raises(accounts.AccountError, match="user name"):
        accounts.check_password("my name is alice!", "alice")


def test_only_an_argon2id_hash_is_stored(session: Session) -> None:
    accounts.create_user(session, "alice", "admin", PW)
    session.commit()
    stored = session.scalar(select(User.password_hash))
    assert stored is not None and stored.startswith("$argon2id$") and PW not in stored
    with pytest.raises(accounts.UserExists):
        accounts.create_user(session, "ALICE", "viewer", PW)
    with pytest.raises(accounts.AccountError, match="role"):
        accounts.create_user(session, "bob", "superuser", PW)


def test_sign_in_outcomes_and_lockout(session: Session) -> None:
    accounts.create_user(session, "alice", "analyst", PW)
    now = utc_now()
    assert accounts.sign_in(session, "Alice", PW, now).outcome is accounts.SignIn.OK
    assert accounts.sign_in(session, "nobody", PW, now).outcome is accounts.SignIn.WRONG
    for _ in range(accounts.MAX_FAILED - 1):
        assert accounts.sign_in(session, "alice", "wrong", now).outcome is accounts.SignIn.WRONG
    locked = accounts.sign_in(session, "alice", "wrong", now)
    assert locked.outcome is accounts.SignIn.LOCKED
    assert locked.locked_until == now + accounts.LOCK_FOR
    # Even the right password waits out the lock, then works.
    assert accounts.sign_in(session, "alice", PW, now).outcome is accounts.SignIn.LOCKED
    later = now + accounts.LOCK_FOR + timedelta(seconds=1)
    assert accounts.sign_in(session, "alice", PW, later).outcome is accounts.SignIn.OK
    user = accounts.require_user(session, "alice")
    assert (user.failed_logins, user.locked_until, user.last_login_at) == (0, None, later)


def test_a_disabled_account_cannot_sign_in(session: Session) -> None:
    accounts.create_user(session, "root", "admin", PW)
    accounts.create_user(session, "bob", "analyst", PW)
    accounts.set_active(session, "bob", False)
    assert accounts.sign_in(session, "bob", PW).outcome is accounts.SignIn.DISABLED
    # A wrong password says nothing about the account's state.
    assert accounts.sign_in(session, "bob", "wrong").outcome is accounts.SignIn.WRONG


def test_the_last_active_admin_stays(session: Session) -> None:
    accounts.create_user(session, "root", "admin", PW)
    with pytest.raises(accounts.AccountError, match="last active admin"):
        accounts.set_role(session, "root", "analyst")
    with pytest.raises(accounts.AccountError, match="last active admin"):
        accounts.set_active(session, "root", False)
    accounts.create_user(session, "second", "admin", PW)
    accounts.set_role(session, "root", "analyst")
    assert accounts.active_admins(session) == 1


def test_set_password_replaces_the_hash(session: Session) -> None:
    user = accounts.create_user(session, "alice", "viewer", PW)
    old = user.password_hash
    accounts.set_password(session, "alice", "another long password")
    assert user.password_hash != old
    assert accounts.sign_in(session, "alice", PW).outcome is accounts.SignIn.WRONG
    assert accounts.sign_in(session, "alice", "another long password").outcome is (
        accounts.SignIn.OK
    )


def test_the_audit_trail_refuses_update_and_delete(engine: Engine) -> None:
    pairs, states = scored(batch(10))
    with Session(engine) as s:
        write(s, pairs, states)
        alert_id = s.scalars(select(Alert.alert_id)).first()
        assert alert_id is not None
        decide(s, alert_id, "BLOCK", "alice", None, 1)
        trail.record(s, trail.Entry("alice", trail.SIGN_IN))
        s.commit()
    for table in ("audit_log", "alert_decisions"):
        for sql in (f"UPDATE {table} SET actor = 'mallory'", f"DELETE FROM {table}"):
            with engine.begin() as conn, pytest.raises(DatabaseError, match="append-only"):
                conn.execute(text(sql))
    with Session(engine) as s:
        assert set(s.scalars(select(AuditEvent.actor))) == {"alice"}
        assert set(s.scalars(select(AlertDecision.actor))) == {"alice"}


def test_create_user_command(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import io

    assert main(["list-users", "--url", db_url]) == 3  # none yet: scripts/app asks for one
    monkeypatch.setattr("sys.stdin", io.StringIO(PW + "\n"))
    args = ["create-user", "Root", "--role", "admin", "--password-stdin", "--url", db_url]
    assert main(args) == 0
    assert "created root (admin)" in capsys.readouterr().out
    assert main(["list-users", "--url", db_url]) == 0
    assert capsys.readouterr().out.split() == ["root", "admin", "active"]
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main([*args[:2], "--role", "viewer", "--password-stdin", "--url", db_url]) == 2
    assert "at least 12" in capsys.readouterr().err
    # Without a terminal and without --password-stdin nothing is created.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["create-user", "x2", "--role", "admin", "--url", db_url]) == 2
    from db.engine import make_engine

    engine = make_engine(db_url)
    with Session(engine) as s:
        token = tokens.create_token(s, "root", "test")
        s.commit()
    monkeypatch.setattr("sys.stdin", io.StringIO("a new long password\n"))
    assert main(["set-password", "root", "--password-stdin", "--url", db_url]) == 0
    with Session(engine) as s:
        assert [u.username for u in accounts.list_users(s)] == ["root"]
        assert accounts.sign_in(s, "root", "a new long password").outcome is accounts.SignIn.OK
        assert tokens.find_owner(s, token.secret) is None  # the password change revoked it
        events = [(e.actor.startswith("cli:"), e.action, e.target) for e in trail.list_events(s)]
        detail = trail.list_events(s)[0].detail
    engine.dispose()
    assert events == [(True, "user.password", "root"), (True, "user.create", "root")]
    assert detail == {"tokens_revoked": [token.id]}
