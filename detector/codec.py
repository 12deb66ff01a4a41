"""Strict decoding of the input topics' messages into engine events.

The shared part of the wire format (timestamps, the payment message) is `data_gen.wire_format`.

Messages are UTF-8 JSON objects keyed by customer_id.  Decoding never raises anything but
`BadMessage`, whose reason is what the dead-letter topic records; the detector stays up
whatever arrives.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from data_gen.schema import DEVICES, EVENT_TYPES, PAYMENT_RESULTS
from data_gen.wire_format import BadMessage, parse_ts_ms
from detector.conditions import zone_info
from detector.errors import EventError
from detector.events import Activity, Payment
from detector.iso4217 import CURRENCIES

MAX_AMOUNT = 100_000.0  # an e-shop basket above this is a data error, not a purchase
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")
_COUNTRY = re.compile(r"[A-Z]{2}")
# Free text (utm_source, method) is stored and shown: no control characters (a NUL cannot even
# be stored by PostgreSQL, and would stall every retry of the batch), no format characters
# (Unicode category Cf: a bidi override shows "moc.evil" as "live.com" in the alert detail, a
# zero-width space makes two equal-looking values differ) and no essays.
# Category Cf as of Unicode 15 (tests/unit/detector/test_codec.py checks it against unicodedata).
_CF = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f"
)
_BAD_TEXT = re.compile(f"[\x00-\x1f\x7f{_CF}]")
MAX_TEXT = 200
_KNOWN_TYPES = frozenset(EVENT_TYPES)
_DEVICES = frozenset(DEVICES)
_RESULTS = frozenset(PAYMENT_RESULTS)
_CURRENCIES = CURRENCIES | {""}  # absent: the shop's own, EUR
_DEVICE_ALIASES = {"web_desktop": "desktop", "web_mobile": "mobile"}


def load_json(raw: bytes | None, max_bytes: int) -> Mapping[str, Any]:
    if raw is None:
        raise BadMessage("empty", "message has no value")
    if len(raw) > max_bytes:
        raise BadMessage("too_large", f"{len(raw)} bytes > limit {max_bytes}")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadMessage("invalid_json", str(exc)[:200]) from None
    if not isinstance(obj, dict):
        raise BadMessage("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    return obj


# Customer and session ids that passed _ID: they recur in message after message, and a set
# lookup costs a fraction of the regular expression.  Event and payment ids never recur.
_VALID_IDS: set[str] = set()
_VALID_IDS_MAX = 100_000


def _id(obj: Mapping[str, Any], field: str, required: bool = True, recurs: bool = False) -> str:
    value = obj.get(field)
    if value is None or value == "":
        if required:
            raise BadMessage("missing_field", f"{field} is required")
        return ""
    if not isinstance(value, str):
        raise BadMessage("wrong_type", f"{field}: expected a string, got {type(value).__name__}")
    if recurs and value in _VALID_IDS:
        return value
    if not _ID.fullmatch(value):
        raise BadMessage("bad_id", f"{field}: {value[:40]!r} is not a valid identifier")
    if recurs:
        if len(_VALID_IDS) >= _VALID_IDS_MAX:
            _VALID_IDS.clear()
        _VALID_IDS.add(value)
    return value


def _text(obj: Mapping[str, Any], field: str, allowed: frozenset[str] | None = None) -> str:
    value = obj.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadMessage("wrong_type", f"{field}: expected a string, got {type(value).__name__}")
    if allowed is not None and value not in allowed:
        known = sorted(allowed) if len(allowed) <= 10 else f"{len(allowed)} known codes"
        raise BadMessage("bad_value", f"{field}: {value[:40]!r} not in {known}")
    if len(value) > MAX_TEXT:
        raise BadMessage("bad_value", f"{field}: {len(value)} characters > {MAX_TEXT}")
    if (bad := _BAD_TEXT.search(value)) is not None:
        what = "a control" if bad.group() <= "\x1f" or bad.group() == "\x7f" else "a format"
        raise BadMessage(
            "bad_value", f"{field}: {value[:40]!r} holds {what} character U+{ord(bad.group()):04X}"
        )
    return value


def _require(obj: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    """Absent fields are named as such before any field's type is judged."""
    absent = [f for f in fields if obj.get(f) is None or obj.get(f) == ""]
    if absent:
        raise BadMessage("missing_field", f"{', '.join(absent)} required")


