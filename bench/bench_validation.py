"""Validation on own labels: time split + 5 customer-grouped folds on the default dataset.

    .venv/bin/python -m bench.bench_validation

Target (issue 10): default dataset, 5 folds, at most 10 s.  Timed from the hit matrix (built
once per dataset and rule parameters, as the tuning page caches it; its build time is shown
apart), against one fit of the suggestion on the whole dataset in the same run.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from bench._common import Figure, best_of, calibration_seconds, report
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from detector.backtest import build_hit_matrix
from detector.rules import default_ruleset
from detector.suggest import Objective, suggest_weights
from detector.tuning import own_suggest_report

TARGET_S = 10.0


def main() -> None:
    calib = calibration_seconds()
    rs = default_ruleset()
    objective = Objective("recall_at_budget", budget=0.05)
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, GenParams())
        ds = read_dataset(tmp)
        t0 = time.perf_counter()
        hm = build_hit_matrix(ds, rs)
        build_s = time.perf_counter() - t0
    assert hm.labels is not None
    labels = hm.labels

    def one_fit() -> object:
        return suggest_weights(hm.hits, labels, np.asarray(rs.weights), objective)

    fit_s = best_of(one_fit, 3)
    t0 = time.perf_counter()
    rep = own_suggest_report(hm, rs, objective, 50, "split+cv")
    total_s = time.perf_counter() - t0
    assert rep.validation is not None and len(rep.validation.folds) == 5
    report(
        "validation",
        calib,
        [
            Figure("one suggestion fit, whole dataset (baseline)", fit_s, "s", "(baseline)",
                   True, fit_s / calib, f"{hm.n:,} payments, {int(labels.sum())} frauds"),
            Figure("time split + 5 grouped folds, with reports", total_s, "s",
                   f"<= {TARGET_S:.0f} s", total_s <= TARGET_S, total_s / calib,
                   f"{total_s / fit_s:.1f}x one fit: 6 fits, 2 full evaluations"),
            Figure("hit matrix build (once per dataset)", build_s, "s", "(info)", True,
                   build_s / calib, "read + engine; cached by the tuning page"),
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
