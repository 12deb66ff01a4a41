"""Wire a detector service from settings: database, source, sink, telemetry."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from data_gen.readers import read_dataset
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from detector.backoff import backoff
from detector.feed import dataset_messages
from detector.service import DetectorService
from detector.settings import Settings
from detector.sink import AlertSink
from detector.sources import KafkaSource, ReplaySource, Source
from detector.status import Status
from detector.telemetry import Telemetry

log = logging.getLogger("kvt.detector")


def replay_group(dataset_dir: str | Path) -> str:
    """Offsets of a replay are kept per dataset, so a restarted replay resumes."""
    path = Path(dataset_dir).resolve()
    return "replay:" + hashlib.sha256(str(path).encode()).hexdigest()[:12]


def open_database(settings: Settings, wait_s: float = 300.0) -> sessionmaker[Session]:
    """Engine with the schema at head; waits for a database that is not up yet."""
    engine = make_engine(settings.db_url)
    deadline = time.monotonic() + wait_s
    delays = backoff(first_s=0.5)
    while True:
        try:
            upgrade(engine)
            return session_factory(engine)
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                raise
            delay = next(delays)
            log.warning(
                "database not reachable yet, retrying in %.1fs: %s", delay, str(exc).splitlines()[0]
            )
            time.sleep(delay)


def build_service(
    settings: Settings,
    sessions: sessionmaker[Session] | None = None,
    replay_dir: str | Path | None = None,
    speed: float | None = None,
    status: Status | None = None,
    telemetry: Telemetry | None = None,
) -> DetectorService:
    sessions = sessions or open_database(settings)
    source: Source
    sink = None
    if replay_dir is not None:
        messages = dataset_messages(read_dataset(replay_dir), with_orders=False)
        source = ReplaySource(messages, settings, replay_group(replay_dir), speed)
    else:
        source = KafkaSource(settings)
        sink = AlertSink(settings)
    archive = None
    if settings.mongo_url:
        from db.archive import EventArchive  # pymongo only when an archive is configured

        archive = EventArchive(settings.mongo_url, settings.mongo_db)
        archive.ensure_indexes()
    return DetectorService(settings, source, sessions, sink, status, telemetry, archive=archive)
