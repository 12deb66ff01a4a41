"""Evaluation maths for backtests: scores and labels in, a report out.

Pure numpy over whole arrays (no loop over payments; loops over rules, days and scenarios only),
so one million payments evaluate in a fraction of a second.  No I/O.

Conventions used throughout:

* a payment alerts when ``score >= threshold``; severity is HIGH when ``score >= high_threshold``
  and MEDIUM for the other alerts (as `detector.rules.RuleSet.severity`);
* a ratio whose denominator is zero is reported as ``0.0`` (precision with no alerts, recall with
  no frauds, lift with no frauds...), never NaN, so reports stay JSON-valid and sortable;
* ties in score are broken by input order wherever an order matters (precision@k).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from detector.errors import EvaluationError
from detector.rules import DEFAULT_HIGH_THRESHOLD

UNKNOWN_SCENARIO = "(none)"


@dataclass(frozen=True, eq=False)
class EvalInput:
    scores: np.ndarray  # int/float (n,)
    labels: np.ndarray  # bool (n,)
    incident_ids: np.ndarray  # str (n,); "" for legit; "" on a fraud = its own incident
    scenarios: np.ndarray  # str (n,); "" for legit
    days: np.ndarray  # datetime64[D] (n,), the payment's UTC day
    amounts: np.ndarray  # float (n,)
    hits: np.ndarray  # bool (n, r)
    rule_ids: tuple[str, ...]  # length r


@dataclass(frozen=True)
class DayReview:
    day: str  # ISO date
    payments: int
    alerts: int
    reviewed: int
    frauds_reviewed: int
    precision: float  # frauds_reviewed / reviewed; 0.0 on a day without alerts
    beyond_capacity: int


@dataclass(frozen=True)
class PrecisionAtK:
    capacity: int
    days: tuple[DayReview, ...]
    mean_precision: float  # mean over days with at least one alert
    days_with_alerts: int
    reviewed: int
    frauds_reviewed: int
    pooled_precision: float  # frauds_reviewed / reviewed over all days
    alerts_beyond_capacity: int


@dataclass(frozen=True)
class SeverityStats:
    severity: str
    min_score: float
    alerts: int
    frauds: int
    precision: float


@dataclass(frozen=True)
class RuleStats:
    rule_id: str
    hits: int
    hit_rate: float
    frauds_hit: int
    precision: float
    lift: float
    recall: float


@dataclass(frozen=True)
class ScenarioRecall:
    scenario: str
    payments: int
    payments_caught: int
    recall: float
    incidents: int
    incidents_caught: int
    incident_recall: float


@dataclass(frozen=True)
class ThresholdPoint:
    threshold: int
    alerts: int
    alert_rate: float
    tp: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class BacktestMetrics:
    threshold: float
    high_threshold: float
    payments: int
    frauds: int
    fraud_rate: float
    alerts: int
    alert_rate: float
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    incidents: int
    incidents_caught: int
    incident_recall: float
    incident_precision: float
    incident_f1: float
    average_precision: float
    precision_at_k: PrecisionAtK
    fraud_amount_total: float
    fraud_amount_caught: float
    fraud_amount_share_caught: float
    severity: tuple[SeverityStats, ...]
    rules: tuple[RuleStats, ...]
    scenarios: tuple[ScenarioRecall, ...]
    threshold_curve: tuple[ThresholdPoint, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts, lists, str, int and float only: ready for `json.dumps`."""
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class UnlabelledSummary:
    threshold: float
    high_threshold: float
    payments: int
    alerts: int
    alert_rate: float
    alerts_medium: int
    alerts_high: int
    rule_ids: tuple[str, ...]
    rule_hits: tuple[int, ...]
    rule_hit_rates: tuple[float, ...]
    rule_hits_in_alerts: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True, eq=False)
class PRCurve:
    """One operating point per distinct score, highest score first (recall non-decreasing)."""

    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray


