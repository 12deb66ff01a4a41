"""Wire a detector service from settings: database, source, sink, telemetry."""

from __future__ import annotations

import hashlib
from pathlib import Path

from data_gen.readers import read_dataset
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from detector.feed import dataset_messages
from detector.service import AlertSink, DetectorService
from detector.settings import Settings
from detector.sources import KafkaSource, ReplaySource, Source
from detector.status import Status
from detector.telemetry import Telemetry


def replay_group(dataset_dir: str | Path) -> str:
    """Offsets of a replay are kept per dataset, so a restarted replay resumes."""
    path = Path(dataset_dir).resolve()
    return "replay:" + hashlib.sha256(str(path).encode()).hexdigest()[:12]


def build_service(
    settings: Settings,
    replay_dir: str | Path | None = None,
    speed: float | None = None,
    status: Status | None = None,
    telemetry: Telemetry | None = None,
) -> DetectorService:
    engine = make_engine(settings.db_url)
    upgrade(engine)
    source: Source
    sink = None
    if replay_dir is not None:
        messages = dataset_messages(read_dataset(replay_dir), with_orders=False)
        source = ReplaySource(messages, settings, replay_group(replay_dir), speed)
    else:
        source = KafkaSource(settings)
        sink = AlertSink(settings)
    telemetry = telemetry or Telemetry()
    if settings.metrics_port:
        telemetry.serve(settings.metrics_port)
    return DetectorService(settings, source, session_factory(engine), sink, status, telemetry)
