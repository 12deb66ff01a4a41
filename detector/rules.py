"""The fraud rules as data, and rule sets (points, parameters, thresholds) built from them.

The seed's eleven rules keep their points; rules added later ship at 0 points.

A rule definition is static: its id, default points and parameter bounds; its label and its
parameters' names are keys of the one catalogue (``detector.common.i18n``: ``rule.<id>``,
``param.<id>.<name>``).  A `RuleSet` is what a rule owner edits and publishes: per-rule
points, enabled flag and parameter values, plus the alert and severity thresholds.  The
conditions themselves live in `detector.conditions`, keyed by rule id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from detector.common.i18n import text
from detector.errors import RuleSetError


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: float
    minimum: float
    maximum: float
    unit: str
    integer: bool = True


@dataclass(frozen=True)
class RuleDef:
    id: str
    default_points: int
    description_en: str
    params: tuple[ParamSpec, ...] = ()
    default_enabled: bool = True

    @property
    def label_key(self) -> str:
        return f"rule.{self.id}"

    @property
    def label_fr(self) -> str:
        return text(self.label_key, "fr")

    @property
    def label_en(self) -> str:
        return text(self.label_key, "en")

    def param_label_key(self, name: str) -> str:
        return f"param.{self.id}.{self.param(name).name}"

    def param(self, name: str) -> ParamSpec:
        for spec in self.params:
            if spec.name == name:
                return spec
        raise KeyError(name)


RULE_DEFS: tuple[RuleDef, ...] = (
    RuleDef(
        "FIRST_PAYMENT",
        40,
        "The customer's first payment attempt.",
    ),
    RuleDef(
        "NEW_CUSTOMER",
        30,
        "Signed up less than N days before the payment.",
        (ParamSpec("days", 7, 1, 365, "d"),),
    ),
    RuleDef(
        "UNUSUAL_HOUR",
        35,
        "Payment between start and end hour, customer's local time.",
        (ParamSpec("start_hour", 2, 0, 23, "h"), ParamSpec("end_hour", 6, 1, 24, "h")),
    ),
    RuleDef(
        "MOBILE_DEVICE",
        20,
        "Device is mobile, android or ios.",
    ),
    RuleDef(
        "DIRECT_TRAFFIC",
        15,
        "Traffic source (utm_source) is direct.",
    ),
    RuleDef(
        "PAYMENT_FAILED",
        50,
        "The payment attempt failed.",
    ),
    RuleDef(
        "VELOCITY_HIGH",
        45,
        "N or more payments by the customer within the window, this one included.",
        (ParamSpec("min_payments", 3, 2, 100, ""), ParamSpec("window_minutes", 10, 1, 1440, "min")),
    ),
    RuleDef(
        "NEW_DEVICE",
        30,
        "A device never used in the customer's earlier payments (needs earlier payments).",
    ),
    RuleDef(
        "UNUSUAL_AMOUNT",
        40,
        "Amount above multiplier × the mean of the customer's earlier successful payments.",
        (
            ParamSpec("multiplier", 3.0, 1.0, 100.0, "×", integer=False),
            ParamSpec("min_history", 1, 1, 100, ""),
        ),
    ),
    RuleDef(
        "FAST_CHECKOUT",
        35,
        "Under N seconds from the session's first add_to_cart to the payment.",
        (ParamSpec("max_seconds", 30, 1, 3600, "s"),),
    ),
    RuleDef(
        "GEO_MISMATCH",
        25,
        "Payment country differs from the customer's profile country.",
    ),
    # Added after the seed's eleven: ships disabled at 0 points, so default scores and reasons
    # do not move; tuning and suggestions can give it points (which enables it).
    RuleDef(
        "REPEAT_DECLINE",
        0,
        "A failed payment by a customer with at least N earlier failed payments in W days.",
        (ParamSpec("min_failures", 1, 1, 20, ""), ParamSpec("window_days", 30, 1, 90, "d")),
        default_enabled=False,
    ),
)

RULE_IDS: tuple[str, ...] = tuple(r.id for r in RULE_DEFS)
RULES_BY_ID: dict[str, RuleDef] = {r.id: r for r in RULE_DEFS}

DEFAULT_ALERT_THRESHOLD = 60
DEFAULT_HIGH_THRESHOLD = 85
MAX_POINTS = 1000


@dataclass(frozen=True)
class RuleConfig:
    points: int
    enabled: bool = True
    params: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """Points, parameters and thresholds for every rule, in `RULE_IDS` order."""

    rules: tuple[RuleConfig, ...]
    alert_threshold: int = DEFAULT_ALERT_THRESHOLD
    high_threshold: int = DEFAULT_HIGH_THRESHOLD
    version: str = "default"

    def __post_init__(self) -> None:
        _validate(self)

    def config(self, rule_id: str) -> RuleConfig:
        return self.rules[RULE_IDS.index(rule_id)]

    def param(self, rule_id: str, name: str) -> float:
        return self.config(rule_id).params[name]

    @property
    def weights(self) -> tuple[int, ...]:
        """Effective points: 0 for a disabled rule."""
        return tuple(c.points if c.enabled else 0 for c in self.rules)

    def severity(self, score: int) -> str:
        if score >= self.high_threshold:
            return "HIGH"
        if score >= self.alert_threshold:
            return "MEDIUM"
        return "LOW"

    def with_points(self, points: Mapping[str, int]) -> RuleSet:
        rules = tuple(
            replace(c, points=int(points.get(rid, c.points)))
            for rid, c in zip(RULE_IDS, self.rules, strict=True)
        )
        return replace(self, rules=rules)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "alert_threshold": self.alert_threshold,
            "high_threshold": self.high_threshold,
            "rules": {
                rid: {"points": c.points, "enabled": c.enabled, "params": dict(c.params)}
                for rid, c in zip(RULE_IDS, self.rules, strict=True)
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def fingerprint(self) -> str:
        """Content hash of everything that changes scores (not the version label)."""
        body = self.to_dict()
        body.pop("version")
        raw = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: str | None = None) -> RuleSet:
        """Build a rule set from a (possibly partial) dict; missing rules keep their defaults."""
        if not isinstance(data, Mapping):
            raise RuleSetError("rule set: expected a JSON object")
        unknown = set(data) - {"version", "alert_threshold", "high_threshold", "rules"}
        if unknown:
            raise RuleSetError(f"rule set: unknown key(s) {sorted(unknown)}")
        raw_rules = data.get("rules", {})
        if not isinstance(raw_rules, Mapping):
            raise RuleSetError("rules: expected an object keyed by rule id")
        bad_ids = sorted(set(raw_rules) - set(RULE_IDS))
        if bad_ids:
            raise RuleSetError(f"rules: unknown rule id(s) {bad_ids}; known: {list(RULE_IDS)}")
        configs = tuple(_rule_config(d, raw_rules.get(d.id, {})) for d in RULE_DEFS)
        return cls(
            rules=configs,
            alert_threshold=_as_int("alert_threshold", data.get("alert_threshold", 60)),
            high_threshold=_as_int("high_threshold", data.get("high_threshold", 85)),
            version=str(version if version is not None else data.get("version", "custom")),
        )


def default_ruleset() -> RuleSet:
    return RuleSet(
        rules=tuple(
            RuleConfig(d.default_points, d.default_enabled, {p.name: p.default for p in d.params})
            for d in RULE_DEFS
        )
    )


def _rule_config(rule: RuleDef, raw: Any) -> RuleConfig:
    where = f"rules.{rule.id}"
    if not isinstance(raw, Mapping):
        raise RuleSetError(f"{where}: expected an object with points, enabled, params")
    unknown = set(raw) - {"points", "enabled", "params"}
    if unknown:
        raise RuleSetError(f"{where}: unknown key(s) {sorted(unknown)}")
    enabled = raw.get("enabled", rule.default_enabled)
    if not isinstance(enabled, bool):
        raise RuleSetError(f"{where}.enabled: expected true or false, got {enabled!r}")
    raw_params = raw.get("params", {})
    if not isinstance(raw_params, Mapping):
        raise RuleSetError(f"{where}.params: expected an object")
    known = {p.name for p in rule.params}
    bad = sorted(set(raw_params) - known)
    if bad:
        raise RuleSetError(f"{where}.params: unknown parameter(s) {bad}; known: {sorted(known)}")
    params: dict[str, float] = {}
    for spec in rule.params:
        value = raw_params.get(spec.name, spec.default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleSetError(f"{where}.params.{spec.name}: expected a number, got {value!r}")
        params[spec.name] = int(value) if spec.integer and float(value).is_integer() else value
    return RuleConfig(
        _as_int(f"{where}.points", raw.get("points", rule.default_points)), enabled, params
    )


def _as_int(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise RuleSetError(f"{where}: expected a whole number, got {value!r}")
    return int(value)


def _validate(rs: RuleSet) -> None:
    if len(rs.rules) != len(RULE_DEFS):
        raise RuleSetError(f"rule set: expected {len(RULE_DEFS)} rules, got {len(rs.rules)}")
    for rule, cfg in zip(RULE_DEFS, rs.rules, strict=True):
        where = f"rules.{rule.id}"
        if not 0 <= cfg.points <= MAX_POINTS:
            raise RuleSetError(
                f"{where}.points: must be between 0 and {MAX_POINTS}, got {cfg.points}"
            )
        for spec in rule.params:
            if spec.name not in cfg.params:
                raise RuleSetError(f"{where}.params.{spec.name}: missing")
            value = cfg.params[spec.name]
            if not spec.minimum <= value <= spec.maximum:
                raise RuleSetError(
                    f"{where}.params.{spec.name}: must be between {spec.minimum:g} and "
                    f"{spec.maximum:g}, got {value!r}"
                )
            if spec.integer and value != int(value):
                raise RuleSetError(
                    f"{where}.params.{spec.name}: must be a whole number, got {value!r}"
                )
    if not 1 <= rs.alert_threshold <= rs.high_threshold:
        raise RuleSetError(
            f"thresholds: need 1 <= alert_threshold <= high_threshold, got "
            f"alert_threshold={rs.alert_threshold}, high_threshold={rs.high_threshold}"
        )
