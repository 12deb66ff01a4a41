"""``Authorization: Bearer <token>``: who is calling, as a desk principal.

The token is checked by the desk (:func:`desk.tokens.authenticate`), which audits a
refusal; here only the transport's part: reading the header, answering 401 with
``WWW-Authenticate``, and refusing (429) an address that failed too often lately, before its
token is even looked at.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.limits import Throttle
from api.problems import Problem
from desk import ApiRuntime, Principal, tokens

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token (`python -m db create-token USER`, or the Users page).",
)


def runtime_of(request: Request) -> ApiRuntime:
    ctx: ApiRuntime = request.app.state.context
    return ctx


async def context(request: Request) -> ApiRuntime:
    # async: FastAPI runs a plain-def dependency in a worker thread, a hop for nothing here.
    return runtime_of(request)


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    throttle: Throttle = request.app.state.throttle
    client = client_of(request)
    wait = throttle.retry_after(client)
    if wait > 0:
        seconds = math.ceil(wait)
        raise Problem(
            429,
            f"too many invalid API tokens from this address; try again in {seconds} s",
            headers={"Retry-After": str(seconds)},
            retry_after_s=seconds,
        )
    secret = credentials.credentials if credentials is not None else None
    if secret is None and "authorization" in request.headers:
        # Not "Bearer <token>": refused like a wrong token, whatever follows (even a good
        # token without its scheme).
        secret = "-"
    try:
        return tokens.authenticate(runtime_of(request), secret, client)
    except tokens.BadToken as exc:
        # A missing token counts too: every refusal writes an audit line, and a client
        # that keeps calling without one must not be able to flood the trail.
        throttle.failed(client)
        raise Problem(401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="kvt"'}) from None


Caller = Annotated[Principal, Depends(caller)]
# The token alone, for a route that checks it with :func:`caller` in its own worker thread
# (one thread hop per call instead of two, where the checkout waits on every millisecond).
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
Context = Annotated[ApiRuntime, Depends(context)]
