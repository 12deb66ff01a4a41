"""API tokens: shown once, stored as a hash, revocable, expiring; the CLI that makes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db import tokens
from db.__main__ import main, parse_expiry
from db.engine import make_engine, session_factory
from db.models import ApiToken, AuditEvent
from db.types import utc_now
from tests.unit.db.builders import signed_in


def test_only_the_hash_is_stored_and_the_secret_finds_its_owner(session: Session) -> None:
    signed_in(lambda: session, "checkout", "analyst")
    new = tokens.create_token(session, "checkout", "admin", label="eu shop")
    session.commit()
    assert new.secret.startswith("kvt_") and len(new.secret) >= 40
    stored = session.execute(text("SELECT * FROM api_tokens")).mappings().one()
    assert new.secret not in {str(v) for v in stored.values()}
    assert stored["token_hash"] == tokens.digest(new.secret)
    assert stored["prefix"] == new.secret[:12]
    owner = tokens.find_owner(session, new.secret)
    assert owner is not None and (owner.username, owner.role) == ("checkout", "analyst")
    assert tokens.find_owner(session, new.secret[:-1] + "x") is None
    assert tokens.find_owner(session, "Bearer " + new.secret) is None
    assert tokens.find_owner(session, "kvt_" + "a" * 500) is None


def test_revoked_and_expired_tokens_find_nobody(session: Session) -> None:
    signed_in(lambda: session, "bot", "viewer")
    now = utc_now()
    soon = tokens.create_token(session, "bot", "admin", expires_at=now + timedelta(hours=1))
    other = tokens.create_token(session, "bot", "admin")
    assert tokens.find_owner(session, soon.secret, now=now + timedelta(minutes=59)) is not None
    assert tokens.find_owner(session, soon.secret, now=now + timedelta(hours=1)) is None
    tokens.revoke_token(session, other.id, "admin")
    assert tokens.find_owner(session, other.secret) is None
    row = session.get(ApiToken, other.id)
    assert row is not None and row.revoked_by == "admin"
    with pytest.raises(tokens.TokenError, match="already past"):
        tokens.create_token(session, "bot", "admin", expires_at=now - timedelta(seconds=1))
    with pytest.raises(tokens.TokenError, match="not found"):
        tokens.revoke_token(session, 999, "admin")


def test_last_use_is_recorded_at_most_once_a_minute(session: Session) -> None:
    signed_in(lambda: session, "bot", "viewer")
    new = tokens.create_token(session, "bot", "admin")
    t0 = utc_now()
    tokens.find_owner(session, new.secret, now=t0)
    tokens.find_owner(session, new.secret, now=t0 + timedelta(seconds=30))
    row = session.get(ApiToken, new.id)
    assert row is not None and row.last_used_at == t0
    tokens.find_owner(session, new.secret, now=t0 + timedelta(seconds=61))
    assert row.last_used_at == t0 + timedelta(seconds=61)


def test_expiry_parsing() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_expiry("30d", now) == now + timedelta(days=30)
    assert parse_expiry("2027-01-31", now) == datetime(2027, 1, 31, tzinfo=UTC)
    assert parse_expiry(None, now) is None
    for bad in ("0d", "tomorrow", "99999d"):
        with pytest.raises(tokens.TokenError, match="expires"):
            parse_expiry(bad, now)


def test_token_commands(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = make_engine(db_url)
    assert main(["upgrade", "--url", db_url]) == 0
    signed_in(session_factory(engine), "checkout", "analyst")
    capsys.readouterr()
    assert main(["create-token", "nobody", "--url", db_url]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["create-token", "checkout", "--expires", "soon", "--url", db_url]) == 2
    args = ["create-token", "checkout", "--expires", "30d", "--label", "eu", "--url", db_url]
    assert main(args) == 0
    out = capsys.readouterr()
    secret = out.out.strip()
    assert secret.startswith("kvt_") and "shown once" in out.err
    with Session(engine) as s:
        assert tokens.find_owner(s, secret) is not None
    assert main(["list-tokens", "--url", db_url]) == 0
    listing = capsys.readouterr().out
    assert secret[:12] in listing and secret not in listing and "active" in listing
    assert main(["revoke-token", "1", "--url", db_url]) == 0
    assert main(["revoke-token", "7", "--url", db_url]) == 2
    with Session(engine) as s:
        assert tokens.find_owner(s, secret) is None
        actions = s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["token.create", "token.revoke"]
    engine.dispose()
