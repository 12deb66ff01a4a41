"""The app frame: navigation, sidebar (language, account, service status), shared helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st

from tests.unit.pages.conftest import app_test, assert_clean

# --------------------------------------------------------------------------- tests


def test_app_renders_navigation_sidebar_and_the_queue(seeded_dir: Path) -> None:
    at = app_test("app.py")
    at.run()
    assert_clean(at)
    assert at.title[0].value == "File d'alertes"  # French by default
    sidebar_text = "\n".join(x.value for x in at.sidebar.text)
    assert "Base de données : ok" in sidebar_text
    assert "intégré" in sidebar_text


def test_an_invalid_setting_is_named_on_screen_not_a_traceback(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVT_DISPLAY_TZ", "Mars/Olympus")
    at = app_test("app.py", role=None)
    at.run()
    assert not at.exception
    [error] = at.error
    assert "réglage est invalide" in error.value
    [detail] = at.code
    assert detail.value == (
        "KVT_DISPLAY_TZ: 'Mars/Olympus' is not an IANA time zone (e.g. Europe/Paris, UTC)"
    )
    assert not at.text_input  # not even the sign-in form


def test_an_unreachable_database_at_start_is_said_not_a_traceback(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVT_DATABASE_URL", "postgresql://kvt:pw@127.0.0.1:9/kvt")  # refused
    at = app_test("app.py", role=None)
    at.run()
    assert not at.exception
    [error] = at.error
    assert "ne joint pas sa base de données" in error.value
    [detail] = at.code
    assert "127.0.0.1" in detail.value and "pw@" not in detail.value


def test_app_switches_to_every_page_without_errors(seeded_dir: Path) -> None:
    at = app_test("app.py")
    at.run()
    for page in ("pages/5_pipeline.py", "pages/2_insights.py", "pages/1_alert_queue.py"):
        at.switch_page(page).run()
        assert_clean(at)


def test_language_switch_to_english_and_back(seeded_dir: Path) -> None:
    at = app_test("pages/1_alert_queue.py")
    at.run()
    assert at.title[0].value == "File d'alertes"
    at.sidebar.radio(key="_w_lang").set_value("en").run()
    assert_clean(at)
    assert at.title[0].value == "Alert queue"
    assert at.session_state["lang"] == "en"
    assert any(m.label == "Pending review" for m in at.metric)
    at.sidebar.radio(key="_w_lang").set_value("fr").run()
    assert at.title[0].value == "File d'alertes"


def test_sidebar_shows_status_as_plain_text(seeded_dir: Path) -> None:
    from pages._ui import runtime

    at = app_test("pages/5_pipeline.py")
    at.run()
    runtime().status.error("boom **bold** <script>alert(1)</script>")
    at.run()
    assert_clean(at)
    codes = [c.value for c in at.sidebar.code]
    assert "boom **bold** <script>alert(1)</script>" in codes
    assert not any("<script>" in m.value for m in at.sidebar.markdown)


def test_sidebar_names_the_signed_in_account(seeded_dir: Path) -> None:
    at = app_test("pages/1_alert_queue.py", role="analyst", username="ana")
    at.run()
    assert_clean(at)
    assert any("ana" in c.value and "analyste" in c.value for c in at.sidebar.caption)


def test_inert_escapes_markdown_html_and_directives() -> None:
    from pages._ui import inert

    s = inert("**x** <b>y</b> :red[z] [l](http://e) $a$\n# h")
    assert "<b>" not in s and "**" not in s and ":red[" not in s and "](" not in s
    assert "\n" not in s
    assert s.startswith(r"\*\*x\*\*")


def test_labels_in_both_languages() -> None:
    from pages import _ui

    st.session_state.clear()
    assert _ui.status_label("PENDING_REVIEW") == "En attente de revue"
    assert _ui.rule_label("FIRST_PAYMENT") == "💳 Premier paiement"
    assert _ui.t("queue.not_a_key") == "queue.not_a_key"
    assert _ui.t("queue.done", action="X", n=2).startswith("X")
