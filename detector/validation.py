"""Judge a suggestion on the user's own labels: a time split and customer-grouped k-fold CV.

A shop's own export has no second dataset to hold out, and a generated one would describe
synthetic data.  So the dataset is cut in two ways, the suggestion is fitted on one part and
judged on the other, with nothing of the judged part seen while fitting:

* **time split**: the first 70 % of the dataset's days fit, the last 30 % judge, as when a
  suggestion made today meets next month's payments;
* **k-fold cross-validation grouped by customer**: customers (never single payments) are dealt
  into k folds of similar payment counts; each fold is judged by points fitted on the others,
  so a customer's history never helps to judge that same customer.  The spread of the figures
  across folds says how much they can be trusted.

Everything works on the hit matrix (one engine run), so validating costs k + 1 small fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detector.rules import RuleSet
from detector.suggest import Objective, suggest_weights

FIT_SHARE = 0.7
FOLDS = 5
MIN_FRAUDS = 50
_METRICS = ("alert_rate", "precision", "recall")


def time_split(days: np.ndarray, fit_share: float = FIT_SHARE) -> np.ndarray:
    """True for payments on the first ``fit_share`` of the distinct days (at least one day on
    each side when there are two days or more)."""
    distinct = np.unique(days)
    if len(distinct) < 2:
        raise ValueError("a time split needs payments on at least two days")
    k = min(max(round(fit_share * len(distinct)), 1), len(distinct) - 1)
    return days < distinct[k]


def grouped_folds(customer_ids: np.ndarray, k: int = FOLDS) -> np.ndarray:
    """Fold number (0..k-1) of each payment; all of a customer's payments share a fold.

    Customers are dealt largest first (ties by id) to the fold with the fewest payments so
    far (ties to the lowest fold): deterministic, and folds of nearly equal size.
    """
    customers, inverse, counts = np.unique(customer_ids, return_inverse=True, return_counts=True)
    if len(customers) < k:
        raise ValueError(f"{k} folds need at least {k} customers, found {len(customers)}")
    order = np.lexsort((customers, -counts))
    sizes = [0] * k
    fold_of = np.empty(len(customers), dtype=np.int64)
    for c in order.tolist():
        f = min(range(k), key=lambda i: (sizes[i], i))
        fold_of[c] = f
        sizes[f] += int(counts[c])
    return fold_of[inverse.ravel()]


def figures(hits: np.ndarray, labels: np.ndarray, points: np.ndarray, threshold: int) -> dict:
    """Alert rate, precision and recall of ``points`` at ``threshold`` on these payments."""
    alerted = hits.astype(np.int64) @ points.astype(np.int64) >= threshold
    n, tp, positives = len(labels), int((alerted & labels).sum()), int(labels.sum())
    alerts = int(alerted.sum())
    return {
        "payments": n,
        "frauds": positives,
        "alerts": alerts,
        "alert_rate": alerts / n if n else 0.0,
        "precision": tp / alerts if alerts else 0.0,
        "recall": tp / positives if positives else 0.0,
    }


@dataclass(frozen=True)
class Judged:
    """One fit-then-judge: the current rule set and the points fitted on the fit part, both
    measured on the judged part only."""

    fit_payments: int
    fit_frauds: int
    before: dict[str, float]
    after: dict[str, float]
    points: tuple[int, ...]
    threshold: int


@dataclass(frozen=True)
class Spread:
    mean: float
    std: float
    low: float
    high: float


@dataclass(frozen=True)
class OwnValidation:
    method: str  # "split", "cv" or "split+cv"
    frauds: int
    split: Judged | None = None
    folds: tuple[Judged, ...] = ()
    spread_before: dict[str, Spread] = field(default_factory=dict)
    spread_after: dict[str, Spread] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        def judged(j: Judged) -> dict[str, Any]:
            return {
                "fit_payments": j.fit_payments,
                "fit_frauds": j.fit_frauds,
                "before": j.before,
                "after": j.after,
                "threshold": j.threshold,
            }

        def spread(s: dict[str, Spread]) -> dict[str, dict[str, float]]:
            return {k: vars(v) for k, v in s.items()}

        return {
            "method": self.method,
            "frauds": self.frauds,
            "split": judged(self.split) if self.split else None,
            "folds": [judged(f) for f in self.folds],
            "spread_before": spread(self.spread_before),
            "spread_after": spread(self.spread_after),
            "warnings": list(self.warnings),
        }


def _judge(
    hits: np.ndarray,
    labels: np.ndarray,
    fit: np.ndarray,
    current: RuleSet,
    objective: Objective,
) -> Judged:
    judge = ~fit
    s = suggest_weights(
        hits[fit],
        labels[fit],
        np.asarray(current.weights),
        objective,
        current_threshold=current.alert_threshold,
    )
    points = np.asarray(s.points, dtype=np.int64)
    return Judged(
        fit_payments=int(fit.sum()),
        fit_frauds=int(labels[fit].sum()),
        before=figures(
            hits[judge], labels[judge], np.asarray(current.weights), current.alert_threshold
        ),
        after=figures(hits[judge], labels[judge], points, s.threshold),
        points=tuple(int(p) for p in points),
        threshold=s.threshold,
    )


def _spread(runs: list[dict[str, float]]) -> dict[str, Spread]:
    out = {}
    for m in _METRICS:
        v = np.array([r[m] for r in runs], dtype=np.float64)
        out[m] = Spread(float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                        float(v.min()), float(v.max()))  # fmt: skip
    return out


def validate_own(
    hits: np.ndarray,
    labels: np.ndarray,
    days: np.ndarray,
    customer_ids: np.ndarray,
    current: RuleSet,
    objective: Objective,
    method: str = "split+cv",
    k: int = FOLDS,
) -> OwnValidation:
    """Out-of-sample figures of the suggestion procedure on this dataset's own labels."""
    labels = np.asarray(labels, dtype=bool)
    frauds = int(labels.sum())
    warnings = []
    if frauds < MIN_FRAUDS:
        warnings.append(
            f"only {frauds} labelled frauds (< {MIN_FRAUDS}): out-of-sample figures are "
            "noise, judge the suggestion with care"
        )
    split = None
    if "split" in method:
        fit = time_split(days)
        split = _judge(hits, labels, fit, current, objective)
        if split.fit_frauds == 0 or split.before["frauds"] == 0:
            warnings.append("the time split leaves no fraud on one side: its figures say little")
    folds: list[Judged] = []
    if "cv" in method:
        fold = grouped_folds(customer_ids, k)
        folds = [_judge(hits, labels, fold != f, current, objective) for f in range(k)]
    return OwnValidation(
        method=method,
        frauds=frauds,
        split=split,
        folds=tuple(folds),
        spread_before=_spread([f.before for f in folds]) if folds else {},
        spread_after=_spread([f.after for f in folds]) if folds else {},
        warnings=tuple(warnings),
    )


def out_of_fold_scores(
    masks_scores: list[np.ndarray], fold: np.ndarray, thresholds: list[int], common: int
) -> np.ndarray:
    """One score per payment from the points of the fold that judged it, shifted so that
    every fold's threshold lands on ``common``: the pooled alerts are each fold's own."""
    out = np.empty(len(fold), dtype=np.int64)
    for f, (scores, threshold) in enumerate(zip(masks_scores, thresholds, strict=True)):
        mine = fold == f
        out[mine] = scores[mine] - threshold + common
    return out
