"""Validation on the dataset's own labels: hand-checked splits and folds, then the whole path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_gen import GenParams, generate
from data_gen.readers import read_dataset
from detector.rules import RULE_IDS, default_ruleset
from detector.suggest import Objective
from detector.tuning import suggest_for_dataset, validation_method
from detector.validation import (
    figures,
    grouped_folds,
    out_of_fold_scores,
    time_split,
    validate_own,
)
from tests.unit.data_gen.exports import PROTOTYPE, clean_export, write

DAY = np.timedelta64(1, "D")


def test_time_split_fits_the_first_70_percent_of_days() -> None:
    start = np.datetime64("2025-11-01")
    # Ten distinct days, uneven payments per day: days count, not payments.
    days = np.array([start + d * DAY for d in (0, 0, 0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 9, 9)])
    fit = time_split(days)
    assert fit.tolist() == [True] * 10 + [False] * 5  # days 0..6 fit, days 7..9 judge
    # Three days: round(2.1) = 2 fit, 1 judges; two days: one each.
    assert time_split(days[days <= start + 2 * DAY]).tolist() == [True] * 4 + [False]
    assert time_split(np.array([start, start + DAY])).tolist() == [True, False]
    with pytest.raises(ValueError, match="two days"):
        time_split(np.array([start, start]))


def test_grouped_folds_deal_customers_largest_first_to_the_smallest_fold() -> None:
    # Payments: A 5, B 3, C 3, D 2, E 1, F 1 (in shuffled order).
    ids = np.array(list("ABACADBEAFCBDAC"), dtype=object)
    fold = grouped_folds(ids, k=3)
    by_customer = {c: set(fold[ids == c].tolist()) for c in "ABCDEF"}
    # By hand: A->0 (5,0,0); B->1 (5,3,0); C->2 (5,3,3); D->1 (5,5,3); E->2 (5,5,4); F->2.
    assert by_customer == {"A": {0}, "B": {1}, "C": {2}, "D": {1}, "E": {2}, "F": {2}}
    assert np.bincount(fold).tolist() == [5, 5, 5]
    with pytest.raises(ValueError, match="at least 7 customers"):
        grouped_folds(ids, k=7)


def test_no_customer_is_in_two_folds_on_a_real_dataset(tmp_path: Path) -> None:
    generate(tmp_path, GenParams(scale=0.2, days=10))
    pay = read_dataset(tmp_path).payments
    ids = pay["customer_id"].to_numpy(dtype=object)
    fold = grouped_folds(ids, k=5)
    per_customer = {c: np.unique(fold[ids == c]) for c in np.unique(ids)}
    assert all(len(f) == 1 for f in per_customer.values())
    sizes = np.bincount(fold)
    assert sizes.max() - sizes.min() <= np.unique(ids, return_counts=True)[1].max()


def test_figures_by_hand() -> None:
    hits = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], dtype=bool)
    labels = np.array([True, True, False, False])
    f = figures(hits, labels, np.array([30, 40]), 40)  # scores 30, 70, 40, 0
    assert (f["alerts"], f["alert_rate"], f["precision"], f["recall"]) == (2, 0.5, 0.5, 0.5)


def test_out_of_fold_scores_keep_each_folds_alerts() -> None:
    fold = np.array([0, 1, 0, 1])
    pooled = out_of_fold_scores(
        [np.array([50, 0, 70, 0]), np.array([0, 30, 0, 10])], fold, [60, 20], common=60
    )
    assert pooled.tolist() == [50, 70, 70, 50]  # alerted at 60: payments 1 and 2 only
    assert (pooled >= 60).tolist() == [False, True, True, False]


def _planted(n_customers: int = 100, per: int = 4, seed: int = 3):
    """Rule 0 marks fraud exactly; the others are noise."""
    rng = np.random.default_rng(seed)
    n = n_customers * per
    labels = rng.random(n) < 0.2
    hits = rng.random((n, len(RULE_IDS))) < 0.3
    hits[:, 0] = labels
    customers = np.repeat(np.array([f"C{i}" for i in range(n_customers)], dtype=object), per)
    days = np.datetime64("2025-11-01") + (np.arange(n) * 20 // n) * DAY
    return hits, labels, days, customers


def test_a_planted_signal_holds_out_of_sample_on_every_fold() -> None:
    hits, labels, days, customers = _planted()
    objective = Objective("f1")
    v = validate_own(hits, labels, days, customers, default_ruleset(), objective)
    assert v.split is not None and len(v.folds) == 5
    assert v.split.after["recall"] == 1.0 and v.split.after["precision"] == 1.0
    assert all(f.after["recall"] == 1.0 and f.after["precision"] == 1.0 for f in v.folds)
    assert v.spread_after["precision"].std == 0.0
    assert v.spread_after["recall"].mean == 1.0
    assert v.frauds >= 50 and v.warnings == ()


def test_fewer_than_50_frauds_warns() -> None:
    hits, labels, days, customers = _planted(n_customers=30)
    labels[:] = False
    labels[::3] = True  # 120 payments: 40 frauds
    hits[:, 0] = labels
    v = validate_own(hits, labels, days, customers, default_ruleset(), Objective("f1"), "cv")
    assert v.split is None and len(v.folds) == 5
    assert any("only 40 labelled frauds" in w for w in v.warnings)


def test_generated_datasets_keep_the_generated_holdout_imports_use_their_own(
    tmp_path: Path,
) -> None:
    generate(tmp_path / "gen", GenParams(scale=0.05, days=8))
    assert validation_method(read_dataset(tmp_path / "gen")) == "holdout"
    export = read_dataset(write(clean_export(customers=60, frauds_every=3), tmp_path / "x",
                                PROTOTYPE))  # fmt: skip
    assert validation_method(export) == "split+cv"
    assert validation_method(export, "holdout") == "holdout"

    report = suggest_for_dataset(export, default_ruleset(), Objective("f1"), 50)
    assert report.validation is not None and len(report.validation.folds) == 5
    assert report.holdout_path.startswith("own labels: last 30 % of days")
    cv = suggest_for_dataset(export, default_ruleset(), Objective("f1"), 50, validate="cv")
    assert cv.validation is not None and cv.validation.split is None
    assert "folds grouped by customer" in cv.holdout_path
    assert cv.to_dict()["validation"]["method"] == "cv"
