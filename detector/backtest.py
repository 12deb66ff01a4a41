"""Backtest: run the engine over a labelled dataset once, then score any weights instantly.

The engine's hit for every rule and payment is computed once (`build_hit_matrix`).  A score is
then the dot product of a payment's hit row with the points; since there are only 2^11 hit
patterns, `HitMatrix.scores` evaluates the dot product once per pattern and gathers, which
re-scores a million payments in a few milliseconds.  Rule *parameters* (windows, multipliers)
change which rules hit, so they need a new matrix; points and thresholds do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_gen.feed import dataset_events, to_ms
from data_gen.readers import Dataset
from detector.engine import Detector
from detector.evaluation import BacktestMetrics, EvalInput, evaluate
from detector.rules import RULE_IDS, RuleSet

N_RULES = len(RULE_IDS)
_PATTERNS = np.arange(1 << N_RULES, dtype=np.int64)
# _PATTERN_BITS[m, i] is True when hit pattern m has rule i.
_PATTERN_BITS = ((_PATTERNS[:, None] >> np.arange(N_RULES)) & 1).astype(np.int32)


def score_table(weights: tuple[int, ...] | np.ndarray) -> np.ndarray:
    """Score of every one of the 2^11 hit patterns for these points."""
    return _PATTERN_BITS @ np.asarray(weights, dtype=np.int32)


@dataclass(frozen=True)
class HitMatrix:
    payment_ids: np.ndarray
    customer_ids: np.ndarray
    masks: np.ndarray  # int16 bit patterns, bit i = RULE_IDS[i] fired
    ts_ms: np.ndarray
    amounts: np.ndarray
    labels: np.ndarray | None  # bool, None when the dataset is unlabelled
    scenarios: np.ndarray
    incident_ids: np.ndarray
    params_fingerprint: str

    @property
    def n(self) -> int:
        return len(self.masks)

    @property
    def hits(self) -> np.ndarray:
        """Boolean (n, 11) matrix."""
        return _PATTERN_BITS[self.masks].astype(bool)

    @property
    def days(self) -> np.ndarray:
        return self.ts_ms.astype("datetime64[ms]").astype("datetime64[D]")

    def scores(self, weights: tuple[int, ...] | np.ndarray) -> np.ndarray:
        return score_table(weights)[self.masks]

    def eval_input(self, weights: tuple[int, ...] | np.ndarray) -> EvalInput:
        if self.labels is None:
            raise ValueError("dataset has no fraud labels")
        return EvalInput(
            scores=self.scores(weights),
            labels=self.labels,
            incident_ids=self.incident_ids,
            scenarios=self.scenarios,
            days=self.days,
            amounts=self.amounts,
            hits=self.hits,
            rule_ids=RULE_IDS,
        )


def params_fingerprint(ruleset: RuleSet) -> str:
    """What the hit matrix depends on: parameters only (not points, flags or thresholds)."""
    neutral = ruleset.with_points(dict.fromkeys(RULE_IDS, 0))
    return RuleSet.from_dict(
        {
            "rules": {
                rid: {"params": dict(cfg.params)}
                for rid, cfg in zip(RULE_IDS, neutral.rules, strict=True)
            }
        }
    ).fingerprint()


def build_hit_matrix(ds: Dataset, ruleset: RuleSet) -> HitMatrix:
    return hit_matrix_from_events(ds, dataset_events(ds, scoring_only=True), ruleset)


def hit_matrix_from_events(ds: Dataset, events: list, ruleset: RuleSet) -> HitMatrix:
    ids, masks = Detector(ruleset).hit_rows(events)
    pay = ds.payments
    if ids != pay["payment_id"].tolist():
        raise AssertionError("engine order differs from the dataset's payment order")
    labels = None
    if ds.labelled:
        labels = pay["is_fraud"].fillna(0).astype("int8").to_numpy().astype(bool)
    incident = pay["fraud_incident_id"].to_numpy(dtype=object)
    pid = pay["payment_id"].to_numpy(dtype=object)
    if labels is not None:
        # A fraud payment without an incident id is an incident of its own.
        orphan = labels & (incident == "")
        incident = np.where(orphan, pid, incident)
    return HitMatrix(
        payment_ids=pid,
        customer_ids=pay["customer_id"].to_numpy(dtype=object),
        masks=np.asarray(masks, dtype=np.int16),
        ts_ms=to_ms(pay["attempt_ts"]),
        amounts=pay["amount"].to_numpy(dtype=np.float64),
        labels=labels,
        scenarios=pay["fraud_scenario"].to_numpy(dtype=object),
        incident_ids=incident,
        params_fingerprint=params_fingerprint(ruleset),
    )


def evaluate_ruleset(hm: HitMatrix, ruleset: RuleSet, review_capacity: int) -> BacktestMetrics:
    return evaluate(
        hm.eval_input(ruleset.weights),
        ruleset.alert_threshold,
        review_capacity,
        high_threshold=ruleset.high_threshold,
    )
