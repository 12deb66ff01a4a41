"""Fit points and a threshold on one labelled dataset and judge them on another.

A suggestion is only worth publishing if it holds on data it was not fitted on, so the report
compares the current and suggested rule sets on a hold-out dataset generated with a different
seed (or one the caller supplies).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import Dataset, read_dataset
from detector.backtest import HitMatrix, build_hit_matrix, evaluate_ruleset
from detector.metrics import BacktestMetrics
from detector.rules import RULE_IDS, RuleSet
from detector.suggest import Objective, Suggestion, objective_value, suggest_weights

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
        }


def apply_suggestion(current: RuleSet, s: Suggestion) -> RuleSet:
    points = dict(zip(RULE_IDS, s.points, strict=True))
    rs = RuleSet.from_dict({**current.to_dict(), "version": f"{current.version}+suggested"})
    rs = rs.with_points(points)
    # A rule given 0 points is kept enabled, so re-enabling it later needs only points.
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


def suggest_for_dataset(
    ds: Dataset,
    current: RuleSet,
    objective: Objective,
    review_capacity: int,
    holdout_dir: str | Path | None = None,
) -> SuggestReport:
    train = build_hit_matrix(ds, current)
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
