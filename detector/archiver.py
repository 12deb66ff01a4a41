"""Copies behavioural events into the MongoDB archive, off the scoring path.

The archiver is a consumer group of its own on ``user-events`` (``<consumer_group>-archive``):
the detector never waits for MongoDB, and an archive that is down or slow delays only the
archive.  Its offsets are kept in the database's ``consumer_offsets`` table under its own
group id, written after MongoDB acknowledged the batch; the documents are keyed by
``event_id``, so a batch read again after a crash or an outage is archived again harmlessly
(at least once, idempotent: each event exactly once in the archive).  While MongoDB is down
the archiver waits and retries the same batch; Kafka keeps the events, so it catches up.

It runs as ``python -m detector archive`` (deployed), as a thread of the app, or beside an
embedded replay (a :class:`~detector.sources.ReplaySource` of its own, paced like the
detector's).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from db.archive import ArchiveError, EventArchive
from db.detector_store import load_offsets, save_offsets
from detector.backoff import backoff
from detector.common.settings import Settings
from detector.ordering import TopicPartition
from detector.pacing import IdleWait
from detector.sources import Source
from detector.status import Status
from detector.telemetry import Telemetry

log = logging.getLogger("kvt.archiver")

LAG_CHECK_S = 1.0
ARCHIVE_BATCH = 5_000  # documents per bulk write: big enough to amortise a round trip


def archive_group(consumer_group: str) -> str:
    return f"{consumer_group}-archive"


class _Stopped(Exception):
    """Stopped while waiting out an outage: the batch is left for the next run to re-read."""


class Archiver:
    def __init__(
        self,
        settings: Settings,
        source: Source,
        sessions: sessionmaker[Session],
        archive: EventArchive,
        status: Status | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.settings = settings
        self.source = source
        self.sessions = sessions
        self.archive = archive
        self.status = status or Status()
        self.telemetry = telemetry or Telemetry()
        self._topic = settings.topics.user_events
        self._wait = IdleWait(settings.poll_timeout_s)
        self._lag_checked = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start_thread(self, until_idle: bool = False) -> threading.Thread:
        self._thread = threading.Thread(
            target=self.run, args=(until_idle,), name="kvt-archiver", daemon=True
        )
        self._thread.start()
        return self._thread

    def join(self, timeout_s: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def run(self, until_idle: bool = False) -> None:
        """Archive until stopped (or, with ``until_idle``, until a replay is all archived)."""
        self.status.update(state="starting", source=self.source.name, started_at=time.time())
        try:
            self._retry("archive", self.archive.ensure_indexes, ArchiveError)
            self.source.start(self._lookup_offsets, lambda _: None, lambda _: None)
            self.status.update(state="running")
            while not self._stop.is_set():
                self.step()
                if until_idle and self.source.finished():
                    break
        except _Stopped:
            pass
        except Exception as exc:  # the thread must report, never die silently
            log.exception("archiver stopped on an unexpected error")
            self.status.error(f"{type(exc).__name__}: {exc}")
            self.status.update(state="failed")
            raise
        finally:
            self.source.close()
            self.archive.close()
            if self.status.snapshot().state != "failed":
                self.status.update(state="stopped")

    def step(self) -> int:
        """One poll, archived and committed; returns how many events were archived."""
        polled = self.source.poll(ARCHIVE_BATCH, self._wait.next())
        for msg in polled.errors:
            self.status.error(msg)
            log.warning("consumer: %s", msg)
        now = time.monotonic()
        if now - self._lag_checked >= LAG_CHECK_S:
            self._lag_checked = now
            lag = self.source.lag()
            self.telemetry.archive_lag.set(sum(n for (t, _), n in lag.items() if t == self._topic))
        if not polled.records:
            self._wait.empty()
            return 0
        self._wait.busy()
        records = [r for r in polled.records if r.topic == self._topic]
        offsets: dict[TopicPartition, int] = {}
        for r in polled.records:
            offsets[(r.topic, r.partition)] = r.offset + 1
        new = self._retry("archive", lambda: self.archive.archive(records), ArchiveError)
        self._retry("database", lambda: self._save(offsets), DBAPIError)
        self.source.committed(offsets)
        self.status.update(state="running")
        self.status.count_batch(len(records), 0, 0, 0)
        self.telemetry.archived.inc(len(records))
        return new

    def _save(self, offsets: dict[TopicPartition, int]) -> None:
        with self.sessions() as session, session.begin():
            save_offsets(session, self.source.group_id, offsets)

    def _retry(self, what: str, fn: Callable[[], Any], errors: type[Exception]) -> Any:
        """Until it works or the archiver is stopped: skipping would lose events."""
        delays = backoff()
        while True:
            try:
                return fn()
            except errors as exc:
                delay = next(delays)
                self.status.update(state=f"waiting_for_{what}")
                self.status.error(f"{what}: {str(exc).splitlines()[0][:200]}")
                log.warning("%s: not archived, retrying in %.1fs: %s", what, delay, exc)
                if self._stop.wait(delay):
                    raise _Stopped from None

    def _lookup_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        delays = backoff()
        while True:
            try:
                with self.sessions() as session:
                    stored = load_offsets(session, self.source.group_id)
                return {tp: stored[tp] for tp in tps if tp in stored}
            except DBAPIError as exc:
                self.status.update(state="waiting_for_database")
                self.status.error(f"database: {str(exc).splitlines()[0][:200]}")
                if self._stop.wait(next(delays)):
                    raise _Stopped from None
