"""Wire a detector service from settings: database, source, sink, telemetry."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from data_gen.feed import OutMessage, dataset_messages
from data_gen.readers import read_dataset
from db.engine import make_engine, session_factory
from db.migrate import prepare
from db.models import LIVE_DATASET
from detector.backoff import backoff
from detector.common.settings import Settings
from detector.service import DetectorService
from detector.sink import AlertSink
from detector.sources import FETCH_WAIT_MAX_MS, KafkaSource, ReplaySource, Source
from detector.status import Status
from detector.telemetry import Telemetry

if TYPE_CHECKING:
    from detector.archiver import Archiver

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
            prepare(settings)
            return session_factory(engine)
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                raise
            delay = next(delays)
            log.warning(
                "database not reachable yet, retrying in %.1fs: %s", delay, str(exc).splitlines()[0]
            )
            time.sleep(delay)


def replay_messages(replay_dir: str | Path) -> list[OutMessage]:
    return dataset_messages(read_dataset(replay_dir), with_orders=False)


def build_service(
    settings: Settings,
    sessions: sessionmaker[Session] | None = None,
    replay_dir: str | Path | None = None,
    speed: float | None = None,
    status: Status | None = None,
    telemetry: Telemetry | None = None,
    messages: list[OutMessage] | None = None,
    own_process: bool = False,
) -> DetectorService:
    """The detector; `messages`: the replay's, when the caller read them already;
    `own_process`: nothing else runs in this process (see `detector.heap`)."""
    sessions = sessions or open_database(settings)
    source: Source
    sink = None
    dataset = LIVE_DATASET
    if replay_dir is not None:
        messages = replay_messages(replay_dir) if messages is None else messages
        source = ReplaySource(messages, settings, replay_group(replay_dir), speed)
        dataset = replay_dataset(replay_dir)
    else:
        source = KafkaSource(settings)
        sink = AlertSink(settings)
    return DetectorService(
        settings, source, sessions, sink, status, telemetry, own_process=own_process,
        dataset=dataset,
    )  # fmt: skip


def replay_dataset(dataset_dir: str | Path) -> str:
    """The dataset a replay's alerts name: its directory's name, as the studio lists it."""
    return Path(dataset_dir).resolve().name


def build_archiver(
    settings: Settings,
    sessions: sessionmaker[Session] | None = None,
    replay_dir: str | Path | None = None,
    speed: float | None = None,
    status: Status | None = None,
    telemetry: Telemetry | None = None,
    messages: list[OutMessage] | None = None,
) -> Archiver | None:
    """The archiver of behavioural events (None without ``KVT_MONGO_URL``): a Kafka consumer
    group of its own, or, beside a replay, a replay source of its own at the same pace."""
    if not settings.mongo_url:
        return None
    # pymongo only when an archive is configured
    from db.archive import EventArchive
    from detector.archiver import Archiver, archive_group

    sessions = sessions or open_database(settings)
    source: Source
    if replay_dir is not None:
        messages = replay_messages(replay_dir) if messages is None else messages
        events = [m for m in messages if m.kind == "user_events"]
        group = archive_group(replay_group(replay_dir))
        source = ReplaySource(events, settings, group, speed)
    else:
        topics = (settings.topics.user_events,)
        # The archive has no ordering to wait for: the brokers' default fetch wait, and
        # polls that wait for fuller batches.
        source = KafkaSource(
            settings, archive_group(settings.consumer_group), topics, FETCH_WAIT_MAX_MS, True
        )
    archive = EventArchive(settings.mongo_url, settings.mongo_db)
    return Archiver(settings, source, sessions, archive, status, telemetry)
