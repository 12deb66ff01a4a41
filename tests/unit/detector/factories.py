"""Small builders for engine tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from detector.events import Activity, Payment


def ms(iso: str) -> int:
    """'2025-11-10T14:00:00' (UTC) to epoch ms."""
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() * 1000)


BASE = Payment(
    payment_id="PAY1",
    customer_id="C1",
    session_id="S1",
    ts_ms=ms("2025-11-20T14:00:00"),
    amount=100.0,
    currency="EUR",
    result="success",
    device="desktop",
    device_id="D1",
    utm_source="google",
    country="FR",
    method="card",
    customer_country="FR",
    customer_tz="Europe/Paris",
    customer_signup_ms=ms("2025-01-01T00:00:00"),
)


def pay(**kw: object) -> Payment:
    return replace(BASE, **kw)  # type: ignore[arg-type]


def cart(ts_ms: int, session_id: str = "S1", customer_id: str = "C1") -> Activity:
    return Activity(f"E{ts_ms}", customer_id, session_id, "add_to_cart", ts_ms)