def _country(obj: Mapping[str, Any], field: str) -> str:
    value = _text(obj, field)
    value = "UK" if value == "GB" else value
    if value and not _COUNTRY.fullmatch(value):
        raise BadMessage("bad_value", f"{field}: {value[:20]!r} is not a country code")
    return value


_ACTIVITY_REQUIRED = ("event_id", "customer_id", "event_type")
_PAYMENT_REQUIRED = ("payment_id", "customer_id", "attempt_ts", "amount", "result")


def decode_activity(obj: Mapping[str, Any]) -> Activity:
    _require(obj, _ACTIVITY_REQUIRED)
    event_type = obj.get("event_type")
    if not isinstance(event_type, str):  # a list or an object is not even hashable
        what = type(event_type).__name__
        raise BadMessage("wrong_type", f"event_type: expected a string, got {what}")
    if event_type not in _KNOWN_TYPES:
        raise BadMessage("unknown_event_type", f"event_type {str(event_type)[:40]!r}")
    ts = obj.get("event_timestamp", obj.get("ts"))
    if ts is None or ts == "":
        raise BadMessage("missing_field", "event_timestamp required")
    return Activity(
        event_id=_id(obj, "event_id"),
        customer_id=_id(obj, "customer_id", recurs=True),
        session_id=_id(obj, "session_id", required=False, recurs=True),
        event_type=str(event_type),
        ts_ms=parse_ts_ms(ts, "event_timestamp"),
    )


def decode_payment(obj: Mapping[str, Any]) -> Payment:
    _require(obj, _PAYMENT_REQUIRED)
    amount = obj.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise BadMessage("wrong_type", f"amount: expected a number, got {amount!r}"[:120])
    if not math.isfinite(amount) or not 0 < amount <= MAX_AMOUNT:
        raise BadMessage("absurd_amount", f"amount {amount!r} outside (0, {MAX_AMOUNT:g}]")
    device = obj.get("device") or ""
    if not isinstance(device, str):  # a list or an object is not even hashable
        raise BadMessage("wrong_type", f"device: expected a string, got {type(device).__name__}")
    device = _DEVICE_ALIASES.get(device, device)
    tz = _text(obj, "customer_tz") or "UTC"
    try:
        zone_info(tz)
    except EventError:
        raise BadMessage("bad_value", f"customer_tz: unknown time zone {tz[:40]!r}") from None
    signup = obj.get("customer_signup_ts")
    result = _text(obj, "result", _RESULTS)
    if not result:
        raise BadMessage("missing_field", "result is required")
    return Payment(
        payment_id=_id(obj, "payment_id"),
        customer_id=_id(obj, "customer_id", recurs=True),
        session_id=_id(obj, "session_id", required=False, recurs=True),
        ts_ms=parse_ts_ms(obj.get("attempt_ts"), "attempt_ts"),
        amount=float(amount),
        currency=_text(obj, "currency", _CURRENCIES) or "EUR",
        result=result,
        device=_text({"device": device}, "device", _DEVICES | {""}),
        device_id=_id(obj, "device_id", required=False, recurs=True),
        utm_source=_text(obj, "utm_source"),
        country=_country(obj, "payment_country"),
        method=_text(obj, "method"),
        customer_country=_country(obj, "customer_country"),
        customer_tz=tz,
        customer_signup_ms=None if signup in (None, "") else parse_ts_ms(signup, "signup"),
        card_bin=_id(obj, "card_bin", required=False),
        ip_hash=_id(obj, "ip_hash", required=False),
    )
