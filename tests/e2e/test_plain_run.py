"""A plain ``streamlit run app.py`` (no ``serve.py``, so no cookie routes) signs in and lands
on the alert queue: the sign-in must not send the browser to a route only ``serve.py``
serves (it once went blank there after a correct password)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import ADMIN, PASSWORD, PORT, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("kvt_plain"), PORT + 1, "app.py") as url:
        yield url


def test_a_plain_streamlit_run_signs_in_and_shows_the_queue(
    plain_server: str, browser: Browser
) -> None:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(plain_server)
        expect(page.locator("h1", has_text="connexion")).to_be_visible(timeout=90_000)
        page.get_by_role("textbox", name="Nom d'utilisateur").fill(ADMIN)
        page.get_by_role("textbox", name="Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name=re.compile("Se connecter")).click()
        expect(page.locator("h1", has_text="File d'alertes")).to_be_visible(timeout=60_000)
        expect(
            page.locator('[data-testid="stSidebar"]').get_by_text(f"Connecté : {ADMIN}")
        ).to_be_visible()
        expect(page.get_by_text("Pas encore d'alerte")).to_be_visible()
        assert "/_kvt/" not in page.url, page.url
        expect(page.get_by_text("Page not found")).to_have_count(0)
        assert not any(c["name"] == "kvt_session" for c in context.cookies())
        # Without serve.py's cookie the session is Streamlit's: a reload signs in again.
        page.reload()
        expect(page.locator("h1", has_text="connexion")).to_be_visible(timeout=60_000)
        assert errors == []
    finally:
        context.close()
