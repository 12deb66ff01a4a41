"""Datasets streamed through the live topics keep their customers apart: each dataset's
alerts are those it gets alone, whatever was streamed before it (issue 14)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from data_gen.feed import OutMessage, dataset_events, dataset_messages
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from db.detector_store import alert_id_for, load_states
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import Alert
from detector.common.settings import Settings
from detector.engine import Detector
from detector.rules import default_ruleset
from detector.service import DetectorService
from detector.sources import Polled, ReplaySource


class TaggedSource(ReplaySource):
    """A replay whose messages name their dataset, as the ``kvt-dataset`` header does."""

    def __init__(self, messages: list[OutMessage], settings: Settings, dataset: str) -> None:
        super().__init__(messages, settings, f"kafka-like:{dataset}")
        self.dataset = dataset

    def poll(self, max_records: int, timeout_s: float) -> Polled:
        out = super().poll(max_records, timeout_s)
        for r in out.records:
            r.dataset = self.dataset
        return out


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two generated datasets: both number customers and payments from 1."""
    out = {}
    for name, seed in (("shop-a", 7), ("shop-b", 8)):
        path = tmp_path_factory.mktemp(name)
        generate(path, GenParams(scale=0.05, seed=seed))
        out[name] = path
    return out


def alone(path: Path) -> dict[str, tuple[int, list[str]]]:
    verdicts = Detector(default_ruleset()).process_all(dataset_events(read_dataset(path)))
    return {v.payment_id: (v.score, [r.rule_id for r in v.reasons]) for v in verdicts if v.is_alert}


def test_two_datasets_with_the_same_customers_each_score_as_alone(
    datasets: dict[str, Path], tmp_path: Path
) -> None:
    settings = replace(Settings(), data_dir=tmp_path, batch_max=211)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    # One after the other through the same (live) detector: the second starts from the
    # states the first left in the database.
    for name, path in datasets.items():
        messages = dataset_messages(read_dataset(path), with_orders=False)
        DetectorService(settings, TaggedSource(messages, settings, name), sessions).run(
            until_idle=True
        )
    with sessions() as s:
        rows = s.execute(select(Alert.alert_id, Alert.payment_id, Alert.dataset,
                                Alert.score, Alert.reasons)).all()  # fmt: skip
        for name, path in datasets.items():
            got = {
                pid: (score, [r["rule_id"] for r in reasons])
                for _, pid, d, score, reasons in rows
                if d == name
            }
            want = alone(path)
            assert len(want) > 5 and got == want, name
        assert all(aid == alert_id_for(pid, d) for aid, pid, d, _, _ in rows)
        customers = set(read_dataset(datasets["shop-a"]).customers["customer_id"])
        customers &= set(read_dataset(datasets["shop-b"]).customers["customer_id"])
        assert customers  # the premise: the same customer ids
        a, b = (load_states(s, customers, name) for name in datasets)
        assert load_states(s, customers) == {}  # nothing of theirs is the live stream's
        shared = sorted(set(a) & set(b))
        assert shared and any(a[c] != b[c] for c in shared)
