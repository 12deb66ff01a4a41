"""Sessions on PostgreSQL (issue 15, finding 6): each refresh re-checks the account, so
disabling, a role change or a password change (also ``python -m db set-password``) ends the
user's open sessions; a lockout answers the same for names that do not exist; the cookie's
session survives a reload and ends at sign-out."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from db import __main__ as cli
from db.engine import session_factory
from db.models import DeskSession, SignInFailure
from db.types import utc_now
from desk import auth
from desk.handle import DbHandle
from tests.unit.db.builders import PASSWORD, signed_in

pytestmark = pytest.mark.integration

IDLE, MAX_AGE = timedelta(minutes=30), timedelta(hours=12)
Sessions = Callable[[], Session]


def _sign_in(sessions: Sessions, name: str, password: str = PASSWORD) -> auth.SignInOutcome:
    return auth.sign_in(DbHandle(sessions), name, password, IDLE, MAX_AGE, binding="browser-1")


def _open(sessions: Sessions, name: str, role: str) -> auth.Principal:
    signed_in(sessions, name, role)  # the account
    outcome = _sign_in(sessions, name)
    assert outcome.principal is not None, outcome.message
    assert auth.refresh(DbHandle(sessions), outcome.principal) is not None
    return outcome.principal


def _ended(sessions: Sessions, who: auth.Principal) -> str:
    with pytest.raises(auth.SessionEnded) as exc:
        auth.refresh(DbHandle(sessions), who, touch=False)
    return exc.value.why


@pytest.fixture
def sessions(pg_engine: Engine) -> Sessions:
    return session_factory(pg_engine)


def test_disabling_an_account_ends_its_open_sessions_at_the_next_refresh(
    sessions: Sessions,
) -> None:
    root = signed_in(sessions, "root", "admin")
    ana = _open(sessions, "ana", "analyst")
    auth.set_active(DbHandle(sessions), root, "ana", False)
    assert _ended(sessions, ana) == "account disabled"
    # Enabled again, the old session stays ended: a new sign-in is needed.
    auth.set_active(DbHandle(sessions), root, "ana", True)
    assert _ended(sessions, ana) == "account disabled"
    assert _sign_in(sessions, "ana").principal is not None


def test_a_role_change_ends_the_sessions(sessions: Sessions) -> None:
    root = signed_in(sessions, "root", "admin")
    ana = _open(sessions, "ana", "analyst")
    auth.change_role(DbHandle(sessions), root, "ana", "viewer")
    assert _ended(sessions, ana) == "role changed"


def test_a_password_reset_by_an_admin_ends_the_sessions(sessions: Sessions) -> None:
    root = signed_in(sessions, "root", "admin")
    ana = _open(sessions, "ana", "analyst")
    auth.reset_password(DbHandle(sessions), root, "ana", "a brand new password")
    assert _ended(sessions, ana) == "password changed"


def test_set_password_on_the_command_line_ends_the_sessions(
    pg_engine: Engine, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana = _open(sessions, "ana", "analyst")
    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new password\n"))
    url = pg_engine.url.render_as_string(hide_password=False)
    assert cli.main(["set-password", "ana", "--password-stdin", "--url", url]) == 0
    assert _ended(sessions, ana) == "password changed"
    assert _sign_in(sessions, "ana").principal is None  # the old password is gone
    assert _sign_in(sessions, "ana", "a brand new password").principal is not None


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(
    sessions: Sessions,
) -> None:
    here = _open(sessions, "ana", "analyst")
    elsewhere = _sign_in(sessions, "ana").principal
    assert elsewhere is not None
    auth.change_own_password(DbHandle(sessions), here, PASSWORD, "a brand new password")
    assert auth.refresh(DbHandle(sessions), here).username == "ana"
    assert _ended(sessions, elsewhere) == "password changed"


def test_sign_out_revokes_the_session_and_its_cookie(sessions: Sessions) -> None:
    signed_in(sessions, "ana", "analyst")
    outcome = _sign_in(sessions, "ana")
    assert outcome.principal is not None
    token = auth.exchange(DbHandle(sessions), outcome.handoff, "browser-1")
    assert token is not None
    # A reload: the cookie's token gives the session back, without a password.
    resumed = auth.resume(DbHandle(sessions), token, IDLE, MAX_AGE)
    assert resumed is not None and resumed.session_id == outcome.principal.session_id
    auth.sign_out(DbHandle(sessions), resumed)
    assert auth.resume(DbHandle(sessions), token, IDLE, MAX_AGE) is None
    assert _ended(sessions, outcome.principal) == "signed out"


def test_a_handoff_works_once_for_the_browser_that_signed_in(sessions: Sessions) -> None:
    signed_in(sessions, "ana", "analyst")
    outcome = _sign_in(sessions, "ana")
    assert auth.exchange(DbHandle(sessions), outcome.handoff, "another browser") is None
    # A wrong attempt burns nothing for the right browser... but a used handoff is gone.
    assert auth.exchange(DbHandle(sessions), outcome.handoff, "browser-1") is not None
    assert auth.exchange(DbHandle(sessions), outcome.handoff, "browser-1") is None
    late = _sign_in(sessions, "ana")
    with sessions() as s:
        row = s.scalar(select(DeskSession).where(DeskSession.id == late.principal.session_id))  # type: ignore[union-attr]
        assert row is not None
        row.handoff_until = utc_now() - timedelta(seconds=1)
        s.commit()
    assert auth.exchange(DbHandle(sessions), late.handoff, "browser-1") is None


def test_an_idle_cookie_session_does_not_resume(sessions: Sessions) -> None:
    signed_in(sessions, "ana", "analyst")
    outcome = _sign_in(sessions, "ana")
    token = auth.exchange(DbHandle(sessions), outcome.handoff, "browser-1")
    assert token is not None
    with sessions() as s:
        row = s.get(DeskSession, outcome.principal.session_id)  # type: ignore[union-attr]
        assert row is not None
        row.last_seen_at = utc_now() - IDLE - timedelta(seconds=1)
        s.commit()
    assert auth.resume(DbHandle(sessions), token, IDLE, MAX_AGE) is None


def test_cookies_are_signed() -> None:
    secret = b"k" * 32
    value = auth.cookie_value(secret, "token")
    assert auth.cookie_token(secret, value) == "token"
    assert auth.cookie_token(b"x" * 32, value) is None
    assert auth.cookie_token(secret, "other." + value.rpartition(".")[2]) is None
    assert auth.cookie_token(secret, "token") is None


def test_lockout_answers_the_same_for_a_name_that_does_not_exist(sessions: Sessions) -> None:
    signed_in(sessions, "ana", "analyst")
    real = [_sign_in(sessions, "ana", "wrong password!").message for _ in range(6)]
    ghost = [_sign_in(sessions, "nobody-here", "wrong password!").message for _ in range(6)]
    assert real[:4] == ghost[:4] == ["unknown user name or wrong password"] * 4
    assert real[4].startswith("too many failed attempts") and ghost[4].startswith(
        "too many failed attempts"
    )
    # Same lock (the time it names may differ by the minute the two runs straddle).
    assert [m.split(" after ")[0] for m in real[4:]] == [m.split(" after ")[0] for m in ghost[4:]]
    with sessions() as s:
        assert s.get(SignInFailure, "nobody-here") is not None


def test_sessions_older_than_any_limit_are_deleted_at_the_next_sign_in(sessions: Sessions) -> None:
    old = _open(sessions, "ana", "analyst")
    with sessions() as s:
        row = s.get(DeskSession, old.session_id)
        assert row is not None
        row.created_at = utc_now() - timedelta(days=32)
        s.commit()
    fresh = _sign_in(sessions, "ana").principal
    assert fresh is not None
    with sessions() as s:
        assert s.get(DeskSession, old.session_id) is None
        assert s.get(DeskSession, fresh.session_id) is not None
