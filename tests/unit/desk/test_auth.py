"""Roles are enforced by the service functions the pages call: each one refuses the wrong
role, a signed-out or expired caller, and a disabled account, and the refusal is audited."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from db import audit as trail
from db import tokens as db_tokens
from db.engine import session_factory
from db.models import Alert, ApiToken, AuditEvent
from db.rulesets import active_ruleset
from desk import alert_feed, audit, auth, tokens, tuning
from desk import queue as q
from desk import rulesets as desk_rulesets
from desk.auth import Permission, Principal
from desk.handle import DbHandle
from detector.common import i18n
from tests.unit.db.builders import PASSWORD, batch, scored, signed_in, write

Call = Callable[[sessionmaker[Session], Principal | None], object]


def _a_token(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        new = db_tokens.create_token(s, "target", "test")
        s.commit()
        return new.id


# Every guarded write of the service layer, and the permission it needs.
WRITES: dict[str, tuple[Permission, Call]] = {
    "decide": (
        Permission.DECIDE,
        lambda s, who: q.decide_many(DbHandle(s), [("ALT-x", 1)], "BLOCK", who),
    ),
    "decide_open_of": (
        Permission.DECIDE,
        lambda s, who: q.decide_open_of(DbHandle(s), "BLOCK", who, customer_id="C1"),
    ),
    "publish": (
        Permission.PUBLISH_RULES,
        lambda s, who: tuning.publish(
            DbHandle(s), active_ruleset(s())[1].with_points({}), who, "n"
        ),
    ),
    "rollback": (Permission.PUBLISH_RULES, lambda s, who: tuning.rollback(DbHandle(s), 1, who)),
    "create_user": (
        Permission.MANAGE_USERS,
        lambda s, who: auth.create_user(DbHandle(s), who, "newbie", "viewer", PASSWORD),
    ),
    "change_role": (
        Permission.MANAGE_USERS,
        lambda s, who: auth.change_role(DbHandle(s), who, "target", "admin"),
    ),
    "set_active": (
        Permission.MANAGE_USERS,
        lambda s, who: auth.set_active(DbHandle(s), who, "target", False),
    ),
    "reset_password": (
        Permission.MANAGE_USERS,
        lambda s, who: auth.reset_password(DbHandle(s), who, "target", "a brand new password"),
    ),
    "list_users": (Permission.MANAGE_USERS, lambda s, who: auth.list_users(DbHandle(s), who)),
    "create_token": (
        Permission.MANAGE_USERS,
        lambda s, who: tokens.create_token(DbHandle(s), who, "target", "ci"),
    ),
    "revoke_token": (
        Permission.MANAGE_USERS,
        lambda s, who: tokens.revoke_token(DbHandle(s), who, _a_token(s)),
    ),
    "list_tokens": (Permission.MANAGE_USERS, lambda s, who: tokens.list_tokens(DbHandle(s), who)),
    "alert_list": (
        Permission.READ_QUEUE,
        lambda s, who: alert_feed.alert_list(DbHandle(s), who, alert_feed.AlertFilters()),
    ),
    "read_alert": (
        Permission.READ_QUEUE,
        lambda s, who: alert_feed.read_alert(DbHandle(s), who, "A"),
    ),
    "decide_one": (
        Permission.DECIDE,
        lambda s, who: alert_feed.decide_one(DbHandle(s), who, "ALT-x", "BLOCK", 1),
    ),
    "queue_stats": (Permission.READ_QUEUE, lambda s, who: alert_feed.stats(DbHandle(s), who)),
    "publish_json": (
        Permission.PUBLISH_RULES,
        lambda s, who: desk_rulesets.publish_json(DbHandle(s), who, {"alert_threshold": 70}),
    ),
    "audit_page": (
        Permission.READ_AUDIT,
        lambda s, who: audit.audit_page(DbHandle(s), who, trail.AuditFilters()),
    ),
}
ROLES = ("viewer", "analyst", "rule_owner", "admin")


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    s = session_factory(engine)
    signed_in(s, "target", "viewer")
    with s() as session:
        active_ruleset(session)  # version 1
        session.commit()
    return s


def _denials(sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with sessions() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
        return [(e.actor, e.action, e.outcome) for e in rows]


@pytest.mark.parametrize("name", sorted(WRITES))
@pytest.mark.parametrize("role", ROLES)
def test_each_service_refuses_the_roles_without_the_permission(
    sessions: sessionmaker[Session], name: str, role: str
) -> None:
    permission, call = WRITES[name]
    who = signed_in(sessions, f"u-{role}", role)
    if permission in auth.ROLE_PERMISSIONS[role]:
        call(sessions, who)  # allowed: no refusal (the call itself may find nothing to do)
        assert _denials(sessions) == []
    else:
        with pytest.raises(auth.Forbidden, match=f"may not {permission.value}"):
            call(sessions, who)
        assert _denials(sessions) == [(f"u-{role}", permission.name.lower(), "denied")]


def test_the_role_table() -> None:
    may = {r: {p.name for p in ps} for r, ps in auth.ROLE_PERMISSIONS.items()}
    assert may["viewer"] == {"READ_INSIGHTS"}
    assert "DECIDE" in may["analyst"] and "PUBLISH_RULES" not in may["analyst"]
    assert {"PUBLISH_RULES", "MANAGE_DATA"} <= may["rule_owner"]
    assert "DECIDE" not in may["rule_owner"] and "MANAGE_USERS" not in may["rule_owner"]
    assert may["admin"] == {p.name for p in Permission}


@pytest.mark.parametrize("name", sorted(WRITES))
def test_signed_out_and_expired_callers_are_refused(
    sessions: sessionmaker[Session], name: str
) -> None:
    _, call = WRITES[name]
    with pytest.raises(auth.NotSignedIn):
        call(sessions, None)
    admin = signed_in(sessions, "root", "admin")
    idle = replace(admin, last_seen=admin.last_seen - admin.idle - timedelta(seconds=1))
    with pytest.raises(auth.SessionExpired):
        call(sessions, idle)
    old = replace(admin, signed_in_at=admin.signed_in_at - admin.max_age - timedelta(seconds=1))
    with pytest.raises(auth.SessionExpired):
        call(sessions, old)


def test_role_changes_and_disabling_apply_at_the_next_action(
    sessions: sessionmaker[Session],
) -> None:
    root = signed_in(sessions, "root", "admin")
    ana = signed_in(sessions, "ana", "analyst")
    auth.change_role(DbHandle(sessions), root, "ana", "viewer")
    with pytest.raises(auth.Forbidden, match="'ana' \\(viewer\\) may not decide"):
        q.decide_many(DbHandle(sessions), [], "BLOCK", ana)
    auth.change_role(DbHandle(sessions), root, "ana", "analyst")
    assert q.decide_many(DbHandle(sessions), [], "BLOCK", ana).ok
    auth.set_active(DbHandle(sessions), root, "ana", False)
    with pytest.raises(auth.Forbidden, match="disabled"):
        q.decide_many(DbHandle(sessions), [], "BLOCK", ana)


def test_a_role_read_in_this_call_is_trusted_for_a_second_and_no_longer(
    sessions: sessionmaker[Session],
) -> None:
    root = signed_in(sessions, "root", "admin")
    ana = signed_in(sessions, "ana", "analyst")
    auth.set_active(DbHandle(sessions), root, "ana", False)
    # An API token's check read role and flag a moment ago: authorize does not read again.
    fresh = replace(ana, verified_at=time.monotonic())
    assert auth.authorize(DbHandle(sessions), fresh, Permission.DECIDE) is fresh
    # A reading older than FRESH_S, or none (a page's principal), is checked again.
    stale = replace(ana, verified_at=time.monotonic() - auth.FRESH_S - 0.1)
    for who in (stale, ana):
        with pytest.raises(auth.Forbidden, match="disabled"):
            auth.authorize(DbHandle(sessions), who, Permission.DECIDE)
    # A fresh role without the permission goes to the database, which refuses and audits.
    viewer = replace(ana, role="viewer", verified_at=time.monotonic())
    with pytest.raises(auth.Forbidden):
        auth.authorize(DbHandle(sessions), viewer, Permission.DECIDE)


def test_decisions_and_publications_are_audited_under_the_account(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    pairs, states = scored(batch(20))
    with Session(engine) as s:
        write(s, pairs, states)
        s.commit()
        alert_id = s.scalars(select(Alert.alert_id).order_by(Alert.alert_id)).first()
    assert alert_id is not None
    ana = signed_in(sessions, "ana", "analyst")
    bob = signed_in(sessions, "bob", "analyst")
    carol = signed_in(sessions, "carol", "rule_owner")
    assert q.decide_many(DbHandle(sessions), [(alert_id, 1)], "BLOCK", ana, "ring").ok
    lost = q.decide_many(DbHandle(sessions), [(alert_id, 1)], "APPROVE", bob, "fine")
    assert [c.alert_id for c in lost.conflicts] == [alert_id]
    v2 = tuning.publish(
        DbHandle(sessions),
        active_ruleset(sessions())[1].with_points({}),
        carol,
        "n",
    )
    v3 = tuning.rollback(DbHandle(sessions), 1, carol)
    with sessions() as s:
        rows = [
            (e.actor, e.role, e.action, e.outcome, e.target)
            for e in trail.list_events(s, trail.AuditFilters())
        ][::-1]
        alert = s.get(Alert, alert_id)
        assert alert is not None and alert.decided_by == "ana"
    assert rows == [
        ("ana", "analyst", "alert.decide", "ok", alert_id),
        ("bob", "analyst", "alert.decide", "conflict", alert_id),
        ("carol", "rule_owner", "ruleset.publish", "ok", f"v{v2}"),
        ("carol", "rule_owner", "ruleset.rollback", "ok", f"v{v3}"),
    ]


def test_sign_in_service_messages_do_not_reveal_names(sessions: sessionmaker[Session]) -> None:
    signed_in(sessions, "ana", "analyst")
    idle, max_age = timedelta(minutes=30), timedelta(hours=12)
    ok = auth.sign_in(DbHandle(sessions), " ANA ", PASSWORD, idle, max_age)
    assert ok.principal is not None and (ok.principal.username, ok.principal.role) == (
        "ana",
        "analyst",
    )
    wrong = auth.sign_in(DbHandle(sessions), "ana", "nope", idle, max_age)
    unknown = auth.sign_in(DbHandle(sessions), "nobody", "nope", idle, max_age)
    injected = auth.sign_in(DbHandle(sessions), "' OR 1=1 --", "x", idle, max_age)
    assert wrong.principal is unknown.principal is injected.principal is None
    assert wrong.message == unknown.message == injected.message
    with sessions() as s:
        outcomes = [(e.actor, e.outcome) for e in trail.list_events(s, trail.AuditFilters(
            action=trail.SIGN_IN))][::-1]  # fmt: skip
    assert outcomes == [("ana", "ok"), ("ana", "failed"), ("nobody", "failed"),
                        ("' or 1=1 --", "failed")]  # fmt: skip


def test_audit_page_filters_and_pages_newest_first(sessions: sessionmaker[Session]) -> None:
    root = signed_in(sessions, "root", "admin")
    with sessions() as s:
        for i in range(25):
            trail.record(s, trail.Entry("ana" if i % 2 else "bob", trail.SIGN_IN, target=str(i)))
        s.commit()
    first = audit.audit_page(DbHandle(sessions), root, trail.AuditFilters(actor="ana"), limit=5)
    assert first.total == 12 and [e.target for e in first.rows] == ["23", "21", "19", "17", "15"]
    seen = [e.target for e in first.rows]
    page = first
    while page.next_before is not None:
        page = audit.audit_page(
            DbHandle(sessions), root, trail.AuditFilters(actor="ana"), 5, before_id=page.next_before
        )
        seen += [e.target for e in page.rows]
    assert seen == [str(i) for i in range(23, 0, -2)]
    assert audit.audit_actors(DbHandle(sessions), root) == ["ana", "bob"]


def test_own_password_change_needs_the_current_one(sessions: sessionmaker[Session]) -> None:
    ana = signed_in(sessions, "ana", "viewer")
    with pytest.raises(auth.accounts.AccountError, match="current password"):
        auth.change_own_password(DbHandle(sessions), ana, "wrong", "a new long password")
    auth.change_own_password(DbHandle(sessions), ana, PASSWORD, "a new long password")
    idle, max_age = timedelta(minutes=30), timedelta(hours=12)
    assert auth.sign_in(DbHandle(sessions), "ana", "a new long password", idle, max_age).principal


@pytest.mark.parametrize(
    ("change", "action"),
    [
        (lambda s, root: auth.change_role(DbHandle(s), root, "ana", "viewer"), "user.role"),
        (lambda s, root: auth.set_active(DbHandle(s), root, "ana", False), "user.active"),
        (
            lambda s, root: auth.reset_password(DbHandle(s), root, "ana", "a brand new password"),
            "user.password",
        ),
    ],
    ids=["role", "disable", "password"],
)
def test_a_change_of_trust_revokes_the_accounts_api_tokens(
    sessions: sessionmaker[Session], change: Callable[..., None], action: str
) -> None:
    root = signed_in(sessions, "root", "admin")
    signed_in(sessions, "ana", "analyst")
    with sessions() as s:
        mine = [db_tokens.create_token(s, "ana", "root") for _ in range(2)]
        other = db_tokens.create_token(s, "target", "root")
        db_tokens.revoke_token(s, mine[1].id, "root")  # already revoked: not revoked twice
        s.commit()
    change(sessions, root)
    with pytest.raises(tokens.BadToken):
        tokens.authenticate(DbHandle(sessions), mine[0].secret)
    assert tokens.authenticate(DbHandle(sessions), other.secret).username == "target"
    with sessions() as s:
        entry = s.scalars(select(AuditEvent).where(AuditEvent.action == action)).one()
        revoked_by = s.scalars(select(ApiToken.revoked_by).where(ApiToken.id == mine[0].id)).one()
    assert (entry.actor, entry.target) == ("root", "ana")
    assert entry.detail["tokens_revoked"] == [mine[0].id] and revoked_by == "root"


def test_the_same_role_again_or_enabling_keeps_the_tokens(sessions: sessionmaker[Session]) -> None:
    root = signed_in(sessions, "root", "admin")
    signed_in(sessions, "ana", "analyst")
    with sessions() as s:
        new = db_tokens.create_token(s, "ana", "root")
        s.commit()
    auth.change_role(DbHandle(sessions), root, "ana", "analyst")
    auth.set_active(DbHandle(sessions), root, "ana", True)
    assert tokens.authenticate(DbHandle(sessions), new.secret).username == "ana"


@pytest.mark.parametrize(
    ("exc", "fr"),
    [
        (auth.SessionExpired("ana"), "expiré"),
        (auth.SessionEnded("ana", "expired"), "expiré"),
        (auth.SessionEnded("ana", "signed out"), "pris fin"),
    ],
)
def test_session_refusals_carry_a_catalogue_key_pages_show_in_either_language(
    exc: auth.Refused, fr: str
) -> None:
    """A page shows a refusal by its key (pages._ui.said); without one it showed the
    English text on a French page."""
    assert fr in i18n.text(exc.key, "fr")
    assert "session" in i18n.text(exc.key, "en").lower()
    assert "ana" in str(exc)  # the log line keeps who
