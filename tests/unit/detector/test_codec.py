"""Decoding input messages: good ones become engine events, bad ones a clear reason."""

from __future__ import annotations

import sys
import unicodedata

import orjson
import pytest

from data_gen.wire_format import BadMessage, format_ts, parse_ts_ms, payment_message
from detector import codec
from detector.codec import decode_activity, decode_payment, load_json
from tests.unit.detector.factories import BASE, ms


def test_payment_round_trip() -> None:
    raw = orjson.dumps(payment_message(BASE))
    assert decode_payment(load_json(raw, 65536)) == BASE


def test_timestamps_with_nanoseconds_offsets_and_naive_utc() -> None:
    assert parse_ts_ms("2025-11-03T14:22:05.123456789Z") == ms("2025-11-03T14:22:05.123")
    assert parse_ts_ms("2025-11-03T15:22:05.123+01:00") == ms("2025-11-03T14:22:05.123")
    assert parse_ts_ms("2025-11-03T14:22:05") == ms("2025-11-03T14:22:05")
    assert format_ts(ms("2025-11-03T14:22:05.120")) == "2025-11-03T14:22:05.120Z"


def good_payment(**kw: object) -> dict:
    body = payment_message(BASE)
    body.update(kw)
    return body


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b"x" * 70_000, "too_large"),
        (orjson.dumps(good_payment(amount="12")), "wrong_type"),
        (orjson.dumps(good_payment(amount=-5)), "absurd_amount"),
        (orjson.dumps(good_payment(amount=1e12)), "absurd_amount"),
        (orjson.dumps(good_payment(payment_id=None)), "missing_field"),
        (orjson.dumps(good_payment(payment_id=42)), "wrong_type"),
        (orjson.dumps(good_payment(customer_id="C1\u202eevil")), "bad_id"),
        (orjson.dumps(good_payment(customer_id="é" * 10)), "bad_id"),
        (orjson.dumps(good_payment(attempt_ts="yesterday")), "bad_timestamp"),
        (orjson.dumps(good_payment(attempt_ts="1970-01-01T00:00:00Z")), "bad_timestamp"),
        (orjson.dumps(good_payment(result="maybe")), "bad_value"),
        (orjson.dumps(good_payment(device="toaster")), "bad_value"),
        # Unhashable: looked up in the alias table, it raised a TypeError that stopped the service.
        (orjson.dumps(good_payment(device=["mobile"])), "wrong_type"),
        (orjson.dumps(good_payment(customer_tz="Mars/Olympus")), "bad_value"),
        (orjson.dumps(good_payment(payment_country="France")), "bad_value"),
        (orjson.dumps(good_payment(utm_source="ads\u0000")), "bad_value"),
        (orjson.dumps(good_payment(currency="EU\nR")), "bad_value"),
        (orjson.dumps(good_payment(method="x" * 201)), "bad_value"),
        # Format characters (Unicode Cf): a bidi override reverses what the analyst reads.
        (orjson.dumps(good_payment(utm_source="moc.\u202eevil")), "bad_value"),
        (orjson.dumps(good_payment(method="card\u200b")), "bad_value"),
        (orjson.dumps(good_payment(utm_source="\ufeffads")), "bad_value"),
        (orjson.dumps(good_payment(currency="<b>EUR</b>")), "bad_value"),
        (orjson.dumps(good_payment(currency="eur")), "bad_value"),
        (orjson.dumps(good_payment(currency="XYZ")), "bad_value"),
        (orjson.dumps({"payment_id": "PAY1"}), "missing_field"),
        (orjson.dumps(good_payment(amount=None)), "missing_field"),
        (orjson.dumps(good_payment(attempt_ts="")), "missing_field"),
    ],
)
def test_bad_payments_have_reasons(raw: bytes, reason: str) -> None:
    with pytest.raises(BadMessage) as err:
        decode_payment(load_json(raw, 65536))
    assert err.value.reason == reason


def test_free_text_keeps_unicode_that_is_not_a_control_character() -> None:
    p = decode_payment(good_payment(utm_source="newsletter-été 🎉", method="x" * 200))
    assert p.utm_source == "newsletter-été 🎉" and len(p.method) == 200


