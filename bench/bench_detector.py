"""Detection-core speed: hit-matrix build rate and re-scoring a million payments.

    .venv/bin/python -m bench.bench_detector [--scale 10]

Generates a dataset (default scale 10, ~76k payments), builds the hit matrix with the engine,
then tiles it to 1,000,000 payments and re-scores it with new weights.  Targets (issue 2):
hit matrix >= 100,000 payments/s; re-scoring 1M payments <= 200 ms.  Compared with the
prototype's published detection speed of 169 events/s.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from bench._common import Figure, best_of, calibration_seconds, report
from data_gen.feed import dataset_events
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from detector.backtest import HitMatrix, score_table
from detector.engine import Detector
from detector.evaluation import EvalInput, evaluate
from detector.rules import RULE_IDS, default_ruleset

PROTOTYPE_EVENTS_PER_S = 169.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=10.0)
    args = ap.parse_args()
    calib = calibration_seconds()
    rs = default_ruleset()
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, GenParams(scale=args.scale))
        ds = read_dataset(tmp)
        t0 = time.perf_counter()
        events = dataset_events(ds, scoring_only=True)
        feed_s = time.perf_counter() - t0
        n_pay = len(ds.payments)
        n_events = len(events)

        build_s = best_of(lambda: Detector(rs).hit_rows(events), 5)
        _, masks = Detector(rs).hit_rows(events)
        full = Detector(rs)
        t0 = time.perf_counter()
        full.process_all(events)
        verdict_s = time.perf_counter() - t0

    rng = np.random.default_rng(0)
    reps = -(-1_000_000 // len(masks))
    big = np.tile(np.asarray(masks, dtype=np.int16), reps)[:1_000_000]
    labels = rng.random(len(big)) < 0.02
    hm = HitMatrix(
        payment_ids=np.arange(len(big)).astype(str).astype(object),
        customer_ids=np.zeros(len(big), dtype=object),
        masks=big,
        ts_ms=np.sort(rng.integers(1_761_955_200_000, 1_767_225_600_000, len(big))),
        amounts=rng.uniform(5, 900, len(big)),
        labels=labels,
        scenarios=np.where(labels, "x", "").astype(object),
        incident_ids=np.where(labels, np.arange(len(big)).astype(str), "").astype(object),
        params_fingerprint="bench",
    )
    weights = np.array(rs.weights) + rng.integers(-5, 6, len(RULE_IDS))
    rescore_s = best_of(lambda: hm.scores(weights), 7)
    naive_s = best_of(lambda: hm.hits.astype(np.int32) @ weights, 3)
    inp = EvalInput(
        scores=hm.scores(weights),
        labels=labels,
        incident_ids=hm.incident_ids,
        scenarios=hm.scenarios,
        days=hm.days,
        amounts=hm.amounts,
        hits=hm.hits,
        rule_ids=RULE_IDS,
    )
    eval_s = best_of(lambda: evaluate(inp, 60), 3)
    _ = score_table(weights)

    rate = n_pay / build_s
    figures = [
        Figure(
            "hit matrix build",
            rate,
            "payments/s",
            ">= 100,000",
            rate >= 100_000,
            build_s / calib,
            f"{n_pay:,} payments + {n_events - n_pay:,} cart events in {build_s:.2f} s; "
            f"{rate / PROTOTYPE_EVENTS_PER_S:,.0f}x the prototype's 169 events/s",
        ),
        Figure(
            "full verdicts with explanations",
            n_pay / verdict_s,
            "payments/s",
            "(info)",
            True,
            verdict_s / calib,
            "Detector.process: the live path's per-payment cost",
        ),
        Figure(
            "dataset -> ordered events",
            n_events / feed_s,
            "events/s",
            "(info)",
            True,
            feed_s / calib,
        ),
        Figure(
            "re-score 1,000,000 payments",
            rescore_s * 1000,
            "ms",
            "<= 200 ms",
            rescore_s <= 0.2,
            rescore_s / calib,
            f"pattern table + gather; a dense int matmul takes {naive_s * 1000:.0f} ms",
        ),
        Figure(
            "evaluate 1,000,000 payments",
            eval_s * 1000,
            "ms",
            "(info)",
            True,
            eval_s / calib,
            "all metrics incl. per-day precision@k and threshold curve",
        ),
    ]
    report("detector", calib, figures)


if __name__ == "__main__":
    main()
