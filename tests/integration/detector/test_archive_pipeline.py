"""The live pipeline with the MongoDB archive: Kafka → detector → PostgreSQL + FerretDB.

Archiving must not change what the detector decides, and must hold every behavioural event of
the stream exactly once."""

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
        archive=archive,
    )
    t0 = time.perf_counter()
    thread = svc.start_thread()
    try:
        p.wait_consumed(expected, timeout_s=300)
    finally:
        svc.stop()
    elapsed = time.perf_counter() - t0
    assert not thread.is_alive()
    assert svc.status.snapshot().state == "stopped"

    ids = set(read_dataset(dataset).events(columns=["event_id"])["event_id"])
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


def _customer_of(p: Pipeline, payment_id: str) -> str:
    with p.sessions() as s:
        return s.scalars(sa.select(Alert.customer_id).where(Alert.payment_id == payment_id)).one()
