from __future__ import annotations

from datetime import date, datetime

import pytest

from data_gen import DEFAULT_MIX, GenParams, InvalidParamsError
from data_gen.schema import FRAUD_SCENARIOS


def test_defaults_match_the_reference_dataset() -> None:
    p = GenParams()
    assert (p.seed, p.scale, p.fraud_rate, p.start, p.days) == (
        42,
        1.0,
        0.02,
        date(2025, 11, 1),
        61,
    )
    assert tuple(p.mix) == FRAUD_SCENARIOS
    assert sum(p.mix.values()) == pytest.approx(1.0)
    assert all(p.mix[s] > 0 for s in FRAUD_SCENARIOS)
    assert dict(p.mix) == pytest.approx(dict(DEFAULT_MIX))


def test_params_are_frozen_and_comparable() -> None:
    p = GenParams()
    with pytest.raises(AttributeError):
        p.seed = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.mix["low_signal"] = 1.0  # type: ignore[index]
    assert p == GenParams()
    assert p != GenParams(seed=1)


def test_mix_is_normalised_in_schema_order() -> None:
    p = GenParams(mix={"low_signal": 2, "card_testing": 6})
    assert tuple(p.mix) == FRAUD_SCENARIOS
    assert p.mix["card_testing"] == pytest.approx(0.75)
    assert p.mix["low_signal"] == pytest.approx(0.25)
    assert p.mix["device_ring"] == 0.0


def test_to_dict_is_json_ready() -> None:
    d = GenParams(seed=3, start=date(2026, 1, 5)).to_dict()
    assert d["seed"] == 3 and d["start"] == "2026-01-05" and d["days"] == 61
    assert list(d["mix"]) == list(FRAUD_SCENARIOS)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"scale": 0}, "scale", "must be > 0"),
        ({"scale": -1.5}, "scale", "must be > 0"),
        ({"scale": float("nan")}, "scale", "finite number"),
        ({"scale": 5000}, "scale", "<= 1000"),
        ({"fraud_rate": -0.01}, "fraud_rate", r"within \[0, 0.5\]"),
        ({"fraud_rate": 0.6}, "fraud_rate", r"within \[0, 0.5\]"),
        ({"days": 0}, "days", r"within \[1, 3660\]"),
        ({"days": 2.5}, "days", "must be an integer"),
        ({"seed": -1}, "seed", "non-negative integer"),
        ({"seed": True}, "seed", "non-negative integer"),
        ({"start": "2025-11-01"}, "start", "datetime.date"),
        ({"start": datetime(2025, 11, 1, 12)}, "start", "datetime.date"),
        ({"mix": {"phishing": 1.0}}, "mix", "unknown scenario.*phishing.*known: card_testing"),
        ({"mix": {"low_signal": -1}}, "mix[low_signal]", "must be >= 0"),
        ({"mix": {"low_signal": 0}}, "mix", "sum to 0 but fraud_rate > 0"),
        ({"mix": [("low_signal", 1)]}, "mix", "must be a mapping"),
    ],
)
def test_bad_params_raise_a_clear_error(kwargs: dict, field: str, message: str) -> None:
    with pytest.raises(InvalidParamsError, match=message) as info:
        GenParams(**kwargs)
    assert info.value.field == field
    assert str(info.value).startswith(f"invalid {field}: ")


def test_zero_weights_are_fine_without_fraud() -> None:
    assert GenParams(fraud_rate=0, mix={}).fraud_rate == 0