@dataclass(frozen=True, eq=False)
class ThresholdCurve:
    thresholds: np.ndarray  # int64
    alerts: np.ndarray  # int64
    tp: np.ndarray  # int64
    alert_rate: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray


# ---------------------------------------------------------------------------------------------
# Small array helpers


def safe_ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def _ratios(num: np.ndarray, den: np.ndarray | float) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.broadcast_to(np.asarray(den, dtype=np.float64), num.shape)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _as_scores(scores: np.ndarray) -> np.ndarray:
    s = np.asarray(scores)
    if s.ndim != 1:
        raise EvaluationError(f"scores: expected a 1-d array, got shape {s.shape}")
    # Unsigned or bool scores would wrap when negated for the descending sort.
    if s.dtype.kind in "bu":
        s = s.astype(np.int64)
    elif s.dtype.kind not in "if":
        raise EvaluationError(f"scores: expected numbers, got dtype {s.dtype}")
    if s.dtype.kind == "f" and not np.isfinite(s).all():
        raise EvaluationError("scores: NaN or infinite values")
    return s


def _as_labels(labels: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (n,):
        raise EvaluationError(f"labels: expected shape ({n},), got {y.shape}")
    return y.astype(bool, copy=False)


def _descending(scores: np.ndarray) -> np.ndarray:
    # Stable, so equal scores keep input order: the documented tie-break for precision@k.
    return np.argsort(-scores, kind="stable")


def _group_ends(sorted_scores: np.ndarray) -> np.ndarray:
    """Index of the last element of each run of equal scores in a sorted array."""
    if sorted_scores.size == 0:
        return np.zeros(0, dtype=np.int64)
    return np.append(
        np.flatnonzero(sorted_scores[1:] != sorted_scores[:-1]), sorted_scores.size - 1
    )


# ---------------------------------------------------------------------------------------------
# Curves


def _pr_from_sorted(s_desc: np.ndarray, y_desc: np.ndarray) -> PRCurve:
    ends = _group_ends(s_desc)
    tp = np.cumsum(y_desc, dtype=np.int64)[ends]
    alerts = ends + 1
    positives = int(tp[-1]) if tp.size else 0
    return PRCurve(
        thresholds=s_desc[ends], precision=_ratios(tp, alerts), recall=_ratios(tp, positives)
    )


def pr_curve(scores: np.ndarray, labels: np.ndarray) -> PRCurve:
    """Precision and recall when alerting on ``score >= t`` for every distinct score ``t``.

    Equal scores are one operating point (an analyst cannot alert half of a tie).
    """
    s = _as_scores(scores)
    y = _as_labels(labels, s.size)
    order = _descending(s)
    return _pr_from_sorted(s[order], y[order])


def _ap(curve: PRCurve) -> float:
    if curve.recall.size == 0 or curve.recall[-1] == 0:
        return 0.0
    return float(np.sum(np.diff(curve.recall, prepend=0.0) * curve.precision))


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """AUC-PR as sklearn's ``average_precision_score``: sum over distinct thresholds of
    ``(R_k - R_{k-1}) * P_k``; 0.0 when there is no fraud."""
    return _ap(pr_curve(scores, labels))


def _curve_from_sorted(
    s_desc: np.ndarray, y_desc: np.ndarray, thresholds: np.ndarray | None
) -> ThresholdCurve:
    n = s_desc.size
    if thresholds is None:
        top = math.ceil(float(s_desc[0])) if n else -1
        bottom = min(0, math.floor(float(s_desc[-1]))) if n else 0
        thresholds = np.arange(bottom, top + 1, dtype=np.int64)
    t = np.asarray(thresholds)
    # Reversed views of the descending sort are ascending: two binary searches per threshold.
    ascending = s_desc[::-1]
    fraud_ascending = s_desc[y_desc][::-1]
    positives = fraud_ascending.size
    alerts = n - np.searchsorted(ascending, t, side="left")
    tp = positives - np.searchsorted(fraud_ascending, t, side="left")
    precision = _ratios(tp, alerts)
    recall = _ratios(tp, positives)
    f1 = _ratios(2 * precision * recall, precision + recall)
    return ThresholdCurve(
        thresholds=t,
        alerts=alerts.astype(np.int64),
        tp=tp.astype(np.int64),
        alert_rate=_ratios(alerts, n),
        precision=precision,
        recall=recall,
        f1=f1,
    )


def threshold_curve(
    scores: np.ndarray, labels: np.ndarray, thresholds: np.ndarray | None = None
) -> ThresholdCurve:
    """Alerts, precision and recall for each threshold (default: every integer from 0 to the
    highest score).  O(n log n + T log n)."""
    s = _as_scores(scores)
    y = _as_labels(labels, s.size)
    order = _descending(s)
    return _curve_from_sorted(s[order], y[order], thresholds)


# ---------------------------------------------------------------------------------------------
# Evaluation


def _validate(inp: EvalInput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = _as_scores(inp.scores)
    n = s.size
    y = _as_labels(inp.labels, n)
    for name in ("incident_ids", "scenarios", "days", "amounts"):
        shape = np.shape(getattr(inp, name))
        if shape != (n,):
            raise EvaluationError(f"{name}: expected shape ({n},), got {shape}")
    h = np.asarray(inp.hits)
    if h.shape != (n, len(inp.rule_ids)):
        raise EvaluationError(
            f"hits: expected shape ({n}, {len(inp.rule_ids)}) for {len(inp.rule_ids)} rule ids, "
            f"got {h.shape}"
        )
    return s, y, h.astype(bool, copy=False)


def _incident_codes(incident_ids: np.ndarray) -> np.ndarray:
    """Dense incident numbers for fraud payments; an empty id is an incident of its own."""
    ids = np.asarray(incident_ids).astype(str)
    _, codes = np.unique(ids, return_inverse=True)
    missing = ids == ""
    if missing.any():
        codes = codes.astype(np.int64)
        codes[missing] = codes.max(initial=0) + 1 + np.arange(int(missing.sum()))
        _, codes = np.unique(codes, return_inverse=True)
    return codes.astype(np.int64)


def _caught_incidents(codes: np.ndarray, alerted: np.ndarray) -> tuple[int, int]:
    if codes.size == 0:
        return 0, 0
    present = np.bincount(codes) > 0
    caught = np.bincount(codes, weights=alerted.astype(np.float64)) > 0
    return int(present.sum()), int(caught.sum())


def _precision_at_k(
    order: np.ndarray, alerted: np.ndarray, y: np.ndarray, days: np.ndarray, k: int
) -> PrecisionAtK:
    if order.size == 0:
        return PrecisionAtK(k, (), 0.0, 0, 0, 0, 0.0, 0)
    d = np.asarray(days).astype("datetime64[D]")
    first = d.min()
    day_idx = (d - first).astype(np.int64)
    span = int(day_idx.max()) + 1
    payments = np.bincount(day_idx, minlength=span)
    # Alerts already sorted by score (input order on ties); a stable sort by day keeps that
    # order inside each day, so the first k of each day are the ones reviewed.
    alert_order = order[alerted[order]]
    alert_days = day_idx[alert_order]
    by_day = np.argsort(alert_days, kind="stable")
    ranked, ranked_days = alert_order[by_day], alert_days[by_day]
    alerts = np.bincount(ranked_days, minlength=span)
    starts = np.cumsum(alerts) - alerts
    reviewed_mask = (np.arange(ranked.size) - starts[ranked_days]) < k
    reviewed = np.bincount(ranked_days[reviewed_mask], minlength=span)
    frauds = np.bincount(ranked_days[reviewed_mask & y[ranked]], minlength=span)
    precision = _ratios(frauds, reviewed)
    beyond = np.maximum(alerts - k, 0)
    rows = tuple(
        DayReview(
            day=str(first + np.timedelta64(int(i), "D")),
            payments=int(payments[i]),
            alerts=int(alerts[i]),
            reviewed=int(reviewed[i]),
            frauds_reviewed=int(frauds[i]),
            precision=float(precision[i]),
            beyond_capacity=int(beyond[i]),
        )
        for i in np.flatnonzero(payments)
    )
    with_alerts = alerts > 0
    return PrecisionAtK(
        capacity=k,
        days=rows,
        mean_precision=float(precision[with_alerts].mean()) if with_alerts.any() else 0.0,
        days_with_alerts=int(with_alerts.sum()),
        reviewed=int(reviewed.sum()),
        frauds_reviewed=int(frauds.sum()),
        pooled_precision=safe_ratio(frauds.sum(), reviewed.sum()),
        alerts_beyond_capacity=int(beyond.sum()),
    )


def _rule_stats(h: np.ndarray, y: np.ndarray, rule_ids: tuple[str, ...]) -> tuple[RuleStats, ...]:
    n, frauds = y.size, int(y.sum())
    hits = np.count_nonzero(h, axis=0)
    fraud_hits = np.count_nonzero(h[y], axis=0)
    precision = _ratios(fraud_hits, hits)
    lift = _ratios(precision, safe_ratio(frauds, n))
    return tuple(
        RuleStats(
            rule_id=rid,
            hits=int(hits[j]),
            hit_rate=safe_ratio(hits[j], n),
            frauds_hit=int(fraud_hits[j]),
            precision=float(precision[j]),
            lift=float(lift[j]),
            recall=safe_ratio(fraud_hits[j], frauds),
        )
        for j, rid in enumerate(rule_ids)
    )


def _scenario_recall(
    scenarios: np.ndarray, codes: np.ndarray, caught: np.ndarray
) -> tuple[ScenarioRecall, ...]:
    names = np.asarray(scenarios).astype(str)
    names = np.where(names == "", UNKNOWN_SCENARIO, names)
    out = []
    for name in np.unique(names):
        mask = names == name
        payments, hit = int(mask.sum()), int(caught[mask].sum())
        incidents = np.unique(codes[mask]).size
        incidents_caught = np.unique(codes[mask & caught]).size
        out.append(
            ScenarioRecall(
                scenario=str(name),
                payments=payments,
                payments_caught=hit,
                recall=safe_ratio(hit, payments),
                incidents=incidents,
                incidents_caught=incidents_caught,
                incident_recall=safe_ratio(incidents_caught, incidents),
            )
        )
    return tuple(out)


def evaluate(
    inp: EvalInput,
    threshold: float,
    review_capacity: int = 50,
    *,
    high_threshold: float = DEFAULT_HIGH_THRESHOLD,
) -> BacktestMetrics:
    """Every backtest metric for one threshold on a labelled dataset.

    Payment level counts each payment once.  Incident level: an incident (a fraud
    ``incident_id``; a fraud payment with an empty id is an incident of its own) is *caught*
    when any of its payments alerts.  Incident precision is the share of alerts that belong to
    a fraud incident; since every fraud payment belongs to one, it equals payment precision
    numerically and is kept as its own field so incident F1 (incident precision with incident
    recall) reads from one place.  Precision@k: each day the analyst reviews the ``k``
    highest-scored alerts (fewer when there are fewer alerts; ties by input order).
    """
    if review_capacity < 0:
        raise EvaluationError(f"review_capacity: must be >= 0, got {review_capacity}")
    s, y, h = _validate(inp)
    n = s.size
    alerted = s >= threshold
    order = _descending(s)
    s_desc, y_desc = s[order], y[order]

    frauds = int(y.sum())
    alerts = int(alerted.sum())
    tp = int(np.count_nonzero(alerted & y))
    fp, fn = alerts - tp, frauds - tp
    precision, recall = safe_ratio(tp, alerts), safe_ratio(tp, frauds)

    fraud_idx = np.flatnonzero(y)
    caught = alerted[fraud_idx]
    codes = _incident_codes(np.asarray(inp.incident_ids)[fraud_idx])
    incidents, incidents_caught = _caught_incidents(codes, caught)
    incident_recall = safe_ratio(incidents_caught, incidents)

    amounts = np.asarray(inp.amounts, dtype=np.float64)[fraud_idx]
    amount_total, amount_caught = float(amounts.sum()), float(amounts[caught].sum())

    high = s >= high_threshold
    severity = []
    for name, mask, floor in (
        ("MEDIUM", alerted & ~high, threshold),
        ("HIGH", alerted & high, max(threshold, high_threshold)),
    ):
        count, hit = int(mask.sum()), int(np.count_nonzero(mask & y))
        severity.append(SeverityStats(name, float(floor), count, hit, safe_ratio(hit, count)))

    curve = _curve_from_sorted(s_desc, y_desc, None)
    return BacktestMetrics(
        threshold=float(threshold),
        high_threshold=float(high_threshold),
        payments=n,
        frauds=frauds,
        fraud_rate=safe_ratio(frauds, n),
        alerts=alerts,
        alert_rate=safe_ratio(alerts, n),
        tp=tp,
        fp=fp,
        fn=fn,
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        incidents=incidents,
        incidents_caught=incidents_caught,
        incident_recall=incident_recall,
        incident_precision=precision,
        incident_f1=_f1(precision, incident_recall),
        average_precision=_ap(_pr_from_sorted(s_desc, y_desc)),
        precision_at_k=_precision_at_k(order, alerted, y, inp.days, review_capacity),
        fraud_amount_total=amount_total,
        fraud_amount_caught=amount_caught,
        fraud_amount_share_caught=safe_ratio(amount_caught, amount_total),
        severity=tuple(severity),
        rules=_rule_stats(h, y, tuple(inp.rule_ids)),
        scenarios=_scenario_recall(np.asarray(inp.scenarios)[fraud_idx], codes, caught),
        threshold_curve=tuple(
            ThresholdPoint(
                threshold=int(curve.thresholds[i]),
                alerts=int(curve.alerts[i]),
                alert_rate=float(curve.alert_rate[i]),
                tp=int(curve.tp[i]),
                precision=float(curve.precision[i]),
                recall=float(curve.recall[i]),
                f1=float(curve.f1[i]),
            )
            for i in range(curve.thresholds.size)
        ),
    )


def unlabelled_summary(
    scores: np.ndarray,
    hits: np.ndarray,
    rule_ids: tuple[str, ...],
    threshold: float,
    *,
    high_threshold: float = DEFAULT_HIGH_THRESHOLD,
) -> UnlabelledSummary:
    """What can be said without labels: volumes, alert rate, severity split, rule hits."""
    s = _as_scores(scores)
    n = s.size
    h = np.asarray(hits)
    if h.shape != (n, len(rule_ids)):
        raise EvaluationError(f"hits: expected shape ({n}, {len(rule_ids)}), got {h.shape}")
    h = h.astype(bool, copy=False)
    alerted = s >= threshold
    alerts = int(alerted.sum())
    alerts_high = int(np.count_nonzero(alerted & (s >= high_threshold)))
    rule_hits = np.count_nonzero(h, axis=0)
    return UnlabelledSummary(
        threshold=float(threshold),
        high_threshold=float(high_threshold),
        payments=n,
        alerts=alerts,
        alert_rate=safe_ratio(alerts, n),
        alerts_medium=alerts - alerts_high,
        alerts_high=alerts_high,
        rule_ids=tuple(rule_ids),
        rule_hits=tuple(int(v) for v in rule_hits),
        rule_hit_rates=tuple(safe_ratio(v, n) for v in rule_hits),
        rule_hits_in_alerts=tuple(int(v) for v in np.count_nonzero(h[alerted], axis=0)),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
