"""The scoring engine: a payment, the customer's prior state and a rule set give a verdict.

`score` and `hits` are pure.  `Detector` is the thin stateful shell that the backtest, the
replay source and the Kafka service all drive: it keeps customer states in a dict, scores each
payment against the state *before* it and then records it.  Every path to a verdict goes
through `Detector.process`, so live and offline alerts cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field

from detector.common.i18n import text
from detector.conditions import CONDITIONS, Params
from detector.events import STATEFUL_EVENT_TYPES, Activity, Payment
from detector.rules import RULE_IDS, RULES_BY_ID, RuleSet
from detector.state import DEDUP_WINDOW_MS, NEW, CustomerState


@dataclass(frozen=True, slots=True)
class Reason:
    rule_id: str
    points: int
    values: Mapping[str, float | int | str]

    def label(self, lang: str = "en") -> str:
        return text(RULES_BY_ID[self.rule_id].label_key, lang)

    def detail(self, lang: str = "en") -> str:
        """The hit explained with its measured values (catalogue key ``why.<rule id>``)."""
        return text(f"why.{self.rule_id}", lang).format(**self.values)

    def to_dict(self) -> dict[str, object]:
        return {
            "rule_id": self.rule_id,
            "points": self.points,
            "values": dict(self.values),
            "detail_en": self.detail("en"),
            "detail_fr": self.detail("fr"),
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    payment_id: str
    customer_id: str
    ts_ms: int
    score: int
    severity: str
    is_alert: bool
    reasons: tuple[Reason, ...]
    ruleset_version: str

    def explain(self, lang: str = "en") -> str:
        return "; ".join(f"{r.label(lang)} +{r.points} ({r.detail(lang)})" for r in self.reasons)


@dataclass(frozen=True)
class CompiledRules:
    """A rule set flattened for the hot path: one (predicate, params) pair per rule."""

    ruleset: RuleSet
    checks: tuple[tuple[Callable[[Payment, CustomerState, Params], bool], Params], ...]

    @classmethod
    def of(cls, ruleset: RuleSet) -> CompiledRules:
        checks = tuple(
            (CONDITIONS[rid].fires, cfg.params)
            for rid, cfg in zip(RULE_IDS, ruleset.rules, strict=True)
        )
        return cls(ruleset, checks)


def hits(p: Payment, s: CustomerState, compiled: CompiledRules) -> tuple[bool, ...]:
    """Which of the eleven rules fire, enabled or not (the backtest's matrix row)."""
    return tuple([fires(p, s, params) for fires, params in compiled.checks])


def score(p: Payment, s: CustomerState, compiled: CompiledRules) -> Verdict:
    rs = compiled.ruleset
    reasons = []
    total = 0
    for rid, cfg, (fires, params) in zip(RULE_IDS, rs.rules, compiled.checks, strict=True):
        if cfg.enabled and fires(p, s, params):
            total += cfg.points
            reasons.append(Reason(rid, cfg.points, CONDITIONS[rid].measure(p, s, params)))
    return Verdict(
        payment_id=p.payment_id,
        customer_id=p.customer_id,
        ts_ms=p.ts_ms,
        score=total,
        severity=rs.severity(total),
        is_alert=total >= rs.alert_threshold,
        reasons=tuple(reasons),
        ruleset_version=rs.version,
    )


@dataclass(frozen=True, slots=True)
class Skipped:
    """An event the states had already applied (`duplicate`) or no longer remember (`stale`)."""

    event: Payment | Activity
    reason: str


@dataclass
class Detector:
    """Scores a stream of events in order, keeping each customer's state.

    An event a customer's state has already applied changes nothing and gets no verdict; it is
    appended to `skipped` for the caller to count (and to clear).  Applied ids are remembered
    for `dedup_window_ms` of each customer's event time (the service and the Flink job pass
    `KVT_DEDUP_WINDOW_MS`; the backtest's input is checked for repeated ids and sorted, so the
    window never decides anything there)."""

    ruleset: RuleSet
    states: MutableMapping[str, CustomerState] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    dedup_window_ms: int = DEDUP_WINDOW_MS
    _compiled: CompiledRules = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._compiled = CompiledRules.of(self.ruleset)

    def use(self, ruleset: RuleSet) -> None:
        """Switch rule sets between events; state is independent of the rule set."""
        self.ruleset = ruleset
        self._compiled = CompiledRules.of(ruleset)

    def state_of(self, customer_id: str) -> CustomerState:
        s = self.states.get(customer_id)
        if s is None:
            s = self.states[customer_id] = CustomerState()
        return s

    def process(self, event: Payment | Activity) -> Verdict | None:
        if isinstance(event, Payment):
            s = self.state_of(event.customer_id)
            if (seen := s.admit(event, self.dedup_window_ms)) != NEW:
                self.skipped.append(Skipped(event, seen))
                return None
            verdict = score(event, s, self._compiled)
            s.record_payment(event, self.dedup_window_ms)
            return verdict
        if event.event_type in STATEFUL_EVENT_TYPES:
            s = self.state_of(event.customer_id)
            if (seen := s.admit(event, self.dedup_window_ms)) != NEW:
                self.skipped.append(Skipped(event, seen))
                return None
            s.record_activity(event, self.dedup_window_ms)
        return None

    def process_all(self, events: Iterable[Payment | Activity]) -> list[Verdict]:
        out = []
        for e in events:
            v = self.process(e)
            if v is not None:
                out.append(v)
        return out

    def hit_rows(self, events: Iterable[Payment | Activity]) -> tuple[list[str], list[int]]:
        """Payment ids and hit bitmasks (bit i = rule i fired), for the backtest."""
        ids: list[str] = []
        masks: list[int] = []
        checks = [
            (fires, params, 1 << i) for i, (fires, params) in enumerate(self._compiled.checks)
        ]
        states = self.states
        window = self.dedup_window_ms
        for e in events:
            s = states.get(e.customer_id)
            if s is None:
                s = states[e.customer_id] = CustomerState()
            if (seen := s.admit(e, window)) != NEW:
                self.skipped.append(Skipped(e, seen))
                continue
            if type(e) is Payment:
                mask = 0
                for fires, params, bit in checks:
                    if fires(e, s, params):
                        mask |= bit
                ids.append(e.payment_id)
                masks.append(mask)
                s.record_payment(e, window)
            else:
                s.record_activity(e, window)  # type: ignore[arg-type]
        return ids, masks
