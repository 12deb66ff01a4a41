"""Generation parameters: one frozen, validated object that fully determines a dataset."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from data_gen.errors import InvalidParamsError
from data_gen.schema import FRAUD_SCENARIOS

# Share of fraudulent *payments* per scenario.  Card testing dominates by count because each
# incident is a burst of attempts; low_signal keeps recall honest.
DEFAULT_MIX: Mapping[str, float] = MappingProxyType(
    {
        "card_testing": 0.30,
        "stolen_card_new_account": 0.22,
        "account_takeover": 0.20,
        "device_ring": 0.13,
        "low_signal": 0.15,
    }
)

# Where generated customers live (the shop's markets); imported data may hold any ISO code.
MARKETS: tuple[str, ...] = ("FR", "US", "UK", "DE", "ES", "IT", "CA", "BE", "CH", "NL")
MAX_SCALE = 1000.0  # identifier widths (C000001, E000000001, ...) are sized for this
MAX_DAYS = 3660
MAX_FRAUD_RATE = 0.5


@dataclass(frozen=True)
class GenParams:
    """Everything that determines a dataset; the same value always yields the same bytes.

    ``fraud_rate`` is the share of payments that are fraudulent.  ``mix`` maps fraud scenario
    names to relative weights (normalised here; missing scenarios get weight 0).
    """

    seed: int = 42
    scale: float = 1.0
    fraud_rate: float = 0.02
    start: date = date(2025, 11, 1)
    days: int = 61
    mix: Mapping[str, float] = field(default_factory=lambda: DEFAULT_MIX)

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidParamsError("seed", f"must be a non-negative integer, got {self.seed!r}")
        _check_number("scale", self.scale)
        if not 0 < self.scale <= MAX_SCALE:
            raise InvalidParamsError("scale", f"must be > 0 and <= {MAX_SCALE:g}, got {self.scale}")
        _check_number("fraud_rate", self.fraud_rate)
        if not 0 <= self.fraud_rate <= MAX_FRAUD_RATE:
            raise InvalidParamsError(
                "fraud_rate", f"must be within [0, {MAX_FRAUD_RATE}], got {self.fraud_rate}"
            )
        # datetime is a date subclass; a time of day would silently be dropped.
        if type(self.start) is not date:
            raise InvalidParamsError("start", f"must be a datetime.date, got {self.start!r}")
        if isinstance(self.days, bool) or not isinstance(self.days, int):
            raise InvalidParamsError("days", f"must be an integer, got {self.days!r}")
        if not 1 <= self.days <= MAX_DAYS:
            raise InvalidParamsError("days", f"must be within [1, {MAX_DAYS}], got {self.days}")
        object.__setattr__(self, "mix", _normalise_mix(self.mix, self.fraud_rate))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as recorded in manifest.json."""
        return {
            "seed": self.seed,
            "scale": float(self.scale),
            "fraud_rate": float(self.fraud_rate),
            "start": self.start.isoformat(),
            "days": self.days,
            "mix": dict(self.mix),
        }


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParamsError(name, f"must be a finite number, got {value!r}")


def _normalise_mix(mix: Mapping[str, float], fraud_rate: float) -> Mapping[str, float]:
    if not isinstance(mix, Mapping):
        raise InvalidParamsError("mix", f"must be a mapping scenario -> weight, got {mix!r}")
    unknown = sorted(str(k) for k in mix if k not in FRAUD_SCENARIOS)
    if unknown:
        raise InvalidParamsError(
            "mix",
            f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(FRAUD_SCENARIOS)}",
        )
    for name, weight in mix.items():
        _check_number(f"mix[{name}]", weight)
        if weight < 0:
            raise InvalidParamsError(f"mix[{name}]", f"weight must be >= 0, got {weight}")
    total = float(sum(mix.values()))
    if total <= 0:
        if fraud_rate > 0:
            raise InvalidParamsError("mix", "weights sum to 0 but fraud_rate > 0")
        total = 1.0
    # Canonical order so that manifests and allocation never depend on the caller's dict order.
    return MappingProxyType({s: float(mix.get(s, 0.0)) / total for s in FRAUD_SCENARIOS})
