"""The desk's web server: the Streamlit app plus what a WebSocket cannot do.

Run with ``streamlit run serve.py`` (``make app`` does); ``app.py`` stays the Streamlit
script.  Besides it, plain HTTP:

- ``/_kvt/session?h=HANDOFF&next=/page?query``: the sign-in page sends the browser here with
  the one-time handoff of its new server-side session; the route trades it for the session
  token, sets it as a signed, HttpOnly, SameSite=Strict cookie (no script can read it) and
  redirects to ``next`` (a local path only).
- ``/_kvt/sign-out``: revokes the session the cookie names and deletes the cookie.
- any other path that is not a page: our 404 page, in French or English, instead of
  Streamlit's English "Page not found" over the default page.
"""

from __future__ import annotations

import functools
from typing import Any

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from streamlit.runtime.pages_manager import PagesManager

import pages._web as web
from desk import auth, runtime

# app.py builds the navigation (st.navigation).  Streamlit would otherwise treat pages/ as a
# version-1 pages directory until the first st.navigation call of the process, so a first
# browser session opening /insights would run that page's script without app.py (and its
# sign-in).  The flag is process-wide, read when a session starts.
PagesManager.uses_pages_directory = False
web.serve_routes()


@functools.cache
def _backend() -> runtime.WebBackend:
    return runtime.web_backend()


def _cookie_args(request: Request, max_age_h: int) -> dict[str, Any]:
    return {
        "path": "/",
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "max_age": max_age_h * 3600,
    }


def _redirect(request: Request) -> RedirectResponse:
    response = RedirectResponse(web.safe_next(request.query_params.get("next")), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


async def session_route(request: Request) -> Response:
    b = _backend()
    handoff = request.query_params.get("h", "")
    bound = web.binding(request.cookies.get(web.XSRF_COOKIE, ""))
    token = await run_in_threadpool(auth.exchange, b, handoff, bound) if handoff else None
    response = _redirect(request)
    if token is not None:
        s = b.settings
        value = auth.cookie_value(web.cookie_secret(s.session_secret, s.data_dir), token)
        response.set_cookie(web.COOKIE_NAME, value, **_cookie_args(request, s.session_max_h))
    return response


async def sign_out_route(request: Request) -> Response:
    b = _backend()
    s = b.settings
    raw = request.cookies.get(web.COOKIE_NAME, "")
    token = auth.cookie_token(web.cookie_secret(s.session_secret, s.data_dir), raw)
    if token is not None:
        await run_in_threadpool(auth.end_by_token, b, token)
    response = _redirect(request)
    args = _cookie_args(request, s.session_max_h)
    response.delete_cookie(web.COOKIE_NAME, path="/", httponly=True, samesite="strict",
                           secure=args["secure"])  # fmt: skip
    return response


class NotFoundMiddleware:
    """ASGI middleware: our localized 404 page for paths that are no page of the desk."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope.get("type") == "http"
            and scope.get("method") in ("GET", "HEAD")
            and web.is_unknown_page(scope.get("path", "/"))
        ):
            request = Request(scope)
            lang = request.cookies.get(web.LANG_COOKIE, "")
            if lang not in ("fr", "en"):
                lang = web.pick_lang(request.headers.get("accept-language", ""))
            body = web.not_found_html(scope.get("path", "/"), lang)
            await HTMLResponse(body, status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


app = st.App(
    "app.py",
    routes=[
        Route(web.SESSION_PATH, session_route, methods=["GET"]),
        Route(web.SIGN_OUT_PATH, sign_out_route, methods=["GET"]),
    ],
    middleware=[Middleware(NotFoundMiddleware)],
)
