"""The one-step decoding gives exactly the codec's events, and the codec's reasons otherwise."""

from __future__ import annotations

import itertools

import orjson
import pytest

from data_gen.wire_format import BadMessage, payment_message
from detector import wire
from detector.codec import decode_activity, decode_payment, load_json
from detector.events import Activity, Payment
from tests.unit.detector.factories import BASE, pay

LIMIT = 65_536
ACTIVITY = {
    "event_id": "E000000001",
    "customer_id": "C000763",
    "session_id": "S00000001",
    "event_type": "add_to_cart",
    "device": "desktop",
    "product_id": "P0023",
    "amount": None,
    "event_timestamp": "2025-11-01T02:20:34.608Z",
}
# Values that each field may hold in a hostile stream: absent, null, empty, other JSON types,
# lookalikes, control and format characters, aliases, out-of-range numbers and times.
TRICKY: tuple[object, ...] = (
    None, "", 0, 1, -5, 12.5, 1e12, True, [], {}, "x" * 201, "C 1", "-C1", "C1\u202e",
    "ads\u0000", "moc.\u202eevil", "é" * 10, "newsletter-été", "GB", "gb", "FR", "France",
    "web_mobile", "toaster", "EUR", "eur", "XYZ", "UTC", "Mars/Olympus", "Europe/Paris",
    "success", "failed", "maybe", "page_view", "teleport", "2025-11-03T14:22:05Z",
    "2025-11-03T14:22:05.123456789+01:00", "2025-11-03 14:22:05", "1970-01-01T00:00:00Z",
    "31/12/2025", "yesterday",
)  # fmt: skip


def reference(raw: bytes | None, is_payment: bool) -> Payment | Activity | tuple[str, str]:
    try:
        obj = load_json(raw, LIMIT)
        return decode_payment(obj) if is_payment else decode_activity(obj)
    except BadMessage as exc:
        return exc.reason, exc.detail


def fast(raw: bytes | None, is_payment: bool) -> Payment | Activity | tuple[str, str]:
    try:
        return wire.decode(raw, is_payment, LIMIT)
    except BadMessage as exc:
        return exc.reason, exc.detail


def variants(good: dict[str, object]) -> list[dict[str, object]]:
    """Each field absent or holding each tricky value, then pairs of fields broken at once."""
    out = []
    for name in good:
        out.append({k: v for k, v in good.items() if k != name})
        out += [good | {name: value} for value in TRICKY]
    for a, b in itertools.combinations(good, 2):
        out.append(good | {a: None, b: "x" * 201})
    return out


def test_every_payment_variant_decodes_as_the_codec_decodes_it() -> None:
    good = payment_message(pay(card_bin="497010", ip_hash="h7f3")) | {"extra": [1, {"a": 2}]}
    cases = variants(good)
    assert len(cases) > 600
    accepted = 0
    for body in cases:
        raw = orjson.dumps(body)
        expected = reference(raw, True)
        assert fast(raw, True) == expected, body
        accepted += isinstance(expected, Payment)
    assert 50 < accepted < len(cases) - 300  # both outcomes are well represented


def test_every_activity_variant_decodes_as_the_codec_decodes_it() -> None:
    cases = variants(ACTIVITY) + [
        {k: v for k, v in ACTIVITY.items() if k != "event_timestamp"} | {"ts": ts} for ts in TRICKY
    ]
    cases.append(ACTIVITY | {"ts": 5})  # the codec reads `ts` only without event_timestamp
    cases.append(ACTIVITY | {"event_timestamp": None, "ts": "2025-11-03T14:22:05Z"})
    accepted = 0
    for body in cases:
        raw = orjson.dumps(body)
        expected = reference(raw, False)
        assert fast(raw, False) == expected, body
        accepted += isinstance(expected, Activity)
    assert 30 < accepted < len(cases) - 100


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"",
        b"{not json",
        b"[1, 2]",
        b"null",
        b"x" * 70_000,
        b'{"a": "\xff\xfe"}',
        b'{"customer_id": "\xff"}',
        '{"amount": "\ud800"}'.encode("utf-8", "surrogatepass"),
        b'{"amount": "\\ud800"}',
        b'{"payment_id": "PAY1", "payment_id": null}',
        b'{"event_id": "E1", "customer_id": "C1", "event_type": "page_view", '
        b'"event_timestamp": "2025-11-03T14:22:05Z"} trailing',
        b'\xef\xbb\xbf{"event_id": "E1"}',
        b'{"customer\\u005fid": "C1", "event_id": "E1", "event_type": "page_view", '
        b'"event_timestamp": "2025-11-03T14:22:05Z"}',
        b'{"event_id": "E1", "customer_id": "C1", "event_type": "page_view", '
        b'"event_timestamp": "2025-11-03T14:22:05Z", "note": "tab\tinside"}',
    ],
)
def test_malformed_bytes_get_the_codecs_reason(raw: bytes | None) -> None:
    for is_payment in (True, False):
        assert fast(raw, is_payment) == reference(raw, is_payment)


def test_a_good_payment_round_trips_and_integer_amounts_are_floats() -> None:
    raw = orjson.dumps(payment_message(BASE) | {"amount": 100})
    p = wire.decode(raw, True, LIMIT)
    assert p == BASE and type(p.amount) is float  # type: ignore[union-attr]


def test_recurring_values_are_judged_once_and_refused_ones_never_cached() -> None:
    good = payment_message(pay(customer_id="C777", utm_source="camp-42", customer_tz="Asia/Tokyo"))
    assert wire.decode(orjson.dumps(good), True, LIMIT).customer_id == "C777"
    assert {"C777"} <= wire._IDS and "camp-42" in wire._TEXTS and "Asia/Tokyo" in wire._ZONES
    refused = (("customer_id", "C 7", wire._IDS), ("utm_source", "a\u200b", wire._TEXTS),
               ("customer_tz", "X/Y", wire._ZONES))  # fmt: skip
    for field, bad, cache in refused:
        with pytest.raises(BadMessage):
            wire.decode(orjson.dumps(good | {field: bad}), True, LIMIT)
        assert bad not in cache
