"""Sign-in, navigation by role, the users page and the audit page."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from db import accounts
from db.engine import make_engine
from db.models import AuditEvent, User
from detector.common.settings import load_settings
from tests.unit.db.builders import PASSWORD
from tests.unit.pages.conftest import add_user, app_test, assert_clean
from tests.unit.pages.test_alert_queue import _first_shown, _select, button

CREATE = "FormSubmitter:us_create-Créer un compte"


def _db_rows(model, *where):  # type: ignore[no-untyped-def]
    engine = make_engine(load_settings().db_url)
    try:
        with Session(engine) as s:
            return list(s.scalars(select(model).where(*where)))
    finally:
        engine.dispose()


def _sign_in(at, username: str, password: str):  # type: ignore[no-untyped-def]
    at.text_input(key="in_user").input(username)
    at.text_input(key="in_password").input(password)
    return at.button[0].click().run()


def test_signed_out_the_app_shows_only_the_sign_in_page(data_dir: Path) -> None:
    at = app_test("app.py", role=None)
    at.run()
    assert_clean(at)
    assert at.title[0].value.endswith("connexion")
    # No account yet: the page says how to create the first admin, and shows no password.
    assert any("python -m db create-user" in c.value for c in at.code)
    assert at.metric == [] and at.dataframe == []


def test_sign_in_with_a_wrong_then_the_right_password(data_dir: Path) -> None:
    add_user("ana", "analyst")
    at = app_test("app.py", role=None)
    at.run()
    assert not any("create-user" in c.value for c in at.code)
    _sign_in(at, "ana", "not the password")
    assert [e.value for e in at.error] == ["nom d'utilisateur inconnu ou mot de passe erroné"]
    assert "principal" not in at.session_state
    _sign_in(at, "ana", PASSWORD)
    assert_clean(at)
    assert at.session_state["principal"].username == "ana"
    # (The browser lands on the first page of the new navigation by itself, as the end-to-end
    # test shows; AppTest keeps asking for the sign-in page's script, so go there.)
    at.switch_page("pages/1_alert_queue.py").run()
    assert at.title[0].value == "File d'alertes"
    outcomes = [
        (e.actor, e.outcome) for e in _db_rows(AuditEvent, AuditEvent.action == "auth.sign_in")
    ]
    assert outcomes == [("ana", "failed"), ("ana", "ok")]


def test_navigation_lists_only_the_pages_of_the_role(data_dir: Path) -> None:
    for role, first_title in (("viewer", "Analyses"), ("analyst", "File d'alertes")):
        at = app_test("app.py", role=role)
        at.run()
        assert_clean(at)
        assert at.title[0].value == first_title
    viewer = app_test("app.py", role="viewer")
    viewer.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        viewer.switch_page("pages/7_users.py")  # not in a viewer's navigation
    admin = app_test("app.py", role="admin")
    admin.run()
    admin.switch_page("pages/7_users.py").run()
    assert_clean(admin)
    assert admin.title[0].value == "Utilisateurs"


def test_sign_out_forgets_the_session(data_dir: Path) -> None:
    at = app_test("pages/2_insights.py", role="viewer")
    at.run()
    at.sidebar.button(key="me_sign_out").click().run()
    assert "principal" not in at.session_state
    assert [e.actor for e in _db_rows(AuditEvent, AuditEvent.action == "auth.sign_out")] == [
        "viewer"
    ]


def test_admin_creates_and_edits_a_user(data_dir: Path) -> None:
    at = app_test("pages/7_users.py", role="admin", username="root")
    at.run()
    assert_clean(at)
    at.text_input(key="us_name").input("New.Analyst")
    at.text_input(key="us_password").input("a fresh long password")
    at.selectbox(key="us_role").set_value("analyst")
    at.button(key=CREATE).click().run()
    assert_clean(at)
    assert any("new.analyst" in s.value for s in at.success)
    assert at.text_input(key="us_name").value == ""  # emptied once created
    assert at.text_input(key="us_password").value == ""
    (user,) = _db_rows(User, User.username == "new.analyst")
    assert user.role == "analyst" and user.created_by == "root"
    at.selectbox(key="us_pick").set_value("new.analyst").run()
    at.selectbox(key="us_new_role_new.analyst").set_value("viewer")
    at.checkbox(key="us_active_new.analyst").uncheck()
    at.button(key="FormSubmitter:us_edit-Appliquer").click().run()
    assert_clean(at)
    (user,) = _db_rows(User, User.username == "new.analyst")
    assert (user.role, user.active) == ("viewer", False)
    actions = [(e.action, e.target) for e in _db_rows(AuditEvent, AuditEvent.actor == "root")]
    assert actions == [
        ("user.create", "new.analyst"),
        ("user.role", "new.analyst"),
        ("user.active", "new.analyst"),
    ]


def test_users_page_shows_bad_input_without_creating_anything(data_dir: Path) -> None:
    at = app_test("pages/7_users.py", role="admin", username="root")
    at.run()
    at.text_input(key="us_name").input("x")
    at.text_input(key="us_password").input("short")
    at.button(key=CREATE).click().run()
    assert not at.exception
    assert any(e.value.startswith("nom d'utilisateur : 2 à 64") for e in at.error)
    assert [u.username for u in _db_rows(User)] == ["root"]
    # What was typed stays, to be corrected.
    assert at.text_input(key="us_name").value == "x"
    assert at.text_input(key="us_password").value == "short"
    at.text_input(key="us_name").input("xavier")
    at.button(key=CREATE).click().run()
    assert [e.value for e in at.error] == ["mot de passe : au moins 12 caractères"]


def test_an_analyst_cannot_open_the_users_page(data_dir: Path) -> None:
    at = app_test("pages/7_users.py", role="analyst")
    at.run()
    assert not at.exception and at.dataframe == []
    assert any("n'a pas le droit de gérer les comptes" in e.value for e in at.error)


def test_audit_page_lists_and_filters_the_trail(seeded_dir: Path) -> None:
    add_user("ana", "analyst")
    queue = app_test("pages/1_alert_queue.py", role="analyst", username="ana")
    queue.run()
    alert_id = _first_shown(queue)
    _select(queue, alert_id)
    button(queue, f"q_act_BLOCK_{alert_id}_").click().run()
    at = app_test("pages/6_audit.py", role="admin", username="root")
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert ("ana", "décision sur une alerte", "effectué", alert_id) in {
        (r["Qui"], r["Action"], r["Résultat"], r["Cible"]) for _, r in table.iterrows()
    }
    at.selectbox(key="au_outcome.fr").set_value("denied").run()
    assert_clean(at)
    assert len(at.dataframe[0].value) == 0
    at.selectbox(key="au_outcome.fr").set_value("ok").run()
    at.selectbox(key="au_actor").set_value("ana").run()
    assert set(at.dataframe[0].value["Qui"]) == {"ana"}


def test_an_idle_session_expires_and_asks_to_sign_in_again(seeded_dir: Path) -> None:
    from dataclasses import replace
    from datetime import timedelta

    at = app_test("app.py", role="analyst")
    at.run()
    assert at.title[0].value == "File d'alertes"
    who = at.session_state["principal"]
    at.session_state["principal"] = replace(who, last_seen=who.last_seen - timedelta(minutes=31))
    at.run()
    assert_clean(at)
    assert "principal" not in at.session_state
    assert at.metric == [] and at.dataframe == []
    # (In the browser the app then shows the sign-in page, as the end-to-end test's sign-out
    # shows; AppTest keeps running the page it was on, which refuses on its own.)
    page = app_test("pages/1_alert_queue.py", role="analyst")
    page.session_state["principal"] = replace(who, signed_in_at=who.signed_in_at - who.max_age)
    page.run()
    assert not page.exception and page.metric == [] and page.dataframe == []
    assert any("expiré" in i.value for i in page.info)


def test_admin_creates_shows_once_and_revokes_an_api_token(data_dir: Path) -> None:
    from db.models import ApiToken

    add_user("checkout", "analyst")
    at = app_test("pages/7_users.py", role="admin", username="root")
    at.run()
    at.selectbox(key="us_pick").set_value("checkout").run()
    at.text_input(key="us_token_label").input("eu shop")
    at.button(key="FormSubmitter:us_token-Créer un jeton").click().run()
    assert_clean(at)
    (secret,) = [c.value for c in at.code if c.value.startswith("kvt_")]
    (row,) = _db_rows(ApiToken)
    assert row.username == "checkout" and row.label == "eu shop" and secret not in row.token_hash
    assert row.expires_at is not None
    at.run()  # shown once: the next render no longer holds it
    assert not any(c.value == secret for c in at.code)
    assert at.dataframe[-1].value.iloc[0, 1] == f"{secret[:12]}…"
    at.button(key="FormSubmitter:us_revoke-Révoquer").click().run()
    assert_clean(at)
    (row,) = _db_rows(ApiToken)
    assert row.revoked_at is not None and row.revoked_by == "root"
    actions = [e.action for e in _db_rows(AuditEvent, AuditEvent.actor == "root")]
    assert actions == ["token.create", "token.revoke"]


def test_a_disabled_account_is_signed_out_at_its_next_refresh(data_dir: Path) -> None:
    """Issue 15, finding 6: the open session of an account an admin disables ends at the
    next run (a click or a live refresh), with a message, instead of showing more data."""
    add_user("ana", "analyst")
    at = app_test("app.py", role=None)
    at.run()
    _sign_in(at, "ana", PASSWORD)
    assert at.session_state["principal"].session_id  # a server-side session
    at.switch_page("pages/5_pipeline.py").run()
    assert_clean(at)
    engine = make_engine(load_settings().db_url)
    try:
        with Session(engine) as s:
            accounts.set_active(s, "ana", False)
            s.commit()
    finally:
        engine.dispose()
    at.run()
    assert "principal" not in at.session_state
    assert any("session a pris fin" in i.value for i in at.info)
    assert at.metric == [] and at.dataframe == []


def test_the_session_is_checked_once_per_run_and_again_at_the_next(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desk import auth

    calls: list[str] = []
    real = auth.refresh

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append("check")
        return real(*args, **kwargs)

    monkeypatch.setattr(auth, "refresh", counted)
    at = app_test("app.py", role="analyst")
    at.run()  # "/" switches to the role's first page: two script runs
    assert_clean(at)
    assert at.title[0].value == "File d'alertes"
    calls.clear()
    at.run()
    assert len(calls) == 1  # app.py, the page, the sidebar and its fragment share one check
    at.run()
    assert len(calls) == 2  # every run asks the database again
