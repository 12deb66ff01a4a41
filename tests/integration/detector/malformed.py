"""The malformed input both engine hosts (the detector service and the Flink job) must
dead-letter with the codec's reason: one table, so the two cannot drift apart."""

from __future__ import annotations

import orjson

from detector.common.settings import Topics
from tests.integration.detector.conftest import Expected


def junk_messages(topics: Topics, expected: Expected) -> list[tuple[str, bytes, str]]:
    """(topic, value, reason the codec gives) of each malformed message."""
    t = topics
    good = orjson.loads(next(m.value for m in expected.messages if m.kind == "payments"))
    return [
        (t.payments, b"{not json", "invalid_json"),
        (t.payments, orjson.dumps({**good, "payment_id": None}), "missing_field"),
        (t.payments, orjson.dumps({**good, "amount": "12.00"}), "wrong_type"),
        (t.payments, orjson.dumps({**good, "amount": 9e99}), "absurd_amount"),
        (t.payments, orjson.dumps({**good, "attempt_ts": "31/12/2025"}), "bad_timestamp"),
        (
            t.user_events,
            orjson.dumps(
                {
                    "event_id": "E1",
                    "customer_id": "C1",
                    "event_type": "teleport",
                    "event_timestamp": "2025-11-02T00:00:00Z",
                }
            ),
            "unknown_event_type",
        ),
        (t.user_events, b"\x00" * 200_000, "too_large"),
        (t.payments, orjson.dumps({**good, "customer_id": "C\u202e1\u200b"}), "bad_id"),
        # PostgreSQL cannot store a NUL: a payment holding one must not stall the batch.
        (t.payments, orjson.dumps({**good, "utm_source": "ads\u0000"}), "bad_value"),
        (t.payments, '{"amount": "\ud800"}'.encode("utf-8", "surrogatepass"), "invalid_json"),
    ]
