"""Links and sessions in a real browser (issue 14, finding 3): a page's URL (with its query)
survives the sign-in, a reload does not ask to sign in again, the session cookie is HttpOnly
and SameSite, sign-out revokes it on the server, and an unknown URL gets our own page in the
reader's language."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ADMIN, PASSWORD, VIEWER

pytestmark = pytest.mark.e2e

COOKIE = "kvt_session"


def _sign_in(page: Page, name: str = ADMIN) -> None:
    expect(page.locator("h1", has_text="connexion")).to_be_visible(timeout=90_000)
    page.get_by_role("textbox", name="Nom d'utilisateur").fill(name)
    page.get_by_role("textbox", name="Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Se connecter")).click()


def _session_cookie(page: Page) -> dict[str, object]:
    [cookie] = [c for c in page.context.cookies() if c["name"] == COOKIE]
    return dict(cookie)


def test_a_deep_link_survives_sign_in_and_a_reload_keeps_the_session(
    server: str, browser: Browser
) -> None:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{server}/insights?from=e2e&tag=a&tag=b")
    # The sign-in form answers at the page's own address, not Streamlit's "Page not found".
    _sign_in(page)
    expect(page.locator("h1", has_text="Analyses")).to_be_visible(timeout=60_000)
    assert re.search(r"/insights\?from=e2e&tag=a&tag=b$", page.url), page.url
    expect(page.get_by_text("Page not found")).to_have_count(0)

    cookie = _session_cookie(page)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert COOKIE not in page.evaluate("document.cookie")  # no script can read it

    page.reload()
    expect(page.locator("h1", has_text="Analyses")).to_be_visible(timeout=60_000)
    expect(
        page.locator('[data-testid="stSidebar"]').get_by_text(f"Connecté : {ADMIN}")
    ).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Se connecter"))).to_have_count(0)

    # Another tab of the same browser opens another page directly, signed in.
    other = context.new_page()
    other.goto(f"{server}/audit")
    expect(other.locator("h1", has_text="Journal d'audit")).to_be_visible(timeout=60_000)
    context.close()


def test_sign_out_revokes_the_session_on_the_server(server: str, browser: Browser) -> None:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{server}/?alert=ALT-X")
    _sign_in(page)
    # Signed in at the root, the browser lands on the role's first page under its own URL,
    # with the query it was given.
    page.wait_for_url(re.compile(r"/alert_queue\?alert=ALT-X$"), timeout=60_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text(f"Connecté : {ADMIN}")).to_be_visible(timeout=60_000)
    stolen = _session_cookie(page)

    sidebar.get_by_role("button", name=re.compile("Se déconnecter")).click()
    expect(page.locator("h1", has_text="connexion")).to_be_visible(timeout=30_000)
    assert not [c for c in context.cookies() if c["name"] == COOKIE]  # the browser dropped it
    context.close()

    # A copy of the cookie taken before the sign-out opens nothing any more.
    replay = browser.new_context(locale="fr-FR")
    replay.add_cookies([{k: stolen[k] for k in ("name", "value", "domain", "path")}])  # type: ignore[list-item]
    page = replay.new_page()
    page.goto(f"{server}/insights")
    expect(page.locator("h1", has_text="connexion")).to_be_visible(timeout=60_000)
    expect(page.locator("h1", has_text="Analyses")).to_have_count(0)
    replay.close()


@pytest.mark.parametrize(
    ("locale", "title", "body"),
    [
        ("fr-FR", "Page introuvable", "ne correspond à aucune page"),
        ("en-GB", "Page not found", "is not a page of the KiVendTout Fraud Desk"),
    ],
)
def test_an_unknown_url_gets_our_own_page_in_the_readers_language(
    server: str, browser: Browser, locale: str, title: str, body: str
) -> None:
    context = browser.new_context(locale=locale)
    page = context.new_page()
    response = page.goto(f"{server}/no_such_page?x=1")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text(title)
    expect(page.get_by_text(body)).to_be_visible()
    expect(page.get_by_text("Running the app's main page")).to_have_count(0)
    page.get_by_role("link").click()
    expect(page.locator("h1", has_text="connexion")).to_be_visible(timeout=60_000)
    context.close()


def test_a_page_the_role_may_not_open_says_so_at_its_url(server: str, browser: Browser) -> None:
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{server}/users")
    _sign_in(page, VIEWER)
    expect(page.get_by_text(re.compile("Accès refusé"))).to_be_visible(timeout=60_000)
    assert page.url.endswith("/users")
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.locator('[data-testid="stSidebarNav"]').get_by_text("Utilisateurs")).to_have_count(
        0
    )
    # The root still opens the viewer's own first page, signed in.
    page.goto(server)
    page.wait_for_url(re.compile(r"/insights$"), timeout=60_000)
    expect(page.locator("h1", has_text="Analyses")).to_be_visible(timeout=60_000)
    context.close()
