"""The Flink job's decisions that need no Flink: what it scores, which rule-set version."""

from __future__ import annotations

import orjson
import pytest

from data_gen.wire_format import BadMessage, payment_message
from detector.events import Activity
from detector.flink.timeline import (
    add_version,
    decode,
    read_ruleset_message,
    ruleset_message,
    version_for,
)
from detector.rules import RULE_IDS, RuleSet, default_ruleset
from tests.unit.detector.factories import ms, pay

T = ms("2025-11-20T14:00:00")


def v(version: str) -> RuleSet:
    return RuleSet.from_dict(default_ruleset().to_dict(), version=version)


def test_decode_keeps_payments_and_state_changing_clicks_only() -> None:
    p = pay()
    assert decode(True, orjson.dumps(payment_message(p)), 65536) == p
    view = {"event_id": "E1", "customer_id": "C1", "event_type": "page_view",
            "event_timestamp": "2025-11-20T14:00:00Z"}  # fmt: skip
    assert decode(False, orjson.dumps(view), 65536) is None
    click = decode(False, orjson.dumps({**view, "event_type": "add_to_cart"}), 65536)
    assert isinstance(click, Activity) and click.ts_ms == T


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"{nope", "invalid_json"), (None, "empty"), (b"[1]", "not_an_object")],
)
def test_decode_raises_the_codecs_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(BadMessage) as info:
        decode(True, raw, 65536)
    assert info.value.reason == reason


DAY = 86_400_000


def test_a_time_the_source_found_too_far_ahead_is_dead_lettered_in_the_services_words() -> None:
    """The source's FutureTime says why (its partition's time, or the clock); the detail is
    worded as detector.ordering words it for the service."""
    p = pay()
    raw = orjson.dumps(payment_message(p))
    with pytest.raises(BadMessage) as info:
        decode(True, raw, 65536, f"partition:{T - 8 * DAY}", 3, (7 * DAY, 3_600_000))
    assert info.value.reason == "future_timestamp"
    assert info.value.detail == (
        "attempt_ts 2025-11-20T14:00:00.000Z is more than 7 day(s) ahead of partition 3's "
        "event time 2025-11-12T14:00:00.000Z"
    )
    view = {"event_id": "E1", "customer_id": "C1", "event_type": "page_view",
            "event_timestamp": "2099-12-31T00:00:00Z"}  # fmt: skip
    with pytest.raises(BadMessage) as info:  # a page view too: it would move the watermark
        decode(False, orjson.dumps(view), 65536, f"clock:{T}", 0, (7 * DAY, 3_600_000))
    assert info.value.detail == (
        "event_timestamp 2099-12-31T00:00:00.000Z is more than 1 hour(s) ahead of the wall "
        "clock 2025-11-20T14:00:00.000Z"
    )


def test_a_bad_message_keeps_the_codecs_reason_even_when_its_time_is_ahead() -> None:
    with pytest.raises(BadMessage) as info:
        decode(True, b"{nope", 65536, f"clock:{T}", 0, (7 * DAY, 3_600_000))
    assert info.value.reason == "invalid_json"


def test_a_version_applies_only_after_the_watermark_it_arrived_at() -> None:
    entries = add_version([], v("1"), None, watermark=-(2**63))
    assert entries is not None
    entries2 = add_version(entries, v("2"), None, watermark=T)
    assert entries2 is not None
    assert version_for(entries2, T)[1] == "1"  # already scored when v2 arrived: unchanged
    assert version_for(entries2, T + 1)[1] == "2"


def test_a_planned_version_waits_for_its_event_time() -> None:
    entries = add_version([], v("1"), None, watermark=0)
    entries = add_version(entries or [], v("2"), T, watermark=5)
    assert entries is not None
    assert version_for(entries, T - 1)[1] == "1"
    assert version_for(entries, T)[1] == "2"


def test_the_same_version_announced_again_changes_nothing() -> None:
    entries = add_version([], v("3"), None, watermark=0)
    assert add_version(entries or [], v("3"), None, watermark=100) is None


def test_no_version_before_the_first_announcement() -> None:
    assert version_for([], T) is None


def test_ruleset_message_round_trip_keeps_version_points_and_time() -> None:
    rs = v("7").with_points(dict.fromkeys(RULE_IDS, 5))
    back, effective = read_ruleset_message(ruleset_message(rs, effective_ms=T))
    assert back == rs and back.version == "7" and effective == T


@pytest.mark.parametrize(
    "raw",
    [
        b"{}",
        b"nope",
        orjson.dumps({"version": "2", "ruleset": {"rules": 3}}),
        orjson.dumps({"version": "2", "ruleset": {}, "effective_ms": "soon"}),
    ],
)
def test_a_bad_ruleset_message_is_refused_with_a_reason(raw: bytes) -> None:
    with pytest.raises(BadMessage) as info:
        read_ruleset_message(raw)
    assert info.value.reason == "bad_ruleset"
