"""The queue through the API: cursor pages, counts, detail with ETag, decisions with
If-Match (409 with the winner), bulk, stats, scoring, and hostile input changing nothing."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.models import AlertPage, ScoreOut
from db.detector_store import alert_id_for, save_batch
from db.models import Alert, AlertDecision
from desk import ApiRuntime
from detector.common.settings import Settings
from tests.unit.api.conftest import Api, seed_alerts
from tests.unit.db.builders import batch, scored, write

PROBLEM = "application/problem+json"


def _snapshot(api: Api) -> tuple[object, ...]:
    with api.ctx.sessions() as s:
        alerts = s.execute(select(Alert.alert_id, Alert.status, Alert.row_version)).all()
        return (sorted(alerts), s.scalar(select(func.count()).select_from(AlertDecision)))


def test_cursor_pages_walk_every_alert_once_in_order(api: Api) -> None:
    ids = seed_alerts(api)
    h = api.as_("analyst")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        body = api.client.get("/api/alerts", params=params, headers=h).json()
        seen += [a["alert_id"] for a in body["items"]]
        assert body["counts"]["matching"] == len(ids)
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == ids
    # Serialized without the response model (api/responses.py): exactly what it would write.
    assert AlertPage.model_validate(body).model_dump(mode="json") == body
    counts = body["counts"]
    assert counts["total_alerts"] == len(ids) and 0 < counts["alert_rate"] <= 1


def test_filters_match_the_queue(api: Api) -> None:
    seed_alerts(api)
    h = api.as_("analyst")
    body = api.client.get(
        "/api/alerts", params={"severity": "HIGH", "sort": "time_asc"}, headers=h
    ).json()
    assert body["items"] and {a["severity"] for a in body["items"]} == {"HIGH"}
    times = [a["event_ts"] for a in body["items"]]
    assert times == sorted(times)
    assert body["counts"]["matching"] == len(body["items"])
    rule = api.client.get("/api/alerts", params={"rule": "PAYMENT_FAILED"}, headers=h).json()
    assert all("PAYMENT_FAILED" in a["rule_ids"] for a in rule["items"])
    one = api.client.get("/api/alerts", params={"customer": "C1", "score_min": 60}, headers=h)
    assert {a["customer_id"] for a in one.json()["items"]} == {"C1"}


def test_detail_etag_and_decision_with_if_match(api: Api) -> None:
    alert_id = seed_alerts(api)[0]
    h = api.as_("analyst")
    r = api.client.get(f"/api/alerts/{alert_id}", headers=h)
    assert r.status_code == 200 and r.headers["etag"] == '"1"'
    d = r.json()
    assert d["reasons"] and all(x["detail_en"] for x in d["reasons"])
    assert d["payment_id"] and d["decisions"] == []
    url = f"/api/alerts/{alert_id}/decision"
    body = {"action": "block", "note": "stolen card"}
    assert api.client.post(url, json=body, headers=h).status_code == 428
    ok = api.client.post(url, json=body, headers={**h, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    assert ok.json()["status"] == "BLOCKED" and ok.json()["decided_by"] == "analyst"
    late = api.client.post(
        url, json={"action": "approve"}, headers={**api.as_("admin"), "If-Match": '"1"'}
    )
    assert late.status_code == 409 and late.headers["content-type"] == PROBLEM
    assert late.json()["winner"] == "analyst" and late.json()["status_now"] == "BLOCKED"
    after = api.client.get(f"/api/alerts/{alert_id}", headers=h).json()
    assert [x["action"] for x in after["decisions"]] == ["BLOCK", "CONFLICT"]
    assert after["status"] == "BLOCKED"
    assert [e.outcome for e in api.audit(action="alert.decide")] == ["ok", "conflict"]
    missing = api.client.post(
        "/api/alerts/ALT-nope/decision", json=body, headers={**h, "If-Match": "*"}
    )
    assert missing.status_code == 404


def test_bulk_by_ids_and_by_customer(api: Api) -> None:
    ids = seed_alerts(api)
    h = api.as_("analyst")
    r = api.client.post(
        "/api/alerts/decisions",
        json={"action": "investigate", "alerts": [{"alert_id": ids[0], "row_version": 1},
                                                  {"alert_id": ids[1]}, {"alert_id": "ALT-x"}]},
        headers=h,
    )  # fmt: skip
    assert r.status_code == 200
    assert r.json()["updated"] == ids[:2] and r.json()["missing"] == ["ALT-x"]
    again = api.client.post(
        "/api/alerts/decisions",
        json={"action": "block", "alerts": [{"alert_id": ids[0], "row_version": 1}]},
        headers=h,
    ).json()
    assert again["conflicts"] == [
        {"alert_id": ids[0], "status": "INVESTIGATING", "winner": "analyst"}
    ]
    by_customer = api.client.post(
        "/api/alerts/decisions", json={"action": "approve", "customer_id": "C1"}, headers=h
    ).json()
    assert by_customer["updated"]
    with api.ctx.sessions() as s:
        left = s.scalars(select(Alert.status).where(Alert.customer_id == "C1")).all()
    assert set(left) == {"APPROVED"} or set(left) <= {"APPROVED", "BLOCKED"}
    both = api.client.post(
        "/api/alerts/decisions",
        json={"action": "approve", "customer_id": "C1", "device_id": "D1"},
        headers=h,
    )
    assert both.status_code == 422 and "exactly one" in both.json()["detail"]


def test_stats_alert_rate_never_above_one(api: Api) -> None:
    ids = seed_alerts(api)
    s = api.client.get("/api/stats", headers=api.as_("analyst")).json()
    assert s["total_alerts"] == len(ids) and sum(s["by_severity"].values()) == len(ids)
    assert sum(s["by_day"].values()) == len(ids)
    assert s["by_rule"] and 0 < s["alert_rate"] <= 1


def test_score_dry_run_changes_nothing(api: Api) -> None:
    seed_alerts(api)
    before = _snapshot(api)
    body = {
        "payment_id": "PAY-API-9",
        "customer_id": "C1",
        "attempt_ts": "2025-11-25T03:30:00Z",
        "amount": 900.0,
        "result": "failed",
        "device": "mobile",
        "device_id": "D-new",
        "utm_source": "direct",
        "payment_country": "US",
        "customer_country": "FR",
    }
    r = api.client.post("/api/score", json=body, headers=api.as_("analyst"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["known_customer"] is True and out["dry_run"] is True and not out["recorded"]
    rules = {x["rule_id"] for x in out["reasons"]}
    assert {"PAYMENT_FAILED", "NEW_DEVICE", "GEO_MISMATCH"} <= rules
    assert out["score"] == sum(x["points"] for x in out["reasons"])
    assert out["ruleset_version"] == "1"
    assert ScoreOut.model_validate(out).model_dump(mode="json") == out
    assert _snapshot(api) == before
    real = api.client.post(
        "/api/score", json={**body, "dry_run": False}, headers=api.as_("analyst")
    )
    assert real.status_code == 503 and "no broker" in real.json()["detail"]
    assert _snapshot(api) == before


def test_hostile_input_gets_a_clear_4xx_and_changes_nothing(api: Api) -> None:
    ids = seed_alerts(api)
    h = {**api.as_("admin"), "If-Match": "*"}
    as_json = {**h, "content-type": "application/json"}
    before = _snapshot(api)
    url = f"/api/alerts/{ids[0]}/decision"
    cases = [
        api.client.post(url, content=b"{not json", headers=as_json),
        api.client.post(url, json={"action": 7}, headers=h),
        api.client.post(url, json={"action": "delete"}, headers=h),
        api.client.post(url, json={"action": "block", "admin": True}, headers=h),
        api.client.post(url, json={"action": "block", "note": "x" * 5000}, headers=h),
        api.client.post(url, json={"action": "block"}, headers={**h, "If-Match": "'; DROP"}),
        api.client.post("/api/score", json={"payment_id": "P1", "amount": "lots"}, headers=h),
        api.client.post("/api/score", json={"payment_id": "P1", "customer_id": "C1",
                                            "attempt_ts": "yesterday", "amount": 5}, headers=h),
        api.client.get("/api/alerts", params={"cursor": "not-a-cursor"}, headers=h),
        api.client.get("/api/alerts", params={"status": "OPEN' OR '1'='1"}, headers=h),
        api.client.get("/api/alerts", params={"rule": "X' OR 1=1 --"}, headers=h),
        api.client.get("/api/alerts", params={"score_min": "1; DROP TABLE"}, headers=h),
        api.client.get("/api/alerts", params={"from": "2025-11-20T00:00:00"}, headers=h),
        api.client.get("/api/alerts", params={"limit": 100000}, headers=h),
    ]  # fmt: skip
    for r in cases:
        assert 400 <= r.status_code < 500, (r.status_code, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["detail"]
    assert "payment" in cases[7].json()["detail"] and "attempt_ts" in cases[7].json()["detail"]
    assert "cursor" in cases[8].json()["detail"]
    # A cursor of one query is refused for another.
    page = api.client.get("/api/alerts", params={"limit": 2}, headers=h).json()
    other = api.client.get(
        "/api/alerts", params={"limit": 2, "sort": "time_desc", "cursor": page["next"]}, headers=h
    )
    assert other.status_code == 400 and "another query" in other.json()["detail"]
    injected = api.client.get("/api/alerts", params={"customer": "C1' OR '1'='1"}, headers=h)
    assert injected.status_code == 200 and injected.json()["items"] == []
    assert _snapshot(api) == before


def test_rulesets_publish_rollback_and_metrics(api: Api) -> None:
    h = api.as_("rule_owner")
    assert api.client.get("/api/rulesets", headers=h).json()[0]["version"] == 1
    bad = api.client.post("/api/rulesets", json={"ruleset": {"rules": {"NOPE": {}}}}, headers=h)
    assert bad.status_code == 422 and "NOPE" in bad.json()["detail"]
    r = api.client.post(
        "/api/rulesets", json={"ruleset": {"alert_threshold": 70}, "note": "api"}, headers=h
    )
    assert r.status_code == 201 and r.json() == {"version": 2}
    v2 = api.client.get("/api/rulesets/2", headers=h).json()
    assert v2["body"]["alert_threshold"] == 70 and v2["author"] == "rule_owner" and v2["active"]
    back = api.client.post("/api/rulesets/1/rollback", json={"note": "undo"}, headers=h)
    assert back.json() == {"version": 3}
    assert api.client.post("/api/rulesets/99/rollback", json={}, headers=h).status_code == 404
    assert [e.action for e in api.audit(actor="rule_owner")] == [
        "ruleset.publish",
        "ruleset.rollback",
    ]
    metrics = api.client.get("/metrics").text
    assert 'kvt_api_requests_total{method="POST",route="/api/rulesets",status="201"} 1.0' in metrics


def test_detail_says_whether_the_customer_was_unknown(api: Api) -> None:
    pairs, _ = scored(batch(40))
    alerted = [(v, p) for v, p in pairs if v.is_alert][:2]
    stranger = alerted[0][1].customer_id
    with Session(api.ctx.engine) as s:
        save_batch(s, group_id="g", verdicts=alerted[:1], states={}, offsets={},
                   expected_offsets={}, dead_letters=[], unknown_customers={stranger})  # fmt: skip
        save_batch(s, group_id="g", verdicts=alerted[1:], states={}, offsets={},
                   expected_offsets={}, dead_letters=[])  # fmt: skip
        s.commit()
    flags = [
        api.client.get(f"/api/alerts/ALT-{v.payment_id}", headers=api.as_("analyst")).json()[
            "unknown_customer"
        ]
        for v, _ in alerted
    ]
    assert flags == [True, None]  # the second writer did not check the reference


def test_alerts_filter_by_dataset_and_the_datasets_are_listed(api: Api) -> None:
    pairs, states = scored(batch(60))
    with Session(api.ctx.engine) as s:
        write(s, pairs[:30], states, dataset="shop-a")
        write(s, pairs[30:], states)
        s.commit()
    in_a = {alert_id_for(v.payment_id, "shop-a") for v, _ in pairs[:30] if v.is_alert}
    h = api.as_("analyst")
    body = api.client.get("/api/alerts", params={"dataset": "shop-a", "limit": 200}, headers=h)
    got = body.json()
    assert body.status_code == 200, got
    assert {a["alert_id"] for a in got["items"]} == in_a
    assert {a["dataset"] for a in got["items"]} == {"shop-a"}
    # The counts are the dataset's own, not every alert's.
    assert got["counts"]["matching"] == got["counts"]["total_alerts"] == len(in_a)
    listed = api.client.get("/api/alerts/datasets", headers=h).json()
    n_live = sum(v.is_alert for v, _ in pairs[30:])
    assert [(d["name"], d["alerts"]) for d in listed] == [("live", n_live), ("shop-a", len(in_a))]
    detail = api.client.get(f"/api/alerts/{sorted(in_a)[0]}", headers=h).json()
    assert detail["dataset"] == "shop-a"
    # A dataset's alert id (ALT:<payment id>@<dataset>) is a path segment like any other.
    url = f"/api/alerts/{sorted(in_a)[0]}/decision"
    ok = api.client.post(url, json={"action": "block"}, headers={**h, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["alert_id"] == sorted(in_a)[0]


def test_counts_are_exact_at_every_request_for_every_alert_and_for_one_dataset(
    api: Api,
) -> None:
    """The database keeps the counts (migration 0011): no cache to go stale, and no grouped
    scan of a million alerts per call."""
    pairs, states = scored(batch(40))
    with Session(api.ctx.engine) as s:
        write(s, pairs[:20], states, dataset="shop-a")
        s.commit()
    h = api.as_("analyst")
    n = sum(v.is_alert for v, _ in pairs[:20])
    got = api.client.get("/api/alerts", params={"dataset": "shop-a"}, headers=h).json()
    assert got["counts"]["total_alerts"] == got["counts"]["pending"] == n
    first = got["items"][0]["alert_id"]
    url = f"/api/alerts/{first}/decision"
    ok = api.client.post(url, json={"action": "block"}, headers={**h, "If-Match": '"1"'})
    assert ok.status_code == 200
    with Session(api.ctx.engine) as s:
        write(s, pairs[20:], states, dataset="shop-b")
        s.commit()
    got = api.client.get("/api/alerts", params={"dataset": "shop-a"}, headers=h).json()
    assert (got["counts"]["total_alerts"], got["counts"]["pending"]) == (n, n - 1)
    every = api.client.get("/api/alerts", headers=h).json()["counts"]["total_alerts"]
    assert every == sum(v.is_alert for v, _ in pairs)


def test_a_server_counts_the_payments_before_its_first_request(tmp_path: Path) -> None:
    ctx = ApiRuntime.create(Settings(data_dir=tmp_path / "data"))
    try:
        assert ctx.payments._value is None
        with TestClient(create_app(ctx)):  # runs the lifespan: the server's start-up
            assert ctx.payments._value == 0
    finally:
        ctx.close()
