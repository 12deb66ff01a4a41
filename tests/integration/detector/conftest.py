"""Fixtures for the live pipeline: isolated topics and schema per test, a dataset, expectations."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from confluent_kafka.admin import AdminClient
from sqlalchemy.orm import Session, sessionmaker

from data_gen.feed import OutMessage, dataset_events, dataset_messages
from data_gen.generate import generate
from data_gen.kafka_admin import ensure_topics
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from db.engine import in_schema, make_engine, session_factory
from db.migrate import upgrade
from db.models import Alert, DetectorStateRow
from detector.common.settings import Settings
from detector.engine import Detector
from detector.events import Activity, Payment
from detector.rules import default_ruleset

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Expected:
    alerts: dict[str, tuple[int, tuple[tuple[str, str], ...]]]
    states: dict[str, dict]
    messages: list[OutMessage]
    per_topic: dict[str, int]
    events: list[Activity | Payment]  # what the engine scored, in its order


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pipeline-ds")
    generate(out, GenParams(scale=0.06, seed=11))
    return out


@pytest.fixture(scope="session")
def expected(dataset: Path) -> Expected:
    """What the backtest path says: the reference every live run must equal exactly."""
    return expectation(dataset)


@pytest.fixture(scope="session")
def full_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected]:
    """The default-size dataset (~79,000 input events), for what only shows at volume."""
    out = tmp_path_factory.mktemp("pipeline-full-ds")
    generate(out, GenParams(seed=11))
    return out, expectation(out)


def expectation(dataset: Path) -> Expected:
    ds = read_dataset(dataset)
    det = Detector(default_ruleset())
    events = dataset_events(ds)
    verdicts = det.process_all(events)
    alerts = {
        v.payment_id: alert_key(v.score, [r.to_dict() for r in v.reasons])
        for v in verdicts
        if v.is_alert
    }
    states = {c: s.to_dict() for c, s in det.states.items()}
    messages = dataset_messages(ds)
    per_topic: dict[str, int] = {}
    for m in messages:
        per_topic[m.kind] = per_topic.get(m.kind, 0) + 1
    return Expected(alerts, states, messages, per_topic, events)


def alert_key(score: int, reasons: list[dict]) -> tuple[int, tuple[tuple[str, str], ...]]:
    return score, tuple((r["rule_id"], r["detail_en"]) for r in reasons)


@dataclass
class Pipeline:
    settings: Settings
    sessions: sessionmaker[Session]
    env: dict[str, str]
    log_dir: Path
    started: int = 0

    def stored_alerts(self) -> dict[str, tuple[int, tuple[tuple[str, str], ...]]]:
        with self.sessions() as s:
            rows = s.execute(sa.select(Alert.payment_id, Alert.score, Alert.reasons)).all()
        return {pid: alert_key(score, reasons) for pid, score, reasons in rows}

    def stored_states(self) -> dict[str, dict]:
        with self.sessions() as s:
            rows = s.execute(sa.select(DetectorStateRow.customer_id, DetectorStateRow.state))
            return {c: st for c, st in rows}

    def consumed(self) -> dict[str, int]:
        """Committed next offsets summed per input topic kind."""
        with self.sessions() as s:
            rows = s.execute(
                sa.text("SELECT topic, next_offset FROM consumer_offsets WHERE group_id = :g"),
                {"g": self.settings.consumer_group},
            ).all()
        t = self.settings.topics
        kinds = {t.user_events: "user_events", t.payments: "payments"}
        out = {"user_events": 0, "payments": 0}
        for topic, off in rows:
            out[kinds[topic]] += off
        return out

    def wait_consumed(self, expected: Expected, timeout_s: float = 120.0) -> None:
        want = {k: expected.per_topic[k] for k in ("user_events", "payments")}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.consumed() == want:
                    return
            except sa.exc.OperationalError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"detector did not consume everything: {self.consumed()} != {want}")

    def detector_process(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = open(self.log_dir / f"detector-{self.started}.log", "wb")  # noqa: SIM115
        return subprocess.Popen(
            [sys.executable, "-m", "detector", "run"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


@pytest.fixture
def make_pipeline(
    pg_url: str, kafka_bootstrap: str, tmp_path: Path
) -> Iterator[Callable[..., Pipeline]]:
    made: list[tuple[str, Settings]] = []
    admin_engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)

    def make(replication: int = 1) -> Pipeline:
        tag = f"t{uuid.uuid4().hex[:10]}"
        with admin_engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{tag}"'))
        url = in_schema(pg_url, tag)
        settings = replace(
            Settings(),
            data_dir=tmp_path,
            database_url=url,
            kafka_bootstrap=kafka_bootstrap,
            topic_prefix=f"{tag}-",
            consumer_group=f"{tag}-fraud-detector",
            topic_replication=replication,
        )
        made.append((tag, settings))
        ensure_topics(settings)
        engine = make_engine(url)
        upgrade(engine)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KVT_")}
        env.update(
            {
                "KVT_DATABASE_URL": url,
                "KVT_KAFKA_BOOTSTRAP": kafka_bootstrap,
                "KVT_TOPIC_PREFIX": f"{tag}-",
                "KVT_CONSUMER_GROUP": settings.consumer_group,
                "KVT_DATA_DIR": str(tmp_path),
                "KVT_TOPIC_REPLICATION": str(replication),
            }
        )
        return Pipeline(settings, session_factory(engine), env, tmp_path)

    yield make
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for tag, settings in made:
        with admin_engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{tag}" CASCADE'))
        futures = admin.delete_topics(list(settings.topics.all), operation_timeout=30)
        for f in futures.values():
            with contextlib.suppress(Exception):
                f.result()
    admin_engine.dispose()
