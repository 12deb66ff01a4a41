"""Suggest rule points and an alert threshold that optimise an objective on labelled data.

The hit matrix has at most ``2**r`` distinct rows, so everything works on those patterns with
(weighted) fraud and legit counts: the cost does not grow with the number of payments beyond
one pass to aggregate them.

Method: an L2-regularised logistic regression (Newton steps) on the patterns gives each rule a
log-odds weight; negative weights are clipped to 0 (points cannot be negative) and the weights
are scaled so that the best cut for the objective lands on the usual alert threshold.  Rounded
to integers, these points and the current ones are two starting points; the better one is then
refined by coordinate search (each rule moved by ±5/±10 or set to 0, the threshold re-chosen
every time), keeping only strict improvements on the training data.  Pure and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from detector.errors import EvaluationError
from detector.rules import DEFAULT_ALERT_THRESHOLD, DEFAULT_HIGH_THRESHOLD

ObjectiveKind = Literal["recall_at_budget", "f1", "precision_at_recall"]
OBJECTIVES: tuple[ObjectiveKind, ...] = ("recall_at_budget", "f1", "precision_at_recall")

_STEPS = (-10, -5, 5, 10)
_MAX_ROUNDS = 20
# Objective values are ratios of counts; rounding makes equal alert sets compare equal.
_DECIMALS = 12


@dataclass(frozen=True)
class Objective:
    """What to optimise.

    * ``recall_at_budget``: highest recall with ``alert_rate <= budget``;
    * ``f1``: highest payment-level F1;
    * ``precision_at_recall``: highest precision with ``recall >= min_recall``.

    An unmet constraint scores ``-(size of the violation)``: below every feasible value, and
    better the closer it gets to feasible.
    """

    kind: ObjectiveKind
    budget: float | None = None
    min_recall: float | None = None

    def __post_init__(self) -> None:
        if self.kind == "recall_at_budget":
            if self.budget is None or not 0 < self.budget <= 1:
                raise EvaluationError(f"objective {self.kind}: budget in (0, 1] required")
        elif self.kind == "precision_at_recall":
            if self.min_recall is None or not 0 < self.min_recall <= 1:
                raise EvaluationError(f"objective {self.kind}: min_recall in (0, 1] required")
        elif self.kind != "f1":
            raise EvaluationError(f"objective: unknown kind {self.kind!r}")


@dataclass(frozen=True)
class Suggestion:
    points: tuple[int, ...]
    threshold: int
    objective_value_before: float
    objective_value_after: float
    train_metrics_before: dict[str, float]
    train_metrics_after: dict[str, float]


@dataclass(frozen=True, eq=False)
class _Patterns:
    rows: np.ndarray  # (m, r) int64, distinct hit rows
    pos: np.ndarray  # (m,) weighted frauds per row
    neg: np.ndarray  # (m,) weighted legit payments per row

    @property
    def total(self) -> np.ndarray:
        return self.pos + self.neg


@dataclass(frozen=True)
class _Eval:
    key: tuple[float, float]  # (objective value, tie-break), compared lexicographically
    threshold: int


def _rates(
    alerts: np.ndarray, tp: np.ndarray, positives: float, total: float
) -> dict[str, np.ndarray]:
    alerts = np.asarray(alerts, dtype=np.float64)
    tp = np.asarray(tp, dtype=np.float64)
    zero = np.zeros_like(alerts)
    precision = np.divide(tp, alerts, out=zero.copy(), where=alerts > 0)
    recall = tp / positives if positives > 0 else zero.copy()
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=zero.copy(), where=both > 0)
    alert_rate = alerts / total if total > 0 else zero.copy()
    return {"alert_rate": alert_rate, "precision": precision, "recall": recall, "f1": f1}


def _objective(rates: dict[str, np.ndarray], objective: Objective) -> tuple[np.ndarray, np.ndarray]:
    """(value, tie-break) arrays; the tie-break prefers fewer false alarms or more recall."""
    eps = 1e-12
    if objective.kind == "recall_at_budget":
        assert objective.budget is not None
        over = rates["alert_rate"] - objective.budget
        value = np.where(over <= eps, rates["recall"], -over)
        tie = rates["precision"]
    elif objective.kind == "precision_at_recall":
        assert objective.min_recall is not None
        short = objective.min_recall - rates["recall"]
        value = np.where(short <= eps, rates["precision"], -short)
        tie = rates["recall"]
    else:
        value, tie = rates["f1"], rates["recall"]
    return np.round(value, _DECIMALS), np.round(tie, _DECIMALS)


def _as_inputs(
    hits: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h = np.asarray(hits)
    if h.ndim != 2:
        raise EvaluationError(f"hits: expected a 2-d array, got shape {h.shape}")
    n = h.shape[0]
    y = np.asarray(labels)
    if y.shape != (n,):
        raise EvaluationError(f"labels: expected shape ({n},), got {y.shape}")
    if sample_weight is None:
        w = np.ones(n)
    else:
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (n,) or (w < 0).any() or not np.isfinite(w).all():
            raise EvaluationError(f"sample_weight: expected {n} finite non-negative weights")
    return h.astype(bool, copy=False), y.astype(bool, copy=False), w


def _patterns(h: np.ndarray, y: np.ndarray, w: np.ndarray) -> _Patterns:
    r = h.shape[1]
    if r <= 62:
        # Each hit row as one int64 code: a 1-d unique is much faster than unique over rows.
        codes = h.astype(np.int64) @ (np.int64(1) << np.arange(r, dtype=np.int64))
        uniq, inverse = np.unique(codes, return_inverse=True)
        rows = (uniq[:, None] >> np.arange(r, dtype=np.int64)) & 1
    else:
        rows, inverse = np.unique(h.astype(np.int64), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    pos = np.bincount(inverse, weights=w * y, minlength=rows.shape[0])
    neg = np.bincount(inverse, weights=w * ~y, minlength=rows.shape[0])
    return _Patterns(rows=rows.astype(np.int64), pos=pos, neg=neg)


def _best_cut(
    scores: np.ndarray, pats: _Patterns, objective: Objective, target: int, max_threshold: int
) -> _Eval:
    """Best integer threshold for fixed integer pattern scores.

    Candidates are the distinct scores (alert on ``score >= s``) plus "no alert"; among the
    thresholds giving the same alerts, the one closest to ``target`` is taken so points keep
    their usual scale.  Thresholds stay within ``[1, max_threshold]`` (the rule-set bounds).
    """
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    ends = np.append(np.flatnonzero(s[1:] != s[:-1]), s.size - 1)
    g = s[ends].astype(np.float64)
    # Candidate k alerts the k+1 highest score groups: thresholds in (g[k+1], g[k]].  The last
    # candidate alerts nothing: thresholds above g[0].
    upper = np.append(g, np.inf)
    lower = np.concatenate([g[1:], [-np.inf], g[:1]])
    alerts = np.append(np.cumsum(pats.total[order])[ends], 0.0)
    tp = np.append(np.cumsum(pats.pos[order])[ends], 0.0)
    lo = np.maximum(lower + 1, 1)
    hi = np.minimum(upper, max_threshold)
    feasible = lo <= hi
    rates = _rates(alerts, tp, float(pats.pos.sum()), float(pats.total.sum()))
    value, tie = _objective(rates, objective)
    value = np.where(feasible, value, -np.inf)
    best = int(np.lexsort((tie, value))[-1])
    threshold = int(np.clip(target, lo[best], hi[best]))
    return _Eval((float(value[best]), float(tie[best])), threshold)


def _counts_at(
    scores: np.ndarray, pats: _Patterns, threshold: float
) -> tuple[float, float, float, float]:
    alerted = scores >= threshold
    return (
        float(pats.total[alerted].sum()),
        float(pats.pos[alerted].sum()),
        float(pats.pos.sum()),
        float(pats.total.sum()),
    )


def _metrics(alerts: float, tp: float, positives: float, total: float) -> dict[str, float]:
    rates = _rates(np.array([alerts]), np.array([tp]), positives, total)
    return {k: float(v[0]) for k, v in rates.items()}


def _value(metrics: dict[str, float], objective: Objective) -> float:
    return float(_objective({k: np.array([v]) for k, v in metrics.items()}, objective)[0][0])


def _logistic(pats: _Patterns, l2: float, iterations: int = 100) -> np.ndarray:
    """Coefficients (intercept first) of an L2-regularised binomial logistic regression.

    Newton steps with backtracking: plain Newton oscillates on rare-event data like ours.
    """
    x = np.hstack([np.ones((pats.rows.shape[0], 1)), pats.rows.astype(np.float64)])
    y, n = pats.pos, pats.total
    # A whisper of penalty on the intercept keeps it finite when a pattern is all one class.
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 1e-6

    def loss(beta: np.ndarray) -> float:
        eta = x @ beta
        return float((n * np.logaddexp(0.0, eta) - y * eta).sum() + 0.5 * penalty @ beta**2)

    rate = np.clip(y.sum() / n.sum(), 1e-6, 1 - 1e-6)
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(rate / (1 - rate))
    current = loss(beta)
    for _ in range(iterations):
        p = np.exp(-np.logaddexp(0.0, -(x @ beta)))
        grad = x.T @ (n * p - y) + penalty * beta
        hess = (x * (n * p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while size > 1e-10:
            trial = beta - size * step
            trial_loss = loss(trial)
            if trial_loss <= current:
                break
            size /= 2
        else:
            break
        beta, previous, current = trial, current, trial_loss
        if previous - current < 1e-10 * max(1.0, abs(current)):
            break
    return beta


def _points_from_logistic(
    beta: np.ndarray,
    pats: _Patterns,
    objective: Objective,
    target: int,
    max_points: int,
) -> np.ndarray | None:
    coef = np.clip(beta[1:], 0.0, None)
    if not (coef > 0).any():
        return None
    z = pats.rows @ coef
    # Best cut on the continuous log-odds scores, then scale so that cut maps to the target.
    order = np.argsort(-z, kind="stable")
    zs = z[order]
    ends = np.append(np.flatnonzero(zs[1:] != zs[:-1]), zs.size - 1)
    rates = _rates(
        np.cumsum(pats.total[order])[ends],
        np.cumsum(pats.pos[order])[ends],
        float(pats.pos.sum()),
        float(pats.total.sum()),
    )
    value, tie = _objective(rates, objective)
    cut = float(zs[ends][np.lexsort((tie, value))[-1]])
    scale = target / cut if cut > 0 else target / float(coef.max())
    return np.clip(np.rint(coef * scale), 0, max_points).astype(np.int64)


def suggest_weights(
    hits: np.ndarray,
    labels: np.ndarray,
    current_points: np.ndarray,
    objective: Objective,
    *,
    max_points: int = 100,
    sample_weight: np.ndarray | None = None,
    seed: int = 0,
    current_threshold: int = DEFAULT_ALERT_THRESHOLD,
    max_threshold: int = DEFAULT_HIGH_THRESHOLD,
    l2: float = 1.0,
) -> Suggestion:
    """Integer points per rule (0 disables it) and a threshold optimising ``objective``.

    ``objective_value_before`` is the current points at ``current_threshold``;
    ``objective_value_after`` is never lower, because the current points (with the threshold
    re-chosen) are one of the starting points.  ``seed`` only orders the rules visited in each
    round of the coordinate search.  The threshold stays in ``[1, max_threshold]``, the
    bounds a rule set accepts.
    """
    h, y, w = _as_inputs(hits, labels, sample_weight)
    current = np.asarray(current_points, dtype=np.int64)
    if current.shape != (h.shape[1],) or (current < 0).any():
        raise EvaluationError(
            f"current_points: expected {h.shape[1]} non-negative integers, got {current.tolist()}"
        )
    if not 1 <= current_threshold <= max_threshold:
        raise EvaluationError(
            f"thresholds: need 1 <= current_threshold ({current_threshold}) "
            f"<= max_threshold ({max_threshold})"
        )
    if w.sum() <= 0:
        raise EvaluationError("sample_weight: total weight is 0")
    pats = _patterns(h, y, w)
    target = current_threshold

    def evaluate(points: np.ndarray) -> _Eval:
        return _best_cut(pats.rows @ points, pats, objective, target, max_threshold)

    before_counts = _counts_at(pats.rows @ current, pats, current_threshold)
    before_metrics = _metrics(*before_counts)
    before_value = _value(before_metrics, objective)

    starts = [current]
    has_both_classes = pats.pos.sum() > 0 and pats.neg.sum() > 0
    if has_both_classes:
        fitted = _points_from_logistic(_logistic(pats, l2), pats, objective, target, max_points)
        if fitted is not None:
            starts.insert(0, fitted)
    scored = [(evaluate(p), p) for p in starts]
    # Ties go to the fitted start (listed first): max keeps the first maximal element.
    best, points = max(scored, key=lambda item: item[0].key)

    rng = np.random.default_rng(seed)
    for _ in range(_MAX_ROUNDS):
        improved = False
        for j in rng.permutation(h.shape[1]):
            value = int(points[j])
            options = sorted({0, *(min(max(value + d, 0), max_points) for d in _STEPS)} - {value})
            for option in options:
                trial = points.copy()
                trial[j] = option
                result = evaluate(trial)
                if result.key > best.key:
                    best, points, improved = result, trial, True
        if not improved:
            break

    after_metrics = _metrics(*_counts_at(pats.rows @ points, pats, best.threshold))
    return Suggestion(
        points=tuple(int(p) for p in points),
        threshold=best.threshold,
        objective_value_before=before_value,
        objective_value_after=best.key[0],
        train_metrics_before=before_metrics,
        train_metrics_after=after_metrics,
    )


def objective_value(
    scores: np.ndarray,
    labels: np.ndarray,
    threshold: float,
    objective: Objective,
    sample_weight: np.ndarray | None = None,
) -> float:
    """The objective for alerts ``scores >= threshold`` (see `Objective` for the scale)."""
    s = np.asarray(scores)
    _, y, w = _as_inputs(s.reshape(-1, 1), labels, sample_weight)
    alerted = s >= threshold
    metrics = _metrics(
        float(w[alerted].sum()), float(w[alerted & y].sum()), float(w[y].sum()), float(w.sum())
    )
    return _value(metrics, objective)
