"""Fit points and a threshold on one labelled dataset and judge them on another.

A suggestion is only worth publishing if it holds on data it was not fitted on, so the report
compares the current and suggested rule sets on a hold-out dataset generated with a different
seed (or one the caller supplies).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.check import is_generated
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import Dataset, read_dataset
from detector.backtest import HitMatrix, build_hit_matrix, evaluate_ruleset
from detector.evaluation import BacktestMetrics, evaluate
from detector.rules import RULE_IDS, RuleSet
from detector.suggest import Objective, Suggestion, objective_value, suggest_weights
from detector.validation import (
    OwnValidation,
    grouped_folds,
    out_of_fold_scores,
    time_split,
    validate_own,
)

HOLDOUT_SEED_OFFSET = 1_000


@dataclass(frozen=True)
class SuggestReport:
    objective: Objective
    suggestion: Suggestion
    current: RuleSet
    suggested: RuleSet
    holdout_path: str
    holdout_before: BacktestMetrics
    holdout_after: BacktestMetrics
    holdout_objective_before: float
    holdout_objective_after: float
    validation: OwnValidation | None = None  # on the dataset's own labels (not generated)

    def to_dict(self) -> dict[str, Any]:
        def brief(m: BacktestMetrics) -> dict[str, float]:
            return {
                "alert_rate": m.alert_rate,
                "precision": m.precision,
                "recall": m.recall,
                "f1": m.f1,
                "average_precision": m.average_precision,
                "incident_recall": m.incident_recall,
            }

        return {
            "objective": {
                "kind": self.objective.kind,
                "budget": self.objective.budget,
                "min_recall": self.objective.min_recall,
            },
            "points_before": dict(zip(RULE_IDS, self.current.weights, strict=True)),
            "points_after": dict(zip(RULE_IDS, self.suggested.weights, strict=True)),
            "threshold_before": self.current.alert_threshold,
            "threshold_after": self.suggested.alert_threshold,
            "train": {
                "objective_before": self.suggestion.objective_value_before,
                "objective_after": self.suggestion.objective_value_after,
                "before": self.suggestion.train_metrics_before,
                "after": self.suggestion.train_metrics_after,
            },
            "holdout": {
                "path": self.holdout_path,
                "objective_before": self.holdout_objective_before,
                "objective_after": self.holdout_objective_after,
                "before": brief(self.holdout_before),
                "after": brief(self.holdout_after),
            },
            "suggested_ruleset": self.suggested.to_dict(),
            "validation": None if self.validation is None else self.validation.to_dict(),
        }


def apply_suggestion(current: RuleSet, s: Suggestion) -> RuleSet:
    points = dict(zip(RULE_IDS, s.points, strict=True))
    rs = RuleSet.from_dict({**current.to_dict(), "version": f"{current.version}+suggested"})
    rs = rs.with_points(points)
    # A rule given 0 points is kept enabled, so re-enabling it later needs only points; a
    # disabled rule given points (a new rule shipped off) is switched on, or they would not count.
    rules = tuple(replace(c, enabled=c.enabled or c.points > 0) for c in rs.rules)
    rs = replace(rs, rules=rules)
    high = max(s.threshold, current.high_threshold + s.threshold - current.alert_threshold)
    return RuleSet.from_dict(
        {**rs.to_dict(), "alert_threshold": s.threshold, "high_threshold": high}
    )


def holdout_dataset(train: Dataset, workdir: Path) -> Dataset:
    """A dataset like `train` (same generator parameters when known) with another seed."""
    params = GenParams()
    manifest = train.path / "manifest.json"
    if manifest.exists():
        p = json.loads(manifest.read_text())["params"]
        params = GenParams(
            seed=int(p["seed"]) + HOLDOUT_SEED_OFFSET,
            scale=float(p["scale"]),
            fraud_rate=float(p["fraud_rate"]),
            start=date.fromisoformat(p["start"]),
            days=int(p["days"]),
            mix=p["mix"],
        )
    else:
        params = GenParams(seed=params.seed + HOLDOUT_SEED_OFFSET)
    generate(workdir, params)
    return read_dataset(workdir)


def suggest_report(
    train: HitMatrix,
    holdout: HitMatrix,
    holdout_path: str,
    current: RuleSet,
    objective: Objective,
    review_capacity: int,
) -> SuggestReport:
    if train.labels is None or holdout.labels is None:
        raise ValueError("suggesting weights needs labelled data")
    s = suggest_weights(
        train.hits,
        train.labels,
        np.asarray(current.weights),
        objective,
        current_threshold=current.alert_threshold,
    )
    suggested = apply_suggestion(current, s)

    def obj(rs: RuleSet) -> float:
        assert holdout.labels is not None
        return objective_value(
            holdout.scores(rs.weights), holdout.labels, rs.alert_threshold, objective
        )

    return SuggestReport(
        objective=objective,
        suggestion=s,
        current=current,
        suggested=suggested,
        holdout_path=holdout_path,
        holdout_before=evaluate_ruleset(holdout, current, review_capacity),
        holdout_after=evaluate_ruleset(holdout, suggested, review_capacity),
        holdout_objective_before=obj(current),
        holdout_objective_after=obj(suggested),
    )


VALIDATIONS = ("auto", "split", "cv", "split+cv", "holdout")


def validation_method(ds: Dataset, requested: str = "auto") -> str:
    """What judges a suggestion: the generated hold-out for a dataset data_gen wrote, the
    dataset's own labels (time split and grouped CV) for anything else, unless asked."""
    if requested not in VALIDATIONS:
        raise ValueError(f"validation: one of {', '.join(VALIDATIONS)}, got {requested!r}")
    if requested != "auto":
        return requested
    return "holdout" if is_generated(ds.path) else "split+cv"


