"""Evaluation maths: a hand-computed example, edge cases and brute-force cross-checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detector.errors import EvaluationError
from detector.evaluation import (
    DayReview,
    EvalInput,
    ScenarioRecall,
    average_precision,
    evaluate,
    pr_curve,
    threshold_curve,
    unlabelled_summary,
)
from detector.report import render_text

# The hand example: 3 rules worth 40 / 30 / 25 points, threshold 60, HIGH from 85,
# review capacity 2 per day, 11 payments over 2 days.
#
#  id  day  rules     score  fraud  incident  scenario      amount  alert
#  p0  D1   R1 R2      70    yes    I1        ato            100    yes
#  p1  D1   R2         30    yes    I1        ato             50
#  p2  D1   R1 R3      65                                     20    yes
#  p3  D1   -           0                                     10
#  p4  D1   R1 R2 R3   95    yes    I2        card_testing     5    yes (HIGH)
#  p5  D2   R1 R2      70                                     30    yes
#  p6  D2   R3         25    yes    I3        card_testing   200
#  p7  D2   R2         30    yes    I3        card_testing    40
#  p8  D2   R2 R3      55                                     15
#  p9  D2   R1 R3      65    yes    ""        card_testing    60    yes
#  p10 D2   -           0    yes    ""        ato             70
RULES = ("R1", "R2", "R3")
WEIGHTS = np.array([40, 30, 25])
HITS = np.array(
    [
        [1, 1, 0],
        [0, 1, 0],
        [1, 0, 1],
        [0, 0, 0],
        [1, 1, 1],
        [1, 1, 0],
        [0, 0, 1],
        [0, 1, 0],
        [0, 1, 1],
        [1, 0, 1],
        [0, 0, 0],
    ],
    dtype=bool,
)
LABELS = np.array([1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 1], dtype=bool)
INCIDENTS = np.array(["I1", "I1", "", "", "I2", "", "I3", "I3", "", "", ""], dtype=object)
CT = "card_testing"
SCENARIOS = np.array(["ato", "ato", "", "", CT, "", CT, CT, "", CT, "ato"], dtype=object)
DAYS = np.array(["2025-11-03"] * 5 + ["2025-11-04"] * 6, dtype="datetime64[D]")
AMOUNTS = np.array([100, 50, 20, 10, 5, 30, 200, 40, 15, 60, 70], dtype=float)


def hand_input() -> EvalInput:
    scores = (HITS.astype(np.int32) @ WEIGHTS).astype(np.int32)
    return EvalInput(scores, LABELS, INCIDENTS, SCENARIOS, DAYS, AMOUNTS, HITS, RULES)


@pytest.fixture
def m():
    return evaluate(hand_input(), threshold=60, review_capacity=2)


def test_scores_of_the_example_are_as_tabled() -> None:
    assert hand_input().scores.tolist() == [70, 30, 65, 0, 95, 70, 25, 30, 55, 65, 0]


def test_payment_level(m) -> None:
    # Alerts p0 p2 p4 p5 p9 -> 5 of 11; TP p0 p4 p9; FP p2 p5; FN p1 p6 p7 p10.
    assert (m.payments, m.frauds, m.alerts) == (11, 7, 5)
    assert m.alert_rate == pytest.approx(5 / 11)
    assert m.fraud_rate == pytest.approx(7 / 11)
    assert (m.tp, m.fp, m.fn) == (3, 2, 4)
    assert m.precision == pytest.approx(3 / 5)
    assert m.recall == pytest.approx(3 / 7)
    # F1 = 2TP / (2TP + FP + FN) = 6 / 12.
    assert m.f1 == pytest.approx(0.5)


def test_incident_level(m) -> None:
    # I1 caught by p0, I2 by p4, I3 (25, 30) missed, p9 alone caught, p10 alone missed.
    # Two empty-id frauds are two incidents, not one: 5 incidents.
    assert (m.incidents, m.incidents_caught) == (5, 3)
    assert m.incident_recall == pytest.approx(3 / 5)
    # Share of the 5 alerts on fraud payments (p0 p4 p9).
    assert m.incident_precision == pytest.approx(3 / 5)
    assert m.incident_f1 == pytest.approx(3 / 5)


def test_average_precision_groups_ties(m) -> None:
    # Descending score groups (cumulated TP / alerts):
    #   95: 1/1 R=1/7 | 70 (F,L): 2/3 R=2/7 | 65 (L,F): 3/5 R=3/7 | 55: 3/6 R=3/7 (dR=0)
    #   30 (F,F): 5/8 R=5/7 | 25: 6/9 R=6/7 | 0 (L,F): 7/11 R=1
    # AP = 1/7 * (1 + 2/3 + 3/5 + 2 * 5/8 + 2/3 + 7/11) = 3181 / 4620.
    assert m.average_precision == pytest.approx(3181 / 4620)
    # Ungrouped, p0 before p5 would give P=1 at R=2/7 and a higher value.
    assert m.average_precision < 0.69


def test_precision_at_k_per_day(m) -> None:
    pk = m.precision_at_k
    # D1 alerts 95 (F), 70 (F), 65 (L): review 95 and 70 -> 2/2; one alert left over.
    # D2 alerts 70 (L), 65 (F): both reviewed -> 1/2.
    # Fields: day, payments, alerts, reviewed, frauds_reviewed, precision, beyond_capacity.
    assert pk.days == (
        DayReview("2025-11-03", 5, 3, 2, 2, 1.0, 1),
        DayReview("2025-11-04", 6, 2, 2, 1, 0.5, 0),
    )
    assert pk.mean_precision == pytest.approx(0.75)
    assert (pk.days_with_alerts, pk.reviewed, pk.frauds_reviewed) == (2, 4, 3)
    assert pk.pooled_precision == pytest.approx(0.75)
    assert pk.alerts_beyond_capacity == 1


def test_amounts(m) -> None:
    # Frauds: 100 + 50 + 5 + 200 + 40 + 60 + 70 = 525; caught p0 p4 p9: 100 + 5 + 60 = 165.
    assert m.fraud_amount_total == pytest.approx(525.0)
    assert m.fraud_amount_caught == pytest.approx(165.0)
    assert m.fraud_amount_share_caught == pytest.approx(11 / 35)


def test_severity_split(m) -> None:
    medium, high = m.severity
    # HIGH: p4 (95, fraud).  MEDIUM: p0 (F), p2, p5, p9 (F).
    assert (high.severity, high.alerts, high.frauds, high.precision) == ("HIGH", 1, 1, 1.0)
    assert (medium.severity, medium.alerts, medium.frauds) == ("MEDIUM", 4, 2)
    assert medium.precision == pytest.approx(0.5)


def test_per_rule(m) -> None:
    r1, r2, r3 = m.rules
    base = 7 / 11
    # R1 hits p0 p2 p4 p5 p9, frauds p0 p4 p9.
    assert (r1.rule_id, r1.hits, r1.frauds_hit) == ("R1", 5, 3)
    assert r1.hit_rate == pytest.approx(5 / 11)
    assert r1.precision == pytest.approx(3 / 5)
    assert r1.lift == pytest.approx((3 / 5) / base)  # 33/35
    assert r1.recall == pytest.approx(3 / 7)
    # R2 hits p0 p1 p4 p5 p7 p8, frauds p0 p1 p4 p7.
    assert (r2.hits, r2.frauds_hit) == (6, 4)
    assert r2.lift == pytest.approx(22 / 21)
    assert r2.recall == pytest.approx(4 / 7)
    # R3 hits p2 p4 p6 p8 p9, frauds p4 p6 p9.
    assert (r3.hits, r3.frauds_hit) == (5, 3)
    assert r3.lift == pytest.approx(33 / 35)


def test_scenario_recall(m) -> None:
    ato, card = m.scenarios
    # ato: p0 p1 p10 -> caught p0; incidents I1 (caught), p10 alone (missed).
    assert (ato.scenario, ato.payments, ato.payments_caught) == ("ato", 3, 1)
    assert ato.recall == pytest.approx(1 / 3)
    assert (ato.incidents, ato.incidents_caught, ato.incident_recall) == (2, 1, 0.5)
    # card_testing: p4 p6 p7 p9 -> caught p4 p9; incidents I2 (caught), I3 (missed), p9 (caught).
    assert card == ScenarioRecall("card_testing", 4, 2, 0.5, 3, 2, pytest.approx(2 / 3))


def test_threshold_curve_points(m) -> None:
    curve = {p.threshold: p for p in m.threshold_curve}
    assert sorted(curve) == list(range(96))  # 0 .. highest score 95
    at = curve[0]
    assert (at.alerts, at.tp) == (11, 7)
    assert (at.precision, at.recall) == (pytest.approx(7 / 11), 1.0)
    at = curve[26]  # scores >= 26: 95 70 70 65 65 55 30 30, frauds p4 p0 p9 p1 p7
    assert (at.alerts, at.tp) == (8, 5)
    assert at.alert_rate == pytest.approx(8 / 11)
    assert at.recall == pytest.approx(5 / 7)
    at = curve[60]
    assert (at.alerts, at.tp, at.precision) == (5, 3, pytest.approx(0.6))
    assert at.f1 == pytest.approx(0.5)
    at = curve[71]
    assert (at.alerts, at.tp, at.precision) == (1, 1, 1.0)
    assert at.recall == pytest.approx(1 / 7)


def test_pr_curve_one_point_per_distinct_score() -> None:
    curve = pr_curve(hand_input().scores, LABELS)
    assert curve.thresholds.tolist() == [95, 70, 65, 55, 30, 25, 0]
    assert curve.precision == pytest.approx([1, 2 / 3, 3 / 5, 1 / 2, 5 / 8, 2 / 3, 7 / 11])
    assert curve.recall == pytest.approx([1 / 7, 2 / 7, 3 / 7, 3 / 7, 5 / 7, 6 / 7, 1])


def test_to_dict_is_json_and_complete(m) -> None:
    d = json.loads(json.dumps(m.to_dict()))
    assert d["precision"] == pytest.approx(0.6)
    assert d["precision_at_k"]["days"][0]["day"] == "2025-11-03"
    assert [r["rule_id"] for r in d["rules"]] == list(RULES)
    assert len(d["threshold_curve"]) == 96


def test_render_text_en_and_fr(m) -> None:
    en = render_text(m)
    assert "Precision" in en and "60.0%" in en and "card_testing" in en
    assert "2025-11-04" in en and "Alerts beyond capacity: 1" in en
    fr = render_text(m, lang="fr")
    assert "Précision" in fr and "60,0 %" in fr and "165,00 / 525,00" in fr
    # The current threshold's curve row is marked.
    assert any(line.startswith(">") and " 60 " in line for line in en.splitlines())
    with pytest.raises(EvaluationError):
        render_text(m, lang="de")


def test_unlabelled_summary() -> None:
    u = unlabelled_summary(hand_input().scores, HITS, RULES, threshold=60)
    assert (u.payments, u.alerts, u.alerts_medium, u.alerts_high) == (11, 5, 4, 1)
    assert u.alert_rate == pytest.approx(5 / 11)
    assert u.rule_hits == (5, 6, 5)
    # Among alerts p0 p2 p4 p5 p9: R1 in all 5, R2 in p0 p4 p5, R3 in p2 p4 p9.
    assert u.rule_hits_in_alerts == (5, 3, 3)
    assert json.loads(json.dumps(u.to_dict()))["alerts_high"] == 1


# --- Edge cases -------------------------------------------------------------------------------


def test_no_alerts_gives_zero_precision_not_nan() -> None:
    m = evaluate(hand_input(), threshold=1000, review_capacity=2)
    assert (m.alerts, m.tp, m.fn) == (0, 0, 7)
    # Documented convention: a ratio with a zero denominator is 0.0.
    assert (m.precision, m.recall, m.f1, m.incident_f1) == (0.0, 0.0, 0.0, 0.0)
    assert m.precision_at_k.mean_precision == 0.0
    assert m.precision_at_k.days_with_alerts == 0
    assert all(d.reviewed == 0 and d.precision == 0.0 for d in m.precision_at_k.days)
    assert m.fraud_amount_caught == 0.0
    # AP does not depend on the threshold.
    assert m.average_precision == pytest.approx(3181 / 4620)


def test_no_frauds() -> None:
    inp = hand_input()
    none = np.zeros(11, dtype=bool)
    empty = np.full(11, "", dtype=object)
    m = evaluate(EvalInput(inp.scores, none, empty, empty, DAYS, AMOUNTS, HITS, RULES), 60)
    assert (m.frauds, m.tp, m.fp, m.alerts) == (0, 0, 5, 5)
    assert (m.recall, m.precision, m.average_precision) == (0.0, 0.0, 0.0)
    assert (m.incidents, m.incident_recall, m.scenarios) == (0, 0.0, ())
    assert all(r.lift == 0.0 and r.recall == 0.0 for r in m.rules)
    assert m.fraud_amount_share_caught == 0.0


def test_all_ties() -> None:
    # One score for everyone: one operating point, AP = base rate; review by input order.
    y = np.array([0, 0, 1, 1, 0], dtype=bool)
    n = y.size
    inp = EvalInput(
        scores=np.full(n, 50),
        labels=y,
        incident_ids=np.where(y, "I", ""),
        scenarios=np.where(y, "s", ""),
        days=np.full(n, np.datetime64("2025-01-01")),
        amounts=np.ones(n),
        hits=np.ones((n, 1), dtype=bool),
        rule_ids=("R",),
    )
    m = evaluate(inp, threshold=50, review_capacity=2)
    assert m.average_precision == pytest.approx(2 / 5)
    assert pr_curve(inp.scores, y).thresholds.tolist() == [50]
    (day,) = m.precision_at_k.days
    # Ties broken by input order: p0 and p1 reviewed, both legit.
    assert (day.alerts, day.reviewed, day.frauds_reviewed, day.precision) == (5, 2, 0, 0.0)
    assert (m.incidents, m.incidents_caught) == (1, 1)


def test_empty_dataset() -> None:
    e = np.zeros(0)
    inp = EvalInput(
        e.astype(int),
        e.astype(bool),
        e.astype(str),
        e.astype(str),
        e.astype("datetime64[D]"),
        e,
        np.zeros((0, 2), dtype=bool),
        ("A", "B"),
    )
    m = evaluate(inp, 60)
    assert (m.payments, m.alerts, m.alert_rate, m.average_precision) == (0, 0, 0.0, 0.0)
    assert m.precision_at_k.days == () and m.threshold_curve == ()
    assert "Payments" in render_text(m)


def test_shape_mismatch_is_reported() -> None:
    inp = hand_input()
    bad = EvalInput(inp.scores, LABELS[:-1], INCIDENTS, SCENARIOS, DAYS, AMOUNTS, HITS, RULES)
    with pytest.raises(EvaluationError, match="labels"):
        evaluate(bad, 60)
    bad = EvalInput(inp.scores, LABELS, INCIDENTS, SCENARIOS, DAYS, AMOUNTS, HITS, ("R1",))
    with pytest.raises(EvaluationError, match="hits"):
        evaluate(bad, 60)


# --- Cross-checks against slow, obvious implementations ---------------------------------------


def brute_force_ap(scores: np.ndarray, labels: np.ndarray) -> float:
    positives = labels.sum()
    ap, previous_recall = 0.0, 0.0
    for t in sorted(set(scores.tolist()), reverse=True):
        alerted = scores >= t
        tp = (alerted & labels).sum()
        recall = tp / positives
        ap += (recall - previous_recall) * tp / alerted.sum()
        previous_recall = recall
    return ap


@pytest.mark.parametrize("seed", range(8))
def test_average_precision_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    # Few distinct scores so ties are frequent, as with summed rule points.
    scores = rng.integers(0, 12, n) * 5
    labels = rng.random(n) < rng.uniform(0.05, 0.6)
    labels[0] = True
    assert average_precision(scores, labels) == pytest.approx(brute_force_ap(scores, labels))
    floats = rng.normal(size=n)
    assert average_precision(floats, labels) == pytest.approx(brute_force_ap(floats, labels))


@pytest.mark.parametrize("seed", range(4))
def test_threshold_curve_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    scores = rng.integers(0, 120, 500)
    labels = rng.random(500) < 0.2
    curve = threshold_curve(scores, labels)
    assert curve.thresholds.tolist() == list(range(int(scores.max()) + 1))
    for i, t in enumerate(curve.thresholds):
        alerted = scores >= t
        assert curve.alerts[i] == alerted.sum()
        assert curve.tp[i] == (alerted & labels).sum()
        assert curve.recall[i] == pytest.approx((alerted & labels).sum() / labels.sum())
    assert (curve.alert_rate <= 1).all()


def test_precision_at_k_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    n, k = 2000, 5
    scores = rng.integers(0, 10, n) * 10
    labels = rng.random(n) < 0.3
    days = np.datetime64("2025-03-01") + rng.integers(0, 6, n).astype("timedelta64[D]")
    inp = EvalInput(
        scores,
        labels,
        np.where(labels, "I", ""),
        np.where(labels, "s", ""),
        days,
        np.ones(n),
        np.zeros((n, 0), dtype=bool),
        (),
    )
    m = evaluate(inp, threshold=50, review_capacity=k)
    for row in m.precision_at_k.days:
        idx = [i for i in range(n) if str(days[i]) == row.day and scores[i] >= 50]
        idx.sort(key=lambda i: (-scores[i], i))
        top = idx[:k]
        assert (row.alerts, row.reviewed) == (len(idx), len(top))
        assert row.frauds_reviewed == sum(labels[i] for i in top)
