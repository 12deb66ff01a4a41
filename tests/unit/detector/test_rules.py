"""Rule sets: defaults from the issue, JSON round trip, and clear validation errors."""

from __future__ import annotations

import json

import pytest

from detector.errors import RuleSetError
from detector.rule_files import read_ruleset
from detector.rules import RULE_DEFS, RULE_IDS, RuleSet, default_ruleset


def test_defaults_match_the_rule_table() -> None:
    rs = default_ruleset()
    assert dict(zip(RULE_IDS, rs.weights, strict=True)) == {
        "FIRST_PAYMENT": 40,
        "NEW_CUSTOMER": 30,
        "UNUSUAL_HOUR": 35,
        "MOBILE_DEVICE": 20,
        "DIRECT_TRAFFIC": 15,
        "PAYMENT_FAILED": 50,
        "VELOCITY_HIGH": 45,
        "NEW_DEVICE": 30,
        "UNUSUAL_AMOUNT": 40,
        "FAST_CHECKOUT": 35,
        "GEO_MISMATCH": 25,
        "REPEAT_DECLINE": 0,  # added later: shipped disabled, default scores do not move
    }
    assert not rs.config("REPEAT_DECLINE").enabled
    assert all(rs.config(rid).enabled for rid in RULE_IDS[:11])
    assert (rs.alert_threshold, rs.high_threshold) == (60, 85)
    assert rs.param("VELOCITY_HIGH", "window_minutes") == 10
    assert rs.param("UNUSUAL_AMOUNT", "multiplier") == 3.0
    assert all(d.label_fr and d.label_en for d in RULE_DEFS)
    assert RULE_DEFS[0].label_fr == "💳 Premier paiement"


def test_json_round_trip_and_fingerprint(tmp_path) -> None:
    rs = default_ruleset().with_points({"GEO_MISMATCH": 33})
    f = tmp_path / "r.json"
    f.write_text(rs.to_json())
    back = read_ruleset(f)
    assert back.weights == rs.weights
    assert back.fingerprint() == rs.fingerprint()
    assert back.fingerprint() != default_ruleset().fingerprint()


def test_partial_file_keeps_defaults() -> None:
    rs = RuleSet.from_dict({"alert_threshold": 70, "rules": {"NEW_DEVICE": {"points": 5}}})
    assert rs.alert_threshold == 70
    assert rs.config("NEW_DEVICE").points == 5
    assert rs.config("FIRST_PAYMENT").points == 40


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": {"NOPE": {}}}, "unknown rule id(s) ['NOPE']"),
        (
            {"rules": {"VELOCITY_HIGH": {"params": {"window_minutes": 0}}}},
            "rules.VELOCITY_HIGH.params.window_minutes: must be between 1 and 1440, got 0",
        ),
        (
            {"rules": {"VELOCITY_HIGH": {"params": {"window": 5}}}},
            "rules.VELOCITY_HIGH.params: unknown parameter(s) ['window']",
        ),
        (
            {"rules": {"NEW_DEVICE": {"points": -1}}},
            "rules.NEW_DEVICE.points: must be between 0 and 1000, got -1",
        ),
        (
            {"rules": {"NEW_DEVICE": {"points": "ten"}}},
            "rules.NEW_DEVICE.points: expected a whole number, got 'ten'",
        ),
        (
            {"rules": {"NEW_DEVICE": {"enabled": "yes"}}},
            "rules.NEW_DEVICE.enabled: expected true or false, got 'yes'",
        ),
        (
            {"rules": {"NEW_CUSTOMER": {"params": {"days": 2.5}}}},
            "rules.NEW_CUSTOMER.params.days: must be a whole number, got 2.5",
        ),
        (
            {"alert_threshold": 90, "high_threshold": 85},
            "thresholds: need 1 <= alert_threshold <= high_threshold",
        ),
        ({"colour": "red"}, "rule set: unknown key(s) ['colour']"),
    ],
)
def test_invalid_rule_sets_say_where(data: dict, message: str) -> None:
    with pytest.raises(RuleSetError) as err:
        RuleSet.from_dict(data)
    assert message in str(err.value)


def test_bad_json_file_names_line(tmp_path) -> None:
    f = tmp_path / "bad.json"
    f.write_text('{\n  "rules": {\n    "NEW_DEVICE": {"points": 5,}\n  }\n}')
    with pytest.raises(RuleSetError, match=r"bad.json line 3"):
        read_ruleset(f)
    with pytest.raises(RuleSetError, match="file not found"):
        read_ruleset(tmp_path / "missing.json")


def test_partial_rule_json_is_valid_json() -> None:
    assert json.loads(default_ruleset().to_json())["rules"]["FAST_CHECKOUT"]["params"] == {
        "max_seconds": 30
    }
