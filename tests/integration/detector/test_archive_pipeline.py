"""The live pipeline with the MongoDB archive: Kafka → detector → PostgreSQL, and Kafka →
archiver → FerretDB beside it.

Archiving must not change what the detector decides, must hold every behavioural event of the
stream exactly once, and an archive that is down must neither slow the detector nor lose an
event: the archiver catches up when it is back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from data_gen.readers import read_dataset
from data_gen.schema import EVENT_TYPES
from data_gen.stream import stream_messages
from db.archive import EventArchive
from db.models import Alert
from db.timeline import customer_timeline
from detector.archiver import Archiver, archive_group
from detector.common.settings import Settings
from detector.service import BatchResult, DetectorService
from detector.sink import AlertSink
from detector.sources import KafkaSource
from tests.integration.detector.conftest import Expected, Pipeline

pytestmark = pytest.mark.integration


@pytest.fixture
def archive(mongo_url: str) -> Iterator[EventArchive]:
    with EventArchive(mongo_url, f"kvt_pipe_{uuid.uuid4().hex[:12]}") as a:
        a.ensure_indexes()
        try:
            yield a
        finally:
            a.drop_database()


def test_streaming_with_the_archive(
    make_pipeline, expected: Expected, dataset: Path, archive: EventArchive
) -> None:
    p = make_pipeline()
    stream_messages(expected.messages, p.settings)
    batches: list[BatchResult] = []
    svc = DetectorService(
        p.settings,
        KafkaSource(p.settings),
        p.sessions,
        AlertSink(p.settings),
        on_batch=batches.append,
    )
    archiver = archiver_of(p.settings, p, archive)
    t0 = time.perf_counter()
    thread = svc.start_thread()
    archiver_thread = archiver.start_thread()
    ids = set(read_dataset(dataset).events(columns=["event_id"])["event_id"])
    try:
        p.wait_consumed(expected, timeout_s=300)
        wait_archived(archive, len(ids), timeout_s=300)
    finally:
        svc.stop()
        archiver.stop()
    elapsed = time.perf_counter() - t0
    assert not thread.is_alive() and not archiver_thread.is_alive()
    assert svc.status.snapshot().state == "stopped"
    assert archiver.status.snapshot().state == "stopped"

    assert len(ids) == expected.per_topic["user_events"]
    assert archive.count() == len(ids)
    assert archive.ids() == ids
    topic = p.settings.topics.user_events
    assert archive.count({"source.topic": topic}) == len(ids)

    # Archiving changed nothing in the decisions.
    assert p.stored_alerts() == expected.alerts
    assert p.stored_states() == expected.states
    events = sum(b.events - b.payments for b in batches)
    assert events == len(ids)
    print(f"\n{len(ids)} events archived while scoring in {elapsed:.1f}s")

    # An alerted customer's timeline: clicks from MongoDB, the alert from PostgreSQL.
    alerted = min(expected.alerts)
    customer = _customer_of(p, alerted)
    tl = customer_timeline(customer, sessions_factory=p.sessions, archive=archive, limit=10_000)
    kinds = {e.kind for e in tl}
    assert "alert" in kinds and kinds & set(EVENT_TYPES)
    assert [e.ts for e in tl] == sorted(e.ts for e in tl)
    assert len([e for e in tl if e.kind in EVENT_TYPES]) == archive.count({"customer_id": customer})


def test_archive_outage_neither_slows_scoring_nor_loses_events(
    make_pipeline, expected: Expected, dataset: Path, archive: EventArchive, services
) -> None:
    """MongoDB down for the whole stream: the detector scores it all meanwhile; the archiver
    waits, then archives every event once MongoDB is back, and its committed offsets say so."""
    p = make_pipeline()
    ids = set(read_dataset(dataset).events(columns=["event_id"])["event_id"])
    svc = DetectorService(p.settings, KafkaSource(p.settings), p.sessions, AlertSink(p.settings))
    archiver = archiver_of(p.settings, p, archive)
    svc.start_thread()
    archiver.start_thread()
    try:
        time.sleep(2)  # the archiver has made its indexes and joined its group
        services.stop("mongo")
        stream_messages(expected.messages, p.settings)
        p.wait_consumed(expected, timeout_s=300)  # scored with the archive down
        assert p.stored_alerts() == expected.alerts
        deadline = time.monotonic() + 30
        while archiver.status.snapshot().state != "waiting_for_archive":
            assert time.monotonic() < deadline, archiver.status.snapshot()
            time.sleep(0.2)
        assert archiver.status.snapshot().last_error.startswith("archive: MongoDB archive")
        services.start("mongo")
        wait_archived(archive, len(ids), timeout_s=300)
        group = archive_group(p.settings.consumer_group)
        deadline = time.monotonic() + 30
        while committed(p, group) != expected.per_topic["user_events"]:
            assert time.monotonic() < deadline, committed(p, group)
            time.sleep(0.2)
    finally:
        services.start("mongo")
        svc.stop()
        archiver.stop()
    assert archive.ids() == ids  # each event once, none lost
    assert archiver.status.snapshot().state == "stopped"


def archiver_of(settings: Settings, p: Pipeline, archive: EventArchive) -> Archiver:
    group = archive_group(settings.consumer_group)
    source = KafkaSource(settings, group, (settings.topics.user_events,))
    # The test's own client: the archiver closes the one it is given when it stops.
    own = EventArchive(archive.address, archive.db_name, timeout_ms=2_000)
    return Archiver(settings, source, p.sessions, own)


def wait_archived(archive: EventArchive, n: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while (got := archive.count()) < n:
        assert time.monotonic() < deadline, f"{got} of {n} events archived"
        time.sleep(0.5)


def committed(p: Pipeline, group: str) -> int:
    with p.sessions() as s:
        return s.scalar(
            sa.text(
                "SELECT COALESCE(SUM(next_offset), 0) FROM consumer_offsets WHERE group_id = :g"
            ),
            {"g": group},
        )


def _customer_of(p: Pipeline, payment_id: str) -> str:
    with p.sessions() as s:
        return s.scalars(sa.select(Alert.customer_id).where(Alert.payment_id == payment_id)).one()
