"""The pure parts of the session cookie's web side: no open redirect, which paths are ours to
answer 404 for, the 404 page's language and escaping."""

from __future__ import annotations

from pathlib import Path

import pytest

import pages._web as web

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [
        ("/insights?x=1&y=2", "/insights?x=1&y=2"),
        ("/alert_queue?alert=ALT-PAY00000031", "/alert_queue?alert=ALT-PAY00000031"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_the_redirect_after_sign_in_stays_on_this_server(asked: str | None, goes_to: str) -> None:
    assert web.safe_next(asked) == goes_to


def test_only_unknown_page_paths_get_our_404() -> None:
    for ours in ("/", "/alert_queue", "/users/", "/_stcore/health", "/static/js/x.js",
                 "/favicon.png", "/_kvt/session", "/media/abc.png"):  # fmt: skip
        assert not web.is_unknown_page(ours), ours
    for unknown in ("/nowhere", "/alert_queue/extra", "/admin", "/ALERT_QUEUE"):
        assert web.is_unknown_page(unknown), unknown


def test_the_404_page_speaks_the_readers_language_and_escapes_the_path() -> None:
    assert web.pick_lang("en-GB,en;q=0.9") == "en"
    assert web.pick_lang("de-DE,fr;q=0.5,en;q=0.4") == "fr"
    assert web.pick_lang("de-DE") == "fr"  # the desk's default
    assert web.pick_lang("fr;q=0.2, en;q=0.8") == "en"
    page = web.not_found_html('/<script>alert("x")</script>', "fr")
    assert "Page introuvable" in page and "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "Page not found" in web.not_found_html("/x", "en")


def test_every_script_in_pages_has_its_own_streamlit_pathname() -> None:
    """A plain `streamlit run app.py` starts its first session as a version-1 multipage app
    (every pages/*.py a page named after its file, digits and underscores stripped) until
    app.py's st.navigation takes over; two files with one name (2_insights.py and a helper
    _insights.py) stopped that session before app.py ran: an error instead of the sign-in."""
    from streamlit.source_util import page_icon_and_name

    names = [page_icon_and_name(f)[1] for f in sorted((ROOT / "pages").glob("*.py"))]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
