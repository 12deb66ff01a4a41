"""The event archive on the local MongoDB-wire server (FerretDB v1): idempotent writes, indexes,
defensive parsing, timelines read from MongoDB, and a clear error when the server is away."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session, sessionmaker

from data_gen.feed import dataset_messages
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from db import migrate
from db.archive import (
    ArchiveError,
    ArchiveUnavailable,
    EventArchive,
    archive_dataset,
)
from db.engine import make_engine, session_factory
from db.errors import DbError
from db.timeline import customer_timeline, session_timeline
from detector.ordering import Record
from tests.unit.db.test_timeline import add_history

pytestmark = pytest.mark.integration

TOPIC = "user-events"


def unique_db() -> str:
    return f"kvt_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def db_name(mongo_url: str) -> Iterator[str]:
    name = unique_db()
    yield name
    with EventArchive(mongo_url, name) as a:
        a.drop_database()


@pytest.fixture
def archive(mongo_url: str, db_name: str) -> Iterator[EventArchive]:
    with EventArchive(mongo_url, db_name) as a:
        a.ensure_indexes()
        yield a


def event(eid: str, ts: str, *, customer: str = "C1", session: str = "S1", **extra: Any) -> bytes:
    body = {
        "event_id": eid,
        "customer_id": customer,
        "session_id": session,
        "event_type": "page_view",
        "event_timestamp": ts,
        "device": "mobile",
        "device_id": "D1",
        "utm_source": "google",
        "country": "FR",
        "product_id": None,
        "amount": None,
        "payment_id": None,
        "order_id": "",
        **extra,
    }
    return orjson.dumps(body)


def rec(value: bytes | None, offset: int, partition: int = 0) -> Record:
    return Record(TOPIC, partition, offset, b"C1", value, 0.0)


def test_archiving_twice_keeps_one_document_per_event(archive: EventArchive) -> None:
    records = [
        rec(event("E1", "2025-11-20T09:00:00.123Z"), 0),
        rec(event("E2", "2025-11-20T09:01:00.000Z", event_type="add_to_cart", amount=19.9), 1),
        rec(event("E3", "2025-11-20T10:00:00+01:00"), 2, partition=2),
        rec(event("E1", "2025-11-20T09:00:00.123Z"), 3),  # the same event twice in a batch
    ]
    assert archive(records) == 3
    assert archive(records) == 0  # a retried batch: nothing new, no error
    assert archive.count() == 3
    assert archive.ids() == {"E1", "E2", "E3"}

    doc = archive.collection.find_one({"_id": "E2"})
    assert doc is not None
    assert doc["event_timestamp"] == datetime(2025, 11, 20, 9, 1, tzinfo=UTC)
    assert doc["event_type"] == "add_to_cart" and doc["amount"] == 19.9
    assert doc["order_id"] is None  # "" is stored as null
    assert doc["source"] == {"topic": TOPIC, "partition": 0, "offset": 1}
    e3 = archive.collection.find_one({"_id": "E3"})
    assert e3 is not None and e3["event_timestamp"] == datetime(2025, 11, 20, 9, tzinfo=UTC)
    assert e3["source"]["partition"] == 2


def test_overwrite_mode_replaces_and_default_mode_keeps_the_first(
    mongo_url: str, archive: EventArchive
) -> None:
    first = rec(event("E1", "2025-11-20T09:00:00Z", device="ios"), 7)
    again = rec(event("E1", "2025-11-20T09:00:00Z", device="android"), 42)
    assert archive([first]) == 1
    assert archive([again]) == 0
    kept = archive.collection.find_one({"_id": "E1"})
    assert kept is not None and (kept["device"], kept["source"]["offset"]) == ("ios", 7)

    with EventArchive(mongo_url, archive.db_name, overwrite=True) as upserting:
        assert upserting([again, rec(event("E9", "2025-11-20T09:05:00Z"), 43)]) == 1
        replaced = upserting.collection.find_one({"_id": "E1"})
    assert replaced is not None
    assert (replaced["device"], replaced["source"]["offset"]) == ("android", 42)
    assert archive.count() == 2


def test_indexes_exist(archive: EventArchive) -> None:
    archive.ensure_indexes()  # idempotent
    info = archive.collection.index_information()
    assert {"_id_", "customer_ts", "session_ts"} <= set(info)
    assert list(info["customer_ts"]["key"]) == [("customer_id", 1), ("event_timestamp", 1)]
    assert list(info["session_ts"]["key"]) == [("session_id", 1), ("event_timestamp", 1)]


def test_malformed_records_are_skipped_and_logged(
    archive: EventArchive, caplog: pytest.LogCaptureFixture
) -> None:
    records = [
        rec(b'{"event_id": "E1", "event_timestamp": ', 10),  # truncated JSON
        rec(None, 11),
        rec(b'["E1"]', 12),
        rec(orjson.dumps({"customer_id": "C1", "event_timestamp": "2025-11-20T09:00:00Z"}), 13),
        rec(event("E5", "yesterday"), 14),
        rec(event("E6", "1970-01-01T00:00:00Z"), 15),
        rec(event("E7", "2025-11-20T09:00:00Z"), 16),
    ]
    with caplog.at_level(logging.WARNING, logger="db.archive"):
        assert archive(records) == 1
    assert archive.ids() == {"E7"}
    skipped = [r.getMessage() for r in caplog.records]
    assert len(skipped) == 6
    assert f"{TOPIC}[0]@10" in skipped[0] and "invalid_json" in skipped[0]
    assert "missing_field" in skipped[3] and "bad_timestamp" in skipped[4]


def test_timeline_reads_events_from_mongo_sorted_by_time(
    archive: EventArchive, tmp_path: Path
) -> None:
    sessions = _sqlite(tmp_path)
    # Arrival order is not time order: two partitions, late clicks, another customer.
    archive(
        [
            rec(event("E4", "2025-11-20T09:10:00Z", event_type="add_to_cart", amount=950.0), 0),
            rec(event("E1", "2025-11-20T09:01:00Z"), 1),
            rec(event("E9", "2025-11-20T09:02:00Z", customer="C2", session="S3"), 2),
            rec(
                event("E5", "2025-11-20T09:20:00Z", event_type="payment_attempt", payment_id="P1"),
                3,
            ),
            rec(event("E2", "2025-11-20T09:05:00Z", event_type="product_view"), 0, 1),
            rec(event("E7", "2025-11-20T11:00:00Z", session="S2"), 1, 1),
        ]
    )
    tl = customer_timeline("C1", sessions_factory=sessions, archive=archive)
    assert [(e.kind, e.detail.get("event_id") or e.detail.get("payment_id")) for e in tl] == [
        ("page_view", "E1"),
        ("product_view", "E2"),
        ("add_to_cart", "E4"),
        ("payment_attempt", "E5"),
        ("payment", "P1"),
        ("alert", "P1"),
        ("page_view", "E7"),
        ("payment", "P2"),
        ("decision", None),
        ("decision", None),
    ]
    assert [e.ts for e in tl] == sorted(e.ts for e in tl)
    assert all(e.ts.tzinfo is not None for e in tl)
    assert not any(e.kind.startswith("session_") for e in tl)  # the archive replaces them

    s1 = session_timeline("S1", sessions_factory=sessions, archive=archive)
    assert [e.kind for e in s1][:4] == ["page_view", "product_view", "add_to_cart",
                                        "payment_attempt"]  # fmt: skip
    assert {e.session_id for e in s1} == {"S1"}
    latest = archive.customer_events("C1", limit=2)
    assert [d["event_id"] for d in latest] == ["E5", "E7"]  # the latest two, oldest first


def test_archive_dataset_matches_the_streamed_documents(
    archive: EventArchive, tmp_path: Path
) -> None:
    generate(tmp_path / "ds", GenParams(scale=0.02, seed=5))
    ds = read_dataset(tmp_path / "ds")
    ids = set(ds.events(columns=["event_id"])["event_id"])
    assert archive_dataset(ds, archive, chunk_rows=500) == len(ids)
    assert archive.ids() == ids
    assert archive_dataset(ds, archive) == 0

    # The same events streamed: same documents but for their source.
    messages = [m for m in dataset_messages(ds, with_orders=False) if m.kind == "user_events"]
    with EventArchive(archive.address, unique_db()) as streamed:
        try:
            some = messages[:: max(1, len(messages) // 50)]
            assert streamed([rec(m.value, i) for i, m in enumerate(some)]) == len(some)
            for doc in streamed.collection.find({}):
                loaded = archive.collection.find_one({"_id": doc["_id"]})
                assert loaded is not None and loaded["source"]["file"] == "events.jsonl"
                assert _without_source(loaded) == _without_source(doc)
        finally:
            streamed.drop_database()


def test_unreachable_server_raises_archive_unavailable() -> None:
    port = _closed_port()
    archive = EventArchive(f"mongodb://kvt:s3cret@127.0.0.1:{port}/?authSource=admin", "x",
                           timeout_ms=300)  # fmt: skip
    assert archive([]) == 0  # nothing to write: no round trip
    with pytest.raises(ArchiveUnavailable) as info:
        archive([rec(event("E1", "2025-11-20T09:00:00Z"), 0)])
    err = info.value
    assert isinstance(err, DbError)
    assert err.address == f"mongodb://127.0.0.1:{port}"
    assert str(err).startswith(f"MongoDB archive unreachable at mongodb://127.0.0.1:{port}")
    assert "s3cret" not in str(err)
    with pytest.raises(ArchiveUnavailable, match="create_index"):
        archive.ensure_indexes()
    with pytest.raises(ArchiveUnavailable, match=r"\(find\)"):
        archive.customer_events("C1")
    archive.close()


def test_invalid_url_is_an_archive_error() -> None:
    with pytest.raises(
        ArchiveError, match=r"invalid MongoDB URL mongodb://127\.0\.0\.1:port"
    ) as info:
        EventArchive("mongodb://kvt:s3cret@127.0.0.1:port/", "x")
    assert "s3cret" not in str(info.value)
    assert not isinstance(info.value, ArchiveUnavailable)  # a retry cannot fix a bad URL


def _sqlite(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'kvt.db'}")
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as s:
        add_history(s)
    return sessions


def _without_source(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "source"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
