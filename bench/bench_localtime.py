"""Cost of the customer's local time (UNUSUAL_HOUR's input) on the scoring hot path.

    .venv/bin/python -m bench.bench_localtime

`local_minute_of_day` caches the UTC offset per zone and quarter hour; the bench times it on
200,000 payment times spread over a year in five zones, warm (the backtest's steady state) and
cold (cache cleared before each pass), against the plain way, `datetime.fromtimestamp(ts, zone)`
per payment, measured in the same run; and the whole hit-matrix build of the default dataset
(time-ordered payments, the realistic case).
"""

from __future__ import annotations

import tempfile
from datetime import datetime

import numpy as np

from bench._common import Figure, best_of, calibration_seconds, report
from data_gen.feed import dataset_events
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from detector import conditions
from detector.conditions import local_minute_of_day, zone_info
from detector.engine import Detector
from detector.rules import default_ruleset

ZONES = (
    "Europe/Paris",
    "America/New_York",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
)
N = 200_000
YEAR_START_MS = 1_735_689_600_000  # 2025-01-01T00:00Z


def main() -> None:
    calib = calibration_seconds()
    rng = np.random.default_rng(7)
    ts = (YEAR_START_MS + rng.integers(0, 365 * 86_400_000, N)).tolist()
    tzs = [ZONES[i] for i in rng.integers(0, len(ZONES), N).tolist()]
    pairs = list(zip(ts, tzs, strict=True))

    def fast() -> int:
        return sum(local_minute_of_day(t, z) for t, z in pairs)

    def wrong() -> int:
        conditions._OFFSETS.clear()
        return sum(
            local_minute_of_day(t, z)
            != (lambda d: d.hour * 60 + d.minute)(datetime.fromtimestamp(t / 1000, zone_info(z)))
            for t, z in pairs
        )

    def cold() -> int:
        conditions._OFFSETS.clear()
        return fast()

    def plain() -> int:
        total = 0
        for t, z in pairs:
            d = datetime.fromtimestamp(t / 1000, zone_info(z))
            total += d.hour * 60 + d.minute
        return total

    n_wrong = wrong()
    warm_s = best_of(fast, 5)
    cold_s = best_of(cold, 3)
    plain_s = best_of(plain, 3)
    per = 1e9 / N
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, GenParams(scale=1))
        events = dataset_events(read_dataset(tmp), scoring_only=True)
    detector = Detector(default_ruleset())

    def hit_rows() -> object:
        conditions._OFFSETS.clear()
        return detector.hit_rows(events)

    n_pay = len(hit_rows()[1])  # type: ignore[index]
    build_s = best_of(hit_rows, 5)
    report(
        "localtime",
        calib,
        [
            Figure(
                "plain datetime.fromtimestamp (baseline)",
                plain_s * per,
                "ns/payment",
                "(baseline)",
                True,
                plain_s / calib,
                f"{N:,} payments, 5 zones, 2025",
            ),
            Figure(
                "local_minute_of_day, warm cache",
                warm_s * per,
                "ns/payment",
                "(info)",
                True,
                warm_s / calib,
                f"{warm_s / plain_s:.2f}x the plain way",
            ),
            Figure(
                "payments given a wrong local time",
                n_wrong,
                "payments",
                "0",
                n_wrong == 0,
                None,
                "fast path vs zoneinfo, same payments",
            ),
            Figure(
                "local_minute_of_day, cold cache",
                cold_s * per,
                "ns/payment",
                "(info)",
                True,
                cold_s / calib,
                f"{cold_s / plain_s:.2f}x the plain way",
            ),
            Figure(
                "hit matrix build, default dataset",
                build_s * 1000,
                "ms",
                "(info)",
                True,
                build_s / calib,
                f"{n_pay:,} payments, all rules, cache cleared first",
            ),
        ],
    )


if __name__ == "__main__":
    main()
