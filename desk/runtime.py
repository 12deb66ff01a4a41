"""Process-wide resources of the app: database, settings, the detector and archiver threads,
the studio's Kafka producer, the throughput history and the broker answers: all of the
process's state, in one object.

The app creates one `Runtime` per server process (through `st.cache_resource`), so there is
exactly one detector consumer however many browser sessions are open.  With a broker
configured the Kafka detector starts at once; in the embedded default the detector runs when
a dataset replay is started, and a new replay replaces the previous one.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from data_gen.feed import OutMessage
from db.engine import make_engine, session_factory
from db.migrate import prepare
from desk.pipeline import BrokerChecks, Samples
from detector.archiver import Archiver
from detector.common.private import private_dir
from detector.common.settings import Settings, load_settings
from detector.runner import build_archiver, build_service, replay_messages
from detector.service import DetectorService
from detector.status import Status, StatusSnapshot
from detector.telemetry import Telemetry

if TYPE_CHECKING:
    from desk.studio import StreamJob

log = logging.getLogger("kvt.runtime")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    status: Status = field(default_factory=Status)
    telemetry: Telemetry = field(default_factory=Telemetry)
    replay_dir: Path | None = None
    archive_status: Status = field(default_factory=Status)
    samples: Samples = field(default_factory=Samples)  # the throughput chart's history
    broker_checks: BrokerChecks = field(default_factory=BrokerChecks)
    stream: StreamJob | None = None  # the dataset studio's Kafka producer, one at a time
    stream_lock: threading.Lock = field(default_factory=threading.Lock)
    _service: DetectorService | None = None
    _archiver: Archiver | None = None  # beside the detector when KVT_MONGO_URL is set
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _replay_seq: int = 0  # the latest replay asked for; an older one still starting gives way

    @classmethod
    def create(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or load_settings()
        private_dir(settings.data_dir)
        engine = make_engine(settings.db_url)
        prepare(settings)
        rt = cls(settings, engine, session_factory(engine))
        if not settings.embedded and settings.app_detector:
            rt.start_detector()
        return rt

    @property
    def lookups(self) -> sessionmaker[Session]:
        """As a :class:`~desk.handle.Handle`: the app's reads all go through ``sessions``."""
        return self.sessions

    def snapshot(self) -> StatusSnapshot:
        return self.status.snapshot()

    @property
    def detector_running(self) -> bool:
        return self._service is not None and self._service.alive

    def start_detector(self) -> None:
        """Kafka mode: start the consumer thread (idempotent)."""
        with self._lock:
            if self.detector_running:
                return
            self._service = build_service(
                self.settings, self.sessions, status=self.status, telemetry=self.telemetry
            )
            self._service.start_thread()
            self._start_archiver()

    def start_replay(self, dataset_dir: str | Path, speed: float | None) -> None:
        """Embedded mode: score a dataset through the same service, paced in event time.

        Returns at once: reading a large dataset takes seconds, so it happens on a thread
        while the status says "starting" (the page answers the click within a second); a
        dataset that cannot be read leaves the detector stopped with the error in its status.
        """
        with self._lock:
            self._stop_workers()
            self.replay_dir = Path(dataset_dir)
            self._replay_seq += 1
            seq = self._replay_seq
            self.status.update(state="starting", source=f"replay:{Path(dataset_dir).name}")
        threading.Thread(
            target=self._begin_replay, args=(seq, dataset_dir, speed), name="kvt-replay-start",
            daemon=True,
        ).start()  # fmt: skip

    def _begin_replay(self, seq: int, dataset_dir: str | Path, speed: float | None) -> None:
        try:
            messages = replay_messages(dataset_dir)
        except Exception as exc:  # a thread has no caller: the status carries the error
            log.exception("replay of %s could not start", dataset_dir)
            self.status.update(state="stopped")
            self.status.error(f"{Path(dataset_dir).name}: {exc}")
            return
        with self._lock:
            if seq != self._replay_seq:
                return  # another replay (or a stop) came meanwhile
            self._service = build_service(
                self.settings,
                self.sessions,
                replay_dir=dataset_dir,
                speed=speed,
                status=self.status,
                telemetry=self.telemetry,
                messages=messages,
            )
            self._service.start_thread()
            self._start_archiver(dataset_dir, speed, messages)

    def _start_archiver(
        self,
        replay_dir: str | Path | None = None,
        speed: float | None = None,
        messages: list[OutMessage] | None = None,
    ) -> None:
        """Archiving runs on a thread of its own: MongoDB never slows the scoring."""
        if self._archiver is not None and self._archiver.running:
            return
        self.archive_status = Status()
        self._archiver = build_archiver(
            self.settings,
            self.sessions,
            replay_dir=replay_dir,
            speed=speed,
            status=self.archive_status,
            telemetry=self.telemetry,
            messages=messages,
        )
        if self._archiver is not None:
            self._archiver.start_thread()

    def _stop_workers(self) -> None:
        for worker in (self._service, self._archiver):
            if worker is not None:
                worker.stop()
        self._service = self._archiver = None

    def stop(self) -> None:
        with self._lock:
            self._replay_seq += 1  # a replay still reading its dataset will not start
            self._stop_workers()


@dataclass(frozen=True)
class WebBackend:
    """What the web routes of ``serve.py`` need: settings and database sessions (a
    :class:`~desk.handle.Handle`)."""

    settings: Settings
    sessions: sessionmaker[Session]

    @property
    def lookups(self) -> sessionmaker[Session]:
        return self.sessions


def web_backend() -> WebBackend:
    """Settings and a session factory for the HTTP routes (no detector, no migration: the
    app's :class:`Runtime` does those)."""
    settings = load_settings()
    return WebBackend(settings, session_factory(make_engine(settings.db_url)))
