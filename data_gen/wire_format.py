"""The input topics' shared wire format: timestamps, the payment message, a refused message.

The producer (``data_gen.stream``, through ``data_gen.feed``) writes these, the MongoDB archive
(``db.archive``) reads event timestamps with them, and the detector's strict decoding
(``detector.codec``) is built on them; they live here, below all three, so that none of them
imports a package above its rank.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from detector.errors import DetectorError
from detector.events import Payment

MIN_TS_MS = 946_684_800_000  # 2000-01-01
MAX_TS_MS = 4_102_444_800_000  # 2100-01-01
_FRACTION = re.compile(r"(\.\d{6})\d+")


class BadMessage(DetectorError):
    """A message that cannot be scored; `reason` is short and stable, `detail` says more."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_ts_ms(value: object, field: str = "timestamp") -> int:
    """ISO-8601 (Z, offset or naive UTC; nanoseconds allowed) to epoch ms, range-checked."""
    if not isinstance(value, str) or not value:
        raise BadMessage("bad_timestamp", f"{field}: expected an ISO-8601 string, got {value!r}")
    # The canonical form (24 chars, ms, Z) parses directly; longer fractions are cut first.
    text = value if len(value) <= 24 else _FRACTION.sub(r"\1", value)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise BadMessage("bad_timestamp", f"{field}: {value[:40]!r} is not ISO-8601") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    ms = int(dt.timestamp() * 1000)
    if not MIN_TS_MS <= ms < MAX_TS_MS:
        raise BadMessage("bad_timestamp", f"{field}: {value!r} is outside 2000-2100")
    return ms


def format_ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def payment_message(p: Payment) -> dict[str, Any]:
    """The payments-topic JSON for a payment (the inverse of `detector.codec.decode_payment`)."""
    return {
        "payment_id": p.payment_id,
        "customer_id": p.customer_id,
        "session_id": p.session_id or None,
        "attempt_ts": format_ts(p.ts_ms),
        "amount": p.amount,
        "currency": p.currency,
        "result": p.result,
        "device": p.device,
        "device_id": p.device_id or None,
        "utm_source": p.utm_source,
        "payment_country": p.country,
        "method": p.method,
        "customer_country": p.customer_country,
        "customer_tz": p.customer_tz,
        "customer_signup_ts": None
        if p.customer_signup_ms is None
        else format_ts(p.customer_signup_ms),
        "card_bin": p.card_bin or None,
        "ip_hash": p.ip_hash or None,
    }