def own_suggest_report(
    hm: HitMatrix,
    current: RuleSet,
    objective: Objective,
    review_capacity: int,
    method: str = "split+cv",
) -> SuggestReport:
    """Suggest and judge on the dataset's own labels.

    With a time split, the suggestion is the one fitted on the first 70 % of days and the
    "hold-out" is the last 30 %; with CV only, it is fitted on everything and the hold-out
    figures pool each payment's score from the fold that judged it.
    """
    if hm.labels is None:
        raise ValueError("suggesting weights needs labelled data")
    hits, labels = hm.hits, hm.labels
    v = validate_own(hits, labels, hm.days, hm.customer_ids, current, objective, method)
    if v.split is not None:
        fit = time_split(hm.days)
        train, judge = _subset(hm, fit), _subset(hm, ~fit)
        label = "own labels: last 30 % of days, fitted on the first 70 %"
        report = suggest_report(train, judge, label, current, objective, review_capacity)
        return replace(report, validation=v)
    full = suggest_report(hm, hm, "", current, objective, review_capacity)
    fold = grouped_folds(hm.customer_ids, len(v.folds))
    pooled = out_of_fold_scores(
        [hm.scores(f.points) for f in v.folds],
        fold,
        [f.threshold for f in v.folds],
        current.alert_threshold,
    )
    inp = replace(hm.eval_input(current.weights), scores=pooled)
    after = evaluate(inp, current.alert_threshold, review_capacity)
    return replace(
        full,
        holdout_path=f"own labels: {len(v.folds)} folds grouped by customer, out of fold",
        holdout_after=after,
        holdout_objective_after=objective_value(pooled, labels, current.alert_threshold, objective),
        validation=v,
    )


def _subset(hm: HitMatrix, rows: np.ndarray) -> HitMatrix:
    return replace(
        hm,
        payment_ids=hm.payment_ids[rows],
        customer_ids=hm.customer_ids[rows],
        masks=hm.masks[rows],
        ts_ms=hm.ts_ms[rows],
        amounts=hm.amounts[rows],
        labels=None if hm.labels is None else hm.labels[rows],
        scenarios=hm.scenarios[rows],
        incident_ids=hm.incident_ids[rows],
    )


def suggest_for_dataset(
    ds: Dataset,
    current: RuleSet,
    objective: Objective,
    review_capacity: int,
    holdout_dir: str | Path | None = None,
    validate: str = "auto",
) -> SuggestReport:
    train = build_hit_matrix(ds, current)
    method = "holdout" if holdout_dir is not None else validation_method(ds, validate)
    if method != "holdout":
        return own_suggest_report(train, current, objective, review_capacity, method)
    if holdout_dir is not None:
        hds = read_dataset(holdout_dir)
        return suggest_report(
            train,
            build_hit_matrix(hds, current),
            str(holdout_dir),
            current,
            objective,
            review_capacity,
        )
    with tempfile.TemporaryDirectory(prefix="kvt-holdout-") as tmp:
        hds = holdout_dataset(ds, Path(tmp))
        hm = build_hit_matrix(hds, current)
        label = f"generated, seed +{HOLDOUT_SEED_OFFSET}"
        return suggest_report(train, hm, label, current, objective, review_capacity)
