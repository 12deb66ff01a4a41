"""Input messages to engine events in one step: typed structs, then the codec's checks.

The codec (``load_json`` + ``decode_payment`` / ``decode_activity``) builds a dict per message
and judges it field by field, which cost more than scoring (a third of the detector's CPU).
Here msgspec decodes the JSON straight into a struct of the fields the engine reads (typed:
a wrong type is an error in C), and the codec's checks run as cached predicates: the ids,
countries, zones and free texts that recur (a customer's, a campaign's) are judged once.

A message passes here only when every check holds, and then gives exactly the event the codec
gives.  Anything else is decoded again by the codec, which names the reason: the dead-letter
reasons and details are the codec's, whichever way a message went.  One difference by design:
fields the engine does not read are skipped, not converted, so a number beyond a double's range
or nesting deeper than 1,024 in such a field no longer makes the whole message invalid JSON
(invalid UTF-8 still does).
"""

from __future__ import annotations

import math

import msgspec
from msgspec import UNSET, UnsetType

from data_gen.wire_format import BadMessage, parse_ts_ms
from detector.codec import (
    _BAD_TEXT,
    _CURRENCIES,
    _DEVICE_ALIASES,
    _DEVICES,
    _ID,
    _KNOWN_TYPES,
    _RESULTS,
    MAX_AMOUNT,
    MAX_TEXT,
    decode_activity,
    decode_payment,
    load_json,
)
from detector.conditions import zone_info
from detector.errors import EventError
from detector.events import Activity, Payment


# gc=False: a struct holds only strings and numbers, it can never be part of a cycle.
class _ActivityWire(msgspec.Struct, gc=False):
    event_id: str | None = None
    customer_id: str | None = None
    session_id: str | None = None
    event_type: str | None = None
    # Present (even null) wins over the prototype's `ts`, as in the codec.
    event_timestamp: str | UnsetType | None = UNSET
    ts: str | None = None


class _PaymentWire(msgspec.Struct, gc=False):
    payment_id: str | None = None
    customer_id: str | None = None
    session_id: str | None = None
    attempt_ts: str | None = None
    amount: float | None = None  # a JSON integer converts, true/false do not (as in the codec)
    currency: str | None = None
    result: str | None = None
    device: str | None = None
    device_id: str | None = None
    utm_source: str | None = None
    payment_country: str | None = None
    method: str | None = None
    customer_country: str | None = None
    customer_tz: str | None = None
    customer_signup_ts: str | None = None
    card_bin: str | None = None
    ip_hash: str | None = None


_ACTIVITY = msgspec.json.Decoder(_ActivityWire)
_PAYMENT = msgspec.json.Decoder(_PaymentWire)
_WIRE_ERRORS = (msgspec.MsgspecError, RecursionError)

_COUNTRY_CODES = frozenset(chr(a) + chr(b) for a in range(65, 91) for b in range(65, 91))
_DEVICE_VALUES = _DEVICES | {""}

# Values that passed a check: they recur message after message.  Bounded (cleared when full)
# because ids arrive from outside; a value is only ever added after it passed.
_CACHE_MAX = 100_000
_IDS: set[str] = set()
_TEXTS: set[str] = set()
_ZONES: set[str] = set()


def decode(raw: bytes | None, is_payment: bool, max_bytes: int) -> Payment | Activity:
    """The engine event of one input message; raises `BadMessage` with the codec's reason."""
    if raw is not None and len(raw) <= max_bytes and (raw.isascii() or _utf8(raw)):
        try:
            if is_payment:
                event: Payment | Activity | None = _payment(_PAYMENT.decode(raw))
            else:
                event = _activity(_ACTIVITY.decode(raw))
        except _WIRE_ERRORS:
            event = None
        if event is not None:
            return event
    obj = load_json(raw, max_bytes)
    return decode_payment(obj) if is_payment else decode_activity(obj)


def _activity(w: _ActivityWire) -> Activity | None:
    ts = w.ts if w.event_timestamp is UNSET else w.event_timestamp
    eid, cid, sid = w.event_id, w.customer_id, w.session_id
    if not (eid and cid and ts and w.event_type in _KNOWN_TYPES and _ID.fullmatch(eid)):
        return None
    # Set lookups inline: three calls per event cost as much as the lookups themselves.
    if not ((cid in _IDS or _known_id(cid)) and (not sid or sid in _IDS or _known_id(sid))):
        return None
    try:
        ts_ms = parse_ts_ms(ts)
    except BadMessage:
        return None
    return Activity(eid, cid, sid or "", w.event_type, ts_ms)


def _payment(w: _PaymentWire) -> Payment | None:
    pid, cid, sid, amount = w.payment_id, w.customer_id, w.session_id, w.amount
    if not (pid and cid and w.attempt_ts and amount is not None and w.result in _RESULTS):
        return None
    if not (math.isfinite(amount) and 0 < amount <= MAX_AMOUNT):
        return None
    currency = w.currency or "EUR"
    device = w.device or ""
    device = _DEVICE_ALIASES.get(device, device)
    tz = w.customer_tz or "UTC"
    country = w.payment_country or ""
    country = "UK" if country == "GB" else country
    home = w.customer_country or ""
    home = "UK" if home == "GB" else home
    if not (
        currency in _CURRENCIES
        and device in _DEVICE_VALUES
        and (not country or country in _COUNTRY_CODES)
        and (not home or home in _COUNTRY_CODES)
        and _ID.fullmatch(pid)
        and _known_id(cid)
        and (not sid or _known_id(sid))
        and (not w.device_id or _known_id(w.device_id))
        and (not w.card_bin or _ID.fullmatch(w.card_bin))
        and (not w.ip_hash or _ID.fullmatch(w.ip_hash))
        and (not w.utm_source or _clean(w.utm_source))
        and (not w.method or _clean(w.method))
        and _zone(tz)
    ):
        return None
    signup = w.customer_signup_ts
    try:
        ts_ms = parse_ts_ms(w.attempt_ts)
        signup_ms = parse_ts_ms(signup) if signup else None
    except BadMessage:
        return None
    return Payment(
        pid, cid, sid or "", ts_ms, amount, currency, w.result, device,
        w.device_id or "", w.utm_source or "", country, w.method or "", home, tz, signup_ms,
        w.card_bin or "", w.ip_hash or "",
    )  # fmt: skip


def _utf8(raw: bytes) -> bool:
    """msgspec skips the fields it does not read without decoding their text."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _remember(cache: set[str], value: str) -> None:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache.add(value)


def _known_id(value: str) -> bool:
    """What the codec's `_id` accepts, for ids that recur (customers, sessions, devices)."""
    if value in _IDS:
        return True
    if not _ID.fullmatch(value):
        return False
    _remember(_IDS, value)
    return True


def _clean(value: str) -> bool:
    """What the codec's `_text` accepts as free text (no list of allowed values)."""
    if value in _TEXTS:
        return True
    if len(value) > MAX_TEXT or _BAD_TEXT.search(value):
        return False
    _remember(_TEXTS, value)
    return True


def _zone(tz: str) -> bool:
    if tz in _ZONES:
        return True
    if not _clean(tz):
        return False
    try:
        zone_info(tz)
    except EventError:
        return False
    _remember(_ZONES, tz)
    return True
