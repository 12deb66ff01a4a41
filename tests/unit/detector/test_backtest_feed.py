"""The backtest's reduced event feed gives exactly the hits of the full feed."""

from __future__ import annotations

from pathlib import Path

from data_gen.feed import dataset_events
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from detector.engine import Detector
from detector.rules import RuleSet, default_ruleset


def test_scoring_only_feed_has_identical_hits(tmp_path: Path) -> None:
    generate(tmp_path, GenParams(scale=0.1, seed=3))
    ds = read_dataset(tmp_path)
    full = dataset_events(ds)
    reduced = dataset_events(ds, scoring_only=True)
    assert len(reduced) < len(full)
    slow = RuleSet.from_dict({"rules": {"FAST_CHECKOUT": {"params": {"max_seconds": 3600}}}})
    for rs in (default_ruleset(), slow):
        assert Detector(rs).hit_rows(reduced) == Detector(rs).hit_rows(full)
