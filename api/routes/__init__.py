"""One router per area of the API."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import alerts, health, operations, rulesets, score, stats

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    alerts.router,
    stats.router,
    score.router,
    rulesets.router,
    operations.router,
)
