"""The insights use cases: every chart's data in one read, and the CSV under each chart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import session_factory
from db.loader import load_dataset
from desk import insights
from desk.runtime import Runtime
from detector.common.settings import Settings
from tests.unit.db.test_alert_counts import bare, bare_template, engine

__all__ = ["bare", "bare_template", "engine"]


def test_compute_reads_every_chart_and_follows_the_data_version(
    bare: Engine, bare_template: Path, tmp_path: Path
) -> None:
    rt = Runtime(Settings(data_dir=tmp_path), bare, session_factory(bare))
    before = insights.version_of(rt)
    load_dataset(bare, bare_template / "ds")
    after = insights.version_of(rt)
    assert after[2] > before[2] == 0  # loaded payments change the cache key
    data = insights.insights(rt, "UTC")
    assert data.totals.alerts == after[0] > 0 and data.totals.payments == after[2]
    assert set(data.breakdowns) == set(insights.DIMENSIONS)
    assert int(data.by_hour["alerts"].sum()) == data.totals.alerts
    with Session(bare) as s:
        assert insights.compute(s, "UTC").totals == data.totals


def test_csv_has_a_bom_and_the_rows() -> None:
    raw = insights.to_csv(pd.DataFrame({"rule": ["é"], "alerts": [3]}))
    assert raw.startswith(b"\xef\xbb\xbf") and raw.decode("utf-8-sig") == "rule,alerts\né,3\n"
