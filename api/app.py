"""The FastAPI application: routes, error shapes, guards.  ``create_app`` builds one over a
context (tests hand it theirs; ``python -m api`` opens the configured database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api import problems
from api.limits import BodyLimit, Throttle
from api.metrics import ApiMetrics, Measure
from api.routes import ROUTERS
from desk import ApiRuntime, Refused

MAX_BODY = 64 * 1024  # the largest legitimate body (a rule set, a bulk decision) is ~20 KB

DESCRIPTION = """
The KiVendTout Fraud Desk's REST API: checkout scoring, the alert queue, decisions, rule sets
and the pipeline, over the same use cases as the desk's pages (same roles, same audit trail,
same optimistic locking).

**Authentication**: `Authorization: Bearer <token>`; a token belongs to one account and acts
with that account's current role (`python -m db create-token USER`, or the Users page).

**Errors** are RFC 9457 problem details (`application/problem+json`).
"""


def create_app(
    ctx: ApiRuntime | None = None,
    *,
    max_body: int = MAX_BODY,
    throttle: Throttle | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = ctx is None
        app.state.context = ctx or ApiRuntime.create()
        # Before the first request, which would otherwise wait for that count.
        app.state.context.payments.warm(app.state.context)
        try:
            yield
        finally:
            if own:
                app.state.context.close()

    app = FastAPI(
        title="KiVendTout Fraud Desk API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    if ctx is not None:
        app.state.context = ctx  # usable without the lifespan (TestClient outside `with`)
    app.state.throttle = throttle or Throttle()
    problems.install(app)

    async def on_refused(_request: Request, exc: Exception) -> JSONResponse:
        return problems.problem_response(403, str(exc))

    app.add_exception_handler(Refused, on_refused)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimit, limit=max_body)
    app.state.metrics = ApiMetrics()
    app.add_middleware(Measure, metrics=app.state.metrics)
    return app
