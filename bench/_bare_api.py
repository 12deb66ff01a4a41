"""The baseline of bench_api: bare FastAPI endpoints of the same shapes, no database, no auth.

.venv/bin/python -m uvicorn bench._bare_api:app --port 8001
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()


@app.post("/api/score")
def score(body: dict[str, Any]) -> dict[str, Any]:
    return {"payment_id": body.get("payment_id"), "score": 0, "reasons": []}


@app.get("/api/alerts")
def alerts() -> dict[str, Any]:
    return {"items": [], "next": None}
