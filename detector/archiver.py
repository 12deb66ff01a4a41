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
from detector.ordering import Record, TopicPartition
from detector.pacing import IdleWait
from detector.sources import LONG_WAIT_S, Source
from detector.status import Status
from detector.telemetry import Telemetry

log = logging.getLogger("kvt.archiver")

LAG_CHECK_S = 1.0
ARCHIVE_BATCH = 5_000  # documents per bulk write: big enough to amortise a round trip
# At a live rate a poll brings a few events every few milliseconds: writing each poll's
# events cost a MongoDB bulk write and a PostgreSQL commit per poll (200 a second at 1,000
# events/s), CPU taken from the detector on the same cores.  Events are held this long (or
# until ARCHIVE_BATCH of them) and written together: the archive is at most this much later.
ARCHIVE_LINGER_S = 0.5


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
        # Not the detector's few milliseconds: a poll up to LONG_WAIT_S waits its whole time
        # for a fuller batch, and the held events wait ARCHIVE_LINGER_S anyway.
        self._wait = IdleWait(max(settings.poll_timeout_s, LONG_WAIT_S))
        self._held: list[Record] = []  # polled, not yet written (at most ARCHIVE_BATCH)
        self._due = 0.0  # when the held events are written at the latest
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
            if self._held:  # stopped: what is held now is not read again at the next start
                self._write()
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
        """One poll; the held events are archived and committed once ARCHIVE_BATCH of them
        are held, ARCHIVE_LINGER_S after the first, or at the end of a replay.  Returns how
        many events were archived (0 while they are held)."""
        wait = self._wait.next()
        if self._held:
            wait = min(wait, max(0.0, self._due - time.monotonic()))
        polled = self.source.poll(ARCHIVE_BATCH - len(self._held), wait)
        for msg in polled.errors:
            self.status.error(msg)
            log.warning("consumer: %s", msg)
        now = time.monotonic()
        if now - self._lag_checked >= LAG_CHECK_S:
            self._lag_checked = now
            lag = self.source.lag()  # from the polled position: the held events count too
            held = sum(1 for r in self._held if r.topic == self._topic)
            self.telemetry.archive_lag.set(
                held + sum(n for (t, _), n in lag.items() if t == self._topic)
            )
        if polled.records:
            self._wait.busy()
            if not self._held:
                self._due = now + ARCHIVE_LINGER_S
            self._held += polled.records
        else:
            self._wait.empty()
        if not self._held:
            return 0
        if len(self._held) < ARCHIVE_BATCH and now < self._due and not self.source.finished():
            return 0
        return self._write()

    def _write(self) -> int:
        """Archive and commit the held events."""
        held, self._held = self._held, []
        records = [r for r in held if r.topic == self._topic]
        offsets: dict[TopicPartition, int] = {}
        for r in held:
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
