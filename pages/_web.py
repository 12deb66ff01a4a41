"""The page side of the session cookie and of our own "page not found" (``serve.py`` holds the
HTTP routes and the middleware that use these helpers).

Streamlit talks to the browser over a WebSocket, which cannot set a cookie, and a cookie a
script could read would be a stolen session waiting to happen.  So ``serve.py`` runs the app
as a Streamlit ASGI app (``st.App``) with two plain HTTP routes:

- ``/_kvt/session?h=HANDOFF&next=/page?query``: the sign-in page sends the browser here with
  the one-time handoff of its new server-side session; the route trades it for the session
  token (``desk.auth.exchange``), sets it as a signed, HttpOnly, SameSite=Strict cookie and
  redirects to ``next`` (a local path only).  The handoff is bound to the browser that signed
  in (Streamlit's XSRF cookie), so a handoff link sent to someone else signs nobody in.
- ``/_kvt/sign-out``: revokes the session the cookie names and deletes the cookie.

Pages read the cookie (``st.context.cookies``) to resume a session after a reload.  Any other
path that is not a page answers 404 with a French/English page of ours (the browser's
``Accept-Language`` picks), instead of Streamlit's English "Page not found" over the default
page.
"""

from __future__ import annotations

import functools
import html
import json
import re
from pathlib import Path
from urllib.parse import quote, urlencode

import streamlit as st

from desk import auth, i18n

COOKIE_NAME = "kvt_session"
LANG_COOKIE = "kvt_lang"  # not a secret: the language switch writes it from the page
SESSION_PATH = "/_kvt/session"
SIGN_OUT_PATH = "/_kvt/sign-out"
GO_KEY = "_browser_go"  # session state: where the browser must go at the end of this run
XSRF_COOKIE = "_streamlit_xsrf"


class _Routes:
    """Whether this process serves our HTTP routes: serve.py (`make app`, compose) does; a
    plain `streamlit run app.py` does not, and its sign-in must then stay in the Streamlit
    session (no cookie: a reload asks to sign in again) instead of sending the browser to a
    route that is not there."""

    served = False


def serve_routes() -> None:
    _Routes.served = True


def routes_served() -> bool:
    return _Routes.served


# url_path of every page (the navigation in app.py uses the same names).
PAGE_PATHS: dict[str, str] = {
    "pages/1_alert_queue.py": "alert_queue",
    "pages/2_insights.py": "insights",
    "pages/3_rule_tuning.py": "rule_tuning",
    "pages/4_dataset_studio.py": "dataset_studio",
    "pages/5_pipeline.py": "pipeline",
    "pages/6_audit.py": "audit",
    "pages/7_users.py": "users",
}
# First path segments Streamlit (and we) serve that are not pages.
_RESERVED = {"_stcore", "static", "media", "component", "app", "_kvt"}


# --------------------------------------------------------------------------- in the app


def session_cookie() -> str:
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # no browser (AppTest, bare mode): no cookie
        return ""
    return value if isinstance(value, str) else ""


def lang_cookie() -> str:
    try:
        value = st.context.cookies.get(LANG_COOKIE)
    except Exception:
        return ""
    return value if value in ("fr", "en") else ""


def remember_lang(code: str) -> None:
    """Keep the language for the next browser session (a reload, the sign-in's redirect)."""
    if code in ("fr", "en"):
        st.html(
            f"<script>document.cookie = '{LANG_COOKIE}={code}; path=/; max-age=31536000; "
            "SameSite=Strict';</script>",
            unsafe_allow_javascript=True,
        )


def browser_binding() -> str:
    try:
        value = st.context.cookies.get(XSRF_COOKIE)
    except Exception:
        return ""
    return binding(value) if isinstance(value, str) else ""


def binding(xsrf_cookie: str) -> str:
    """What identifies this browser to both the WebSocket and the HTTP route: the token
    inside Streamlit's XSRF cookie (its masked form changes on each page load)."""
    if not xsrf_cookie:
        return ""
    try:
        from streamlit.web.server.starlette.starlette_app_utils import (
            decode_xsrf_token_string,
        )

        token, _ = decode_xsrf_token_string(xsrf_cookie)
    except Exception:
        return ""
    return token.hex() if token else ""


@functools.cache
def cookie_secret(configured: str, data_dir: Path) -> bytes:
    """The cookie-signing key (``KVT_SESSION_SECRET`` or the data directory's), read once."""
    return auth.cookie_secret(configured, data_dir)


def asked_for(url_path: str) -> str:
    """The local URL of the page being shown, with its query string (to come back to it)."""
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    query = urlencode(params, doseq=True)
    return "/" + url_path + ("?" + query if query else "")


def session_url(handoff: str, next_url: str) -> str:
    return f"{SESSION_PATH}?h={quote(handoff)}&next={quote(safe_next(next_url), safe='')}"


def go(url: str, label: str) -> None:
    """Send the browser to ``url`` (a local path of ours), with a link if scripts are off."""
    target = json.dumps(url)
    st.html(f"<script>window.location.replace({target});</script>", unsafe_allow_javascript=True)
    st.link_button(label, url)


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this server, else ``/``: no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(c) < 32 for c in value):
        return "/"
    return value


# --------------------------------------------------------------------------- not found

_LANG_RE = re.compile(r"\s*([a-zA-Z]{1,8})(?:-[a-zA-Z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?")


def pick_lang(accept_language: str) -> str:
    """``fr`` or ``en`` from an Accept-Language header (French, the desk's default, when
    neither is asked for)."""
    best, best_q = "fr", -1.0
    for part in (accept_language or "").split(","):
        m = _LANG_RE.fullmatch(part)
        if m is None:
            continue
        code = m.group(1).lower()
        try:
            q = float(m.group(2)) if m.group(2) else 1.0
        except ValueError:
            continue
        if code in ("fr", "en") and q > best_q:
            best, best_q = code, q
    return best


def is_unknown_page(path: str) -> bool:
    """Whether ``path`` would make Streamlit say "Page not found": not the root, not a page,
    not one of the server's own routes or files."""
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] in _RESERVED or "." in parts[-1]:
        return False
    return not (len(parts) == 1 and parts[0] in PAGE_PATHS.values())


_SLOT = "\x00"


def not_found_html(path: str, lang: str) -> str:
    def t(key: str, **fmt: object) -> str:
        return i18n.text(key, lang, **fmt)

    shown = html.escape(path[:200], quote=True)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(t('nf.title'))}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;"
        "color:#262730}a{color:#ff4b4b}</style></head><body>"
        f"<h1>{html.escape(t('nf.title'))}</h1>"
        f"<p>{html.escape(t('nf.body', path=_SLOT)).replace(_SLOT, f'<code>{shown}</code>')}</p>"
        f'<p><a href="/">{html.escape(t("nf.home"))}</a></p></body></html>'
    )