def test_a_payment_with_only_its_id_names_every_absent_field() -> None:
    with pytest.raises(BadMessage) as err:
        decode_payment({"payment_id": "PAY1"})
    assert err.value.reason == "missing_field"
    for name in ("customer_id", "attempt_ts", "amount", "result"):
        assert name in err.value.detail


def test_currencies_are_iso_4217_and_absent_means_eur() -> None:
    assert decode_payment(good_payment(currency="USD")).currency == "USD"
    assert decode_payment(good_payment(currency=None)).currency == "EUR"


def test_an_activity_without_its_timestamp_is_missing_a_field() -> None:
    body = {"event_id": "E1", "customer_id": "C1", "event_type": "page_view"}
    with pytest.raises(BadMessage) as err:
        decode_activity(body)
    assert (err.value.reason, err.value.detail) == ("missing_field", "event_timestamp required")


@pytest.mark.parametrize("event_type", [["page_view"], {"a": 1}, 7])
def test_an_event_type_that_is_not_a_string_is_a_wrong_type(event_type: object) -> None:
    body = {"event_id": "E1", "customer_id": "C1", "event_type": event_type,
            "event_timestamp": "2025-11-03T14:22:05Z"}  # fmt: skip
    with pytest.raises(BadMessage) as err:
        decode_activity(body)
    assert err.value.reason == "wrong_type"


def test_invalid_utf8_is_invalid_json() -> None:
    with pytest.raises(BadMessage) as err:
        load_json(b'{"a": "\xff\xfe"}', 1000)
    assert err.value.reason == "invalid_json"


def test_activities() -> None:
    a = decode_activity(
        {
            "event_id": "E1",
            "customer_id": "C1",
            "session_id": "S1",
            "event_type": "add_to_cart",
            "event_timestamp": "2025-11-03T14:22:05Z",
        }
    )
    assert (a.event_type, a.ts_ms) == ("add_to_cart", ms("2025-11-03T14:22:05"))
    with pytest.raises(BadMessage) as err:
        decode_activity(
            {
                "event_id": "E1",
                "customer_id": "C1",
                "event_type": "teleport",
                "event_timestamp": "2025-11-03T14:22:05Z",
            }
        )
    assert err.value.reason == "unknown_event_type"


def test_prototype_aliases_are_accepted() -> None:
    p = decode_payment(good_payment(device="web_mobile", payment_country="GB"))
    assert (p.device, p.country) == ("mobile", "UK")


def test_every_format_character_of_this_python_is_refused() -> None:
    cf = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    assert len(cf) > 150
    for ch in cf:
        with pytest.raises(BadMessage, match=f"U\\+{ord(ch):04X}"):
            decode_payment(good_payment(utm_source=f"ads{ch}"))


def test_card_bin_and_ip_hash_travel_with_the_payment() -> None:
    from data_gen.wire_format import payment_message
    from detector.codec import decode_payment
    from tests.unit.detector.factories import pay

    p = pay(card_bin="497010", ip_hash="h7f3")
    message = payment_message(p)
    assert (message["card_bin"], message["ip_hash"]) == ("497010", "h7f3")
    assert decode_payment(message) == p
    bare = payment_message(pay())
    assert (bare["card_bin"], bare["ip_hash"]) == (None, None)
    assert decode_payment(bare).card_bin == ""


def test_recurring_ids_are_checked_once_and_bad_ones_never_cached() -> None:
    good = {"event_id": "E1", "customer_id": "C1", "session_id": "S1",
            "event_type": "add_to_cart", "event_timestamp": "2025-11-03T14:22:05.123Z"}  # fmt: skip
    assert decode_activity(good).customer_id == "C1"
    assert "C1" in codec._VALID_IDS and "E1" not in codec._VALID_IDS  # event ids never recur
    assert decode_activity(good).customer_id == "C1"
    for bad in ("C 1", "-C1", "C1\u202e"):
        with pytest.raises(BadMessage) as info:
            decode_activity(good | {"customer_id": bad})
        assert info.value.reason == "bad_id"
        assert bad not in codec._VALID_IDS
