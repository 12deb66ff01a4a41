"""Scoring for real goes through the stream: the detector records the payment once, and the
same payment arriving again from the shop's own stream changes nothing.  Readiness and the
pipeline view see that detector."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from db import tokens
from db.models import Alert, DetectorStateRow
from desk import ApiRuntime
from tests.integration.detector.conftest import Pipeline
from tests.unit.db.builders import signed_in

pytestmark = pytest.mark.integration

PAYMENT = {
    "payment_id": "PAY-API-REAL-1",
    "customer_id": "C-API-1",
    "attempt_ts": "2026-01-05T03:12:09Z",
    "amount": 412.0,
    "result": "failed",
    "device": "mobile",
    "device_id": "D-API-1",
    "payment_country": "FR",
    "customer_country": "FR",
    "customer_tz": "Europe/Paris",
}


def _until(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def test_a_recorded_payment_is_scored_once_by_the_detector(
    make_pipeline: Callable[..., Pipeline],
) -> None:
    pipeline = make_pipeline()
    detector = pipeline.detector_process()
    rt = ApiRuntime.create(pipeline.settings)
    try:
        signed_in(rt.sessions, "checkout", "analyst")
        with Session(rt.engine) as s:
            secret = tokens.create_token(s, "checkout", "test").secret
            s.commit()
        client = TestClient(create_app(rt))
        h = {"Authorization": f"Bearer {secret}"}

        def state() -> dict[str, Any] | None:
            with rt.sessions() as s:
                return s.scalar(
                    select(DetectorStateRow.state).where(DetectorStateRow.customer_id == "C-API-1")
                )

        def consumed_payments() -> int:
            return pipeline.consumed()["payments"]

        _until(lambda: client.get("/ready").status_code == 200, "the detector to join its group")
        r = client.post("/api/score", json={**PAYMENT, "dry_run": False}, headers=h)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["recorded"] is True and out["is_alert"] is True
        assert out["alert_id"] == "ALT-PAY-API-REAL-1" and out["known_customer"] is False
        _until(lambda: (state() or {}).get("payments") == 1, "the detector to record it")

        # The shop's own stream brings the same payment again: nothing changes.
        producer = Producer({"bootstrap.servers": pipeline.settings.kafka_bootstrap})
        producer.produce(
            pipeline.settings.topics.payments, key=b"C-API-1", value=orjson.dumps(PAYMENT)
        )
        producer.flush(10)
        _until(lambda: consumed_payments() == 2, "the detector to read the repeat")
        assert (state() or {}).get("payments") == 1
        with rt.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Alert)) == 1

        # The next payment of that customer is scored against the recorded one.
        later = {**PAYMENT, "payment_id": "PAY-API-REAL-2", "attempt_ts": "2026-01-05T03:14:00Z"}
        nxt = client.post("/api/score", json=later, headers=h).json()
        assert nxt["known_customer"] is True and nxt["recorded"] is False
        assert "FIRST_PAYMENT" not in {x["rule_id"] for x in nxt["reasons"]}

        pipe = client.get("/api/pipeline", headers=h).json()
        assert pipe["mode"] == "kafka" and pipe["detector_members"] >= 1
        assert sum(v for k, v in pipe["committed"].items() if "payments" in k) == 2
        assert pipe["lag"] is not None and sum(pipe["lag"].values()) == 0
        assert [e.action for e in _audit(rt)] == ["payment.score"]
    finally:
        detector.terminate()
        detector.wait(20)
        rt.close()


def _audit(rt: ApiRuntime) -> list[Any]:
    from db.models import AuditEvent

    with rt.sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.actor == "checkout")))
