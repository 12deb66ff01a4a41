"""Errors as RFC 9457 problem details (``application/problem+json``).

Every refusal the API gives has the same shape: ``type`` (``about:blank``: the status says
what kind of problem it is), ``title`` (the status phrase), ``status``, ``detail`` (what
exactly, safe to show) and extension members where the client can act on more (``errors``
for a bad request, ``winner`` for a decision conflict, ``retry_after_s`` for throttling).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """Raise anywhere in a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def problem_bytes(status: int, detail: str) -> bytes:
    """The body of a problem for code that answers below FastAPI (the body-size guard)."""
    return bytes(problem_response(status, detail).body)


def install(app: FastAPI) -> None:
    """Every error FastAPI or a route raises leaves as a problem document."""

    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc.status, exc.detail, exc.headers, **exc.extra)

    async def on_invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [_error(e) for e in exc.errors()]
        where = "; ".join(f"{e['where']}: {e['message']}" for e in errors[:5])
        return problem_response(422, f"the request is not valid: {where}", errors=errors)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(exc.status_code, detail, dict(exc.headers or {}))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)


def _error(e: Any) -> dict[str, str]:
    """One validation error: where (``body.amount``, ``query.cursor``) and what; the input
    itself is not echoed (it may be huge or hostile)."""
    loc = ".".join(str(p) for p in e.get("loc", ()))
    return {"where": loc, "message": str(e.get("msg", "invalid"))[:200], "type": e.get("type", "")}
