"""Every endpoint with every role: allowed, or refused with a 403 problem that is audited."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from httpx import Response
from sqlalchemy.orm import Session

from db import tokens
from tests.unit.api.conftest import ROLES, Api, seed_alerts

Call = Callable[[Api, dict[str, str]], Response]

SCORE_BODY = {
    "payment_id": "PAY-API-1",
    "customer_id": "C1",
    "attempt_ts": "2025-11-21T03:00:00Z",
    "amount": 50.0,
}

# endpoint -> (roles allowed, call)
ENDPOINTS: dict[str, tuple[set[str], Call]] = {
    "GET /api/alerts": (
        {"analyst", "rule_owner", "admin"},
        lambda a, h: a.client.get("/api/alerts", headers=h),
    ),
    "GET /api/alerts/{id}": (
        {"analyst", "rule_owner", "admin"},
        lambda a, h: a.client.get(f"/api/alerts/{a.alert_ids[0]}", headers=h),
    ),
    "POST /api/alerts/{id}/decision": (
        {"analyst", "admin"},
        lambda a, h: a.client.post(
            f"/api/alerts/{a.alert_ids[0]}/decision",
            json={"action": "investigate", "note": "role test"},
            headers={**h, "If-Match": "*"},
        ),
    ),
    "POST /api/alerts/decisions": (
        {"analyst", "admin"},
        lambda a, h: a.client.post(
            "/api/alerts/decisions",
            json={"action": "investigate", "alerts": [{"alert_id": a.alert_ids[1]}]},
            headers=h,
        ),
    ),
    "GET /api/stats": (
        {"analyst", "rule_owner", "admin"},
        lambda a, h: a.client.get("/api/stats", headers=h),
    ),
    "POST /api/score": (
        {"analyst", "admin"},
        lambda a, h: a.client.post("/api/score", json=SCORE_BODY, headers=h),
    ),
    "GET /api/rulesets": (
        {"analyst", "rule_owner", "admin"},
        lambda a, h: a.client.get("/api/rulesets", headers=h),
    ),
    "GET /api/rulesets/{v}": (
        {"analyst", "rule_owner", "admin"},
        lambda a, h: a.client.get("/api/rulesets/1", headers=h),
    ),
    "POST /api/rulesets": (
        {"rule_owner", "admin"},
        lambda a, h: a.client.post(
            "/api/rulesets", json={"ruleset": {"alert_threshold": 70}, "note": "t"}, headers=h
        ),
    ),
    "POST /api/rulesets/{v}/rollback": (
        {"rule_owner", "admin"},
        lambda a, h: a.client.post("/api/rulesets/1/rollback", json={}, headers=h),
    ),
    "GET /api/customers/{id}/timeline": (
        {"analyst", "rule_owner", "admin"},
        lambda a, h: a.client.get("/api/customers/C1/timeline", headers=h),
    ),
    "GET /api/pipeline": (
        {"analyst", "rule_owner", "admin"},
        lambda a, h: a.client.get("/api/pipeline", headers=h),
    ),
}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("role", ROLES)
def test_each_endpoint_allows_or_refuses_each_role(api: Api, endpoint: str, role: str) -> None:
    seed_alerts(api)
    api.client.get("/api/rulesets", headers=api.as_("admin"))  # version 1 exists
    allowed, call = ENDPOINTS[endpoint]
    r = call(api, api.as_(role))
    denials = api.audit(outcome="denied", actor=role)
    if role in allowed:
        assert r.status_code in (200, 201), (r.status_code, r.text)
        assert denials == []
    else:
        assert r.status_code == 403, (r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert role in r.json()["detail"]
        assert len(denials) == 1 and denials[0].role == role


def test_a_disabled_or_re_roled_account_is_refused_at_its_next_call(api: Api) -> None:
    """Disabling an account or changing its role revokes its tokens (issue 15): the next call
    gets 401; a token made after the change acts with the new role at once."""
    seed_alerts(api)
    assert api.client.get("/api/alerts", headers=api.as_("analyst")).status_code == 200
    from desk import auth

    admin = api.principal("admin")
    auth.set_active(api.ctx, admin, "analyst", False)
    assert api.client.get("/api/alerts", headers=api.as_("analyst")).status_code == 401
    r = api.client.get("/api/alerts", headers=_fresh_token(api, "analyst"))
    assert r.status_code == 403 and "disabled" in r.json()["detail"]  # a new token: still no
    auth.change_role(api.ctx, admin, "viewer", "analyst")  # a promotion
    assert api.client.get("/api/alerts", headers=api.as_("viewer")).status_code == 401
    assert api.client.get("/api/alerts", headers=_fresh_token(api, "viewer")).status_code == 200


def _fresh_token(api: Api, username: str) -> dict[str, str]:
    with Session(api.ctx.engine) as s:
        secret = tokens.create_token(s, username, "admin").secret
        s.commit()
    return {"Authorization": f"Bearer {secret}"}
