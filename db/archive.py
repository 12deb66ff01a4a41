"""The MongoDB archive of behavioural events (collection ``behavioral_events``).

The detector keeps only per-customer state; the raw clickstream goes here so that analysts can
read a customer's or a session's events later (see :mod:`db.timeline`).  One document per
event: ``_id`` is the ``event_id``, ``event_timestamp`` a real UTC datetime, the other
``user-events`` fields as sent (empty strings become ``null``), and ``source`` says where the
event was read from (``topic``/``partition``/``offset``, or ``file``/``row`` for a dataset).

Writes are idempotent and keyed by ``event_id``, one unordered ``bulk_write`` per batch, so a
batch that the detector retries after a crash or an outage is archived again harmlessly:

* default: ``InsertOne`` per event, duplicate-key errors ignored (first write wins; an event
  is an immutable fact, a re-sent one carries the same content);
* ``overwrite=True``: ``ReplaceOne({"_id": ...}, doc, upsert=True)`` (last write wins).

Why not always upserts: FerretDB v1 on SQLite (the local MongoDB-wire server) scans the whole
collection for every update, even by ``_id`` (about 10 ms per upsert at 2,000 documents and
300 ms at 8,000), while an insert costs about 0.1 ms and a duplicate is rejected by the
primary key just as fast.  On MongoDB both are fast.  Only basic CRUD, ``bulk_write``,
``create_index`` and ``find`` with sort/limit are used: FerretDB v1 supports no more.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
import pandas as pd
from pymongo import ASCENDING, DESCENDING, InsertOne, MongoClient, ReplaceOne
from pymongo.errors import BulkWriteError, ConfigurationError, ConnectionFailure, PyMongoError

from data_gen import schema
from data_gen.feed import to_ms
from data_gen.readers import Dataset
from data_gen.wire_format import BadMessage, parse_ts_ms
from db.errors import DbError

log = logging.getLogger(__name__)

COLLECTION = "behavioral_events"
INDEXES: dict[str, list[tuple[str, int]]] = {
    "customer_ts": [("customer_id", ASCENDING), ("event_timestamp", ASCENDING)],
    "session_ts": [("session_id", ASCENDING), ("event_timestamp", ASCENDING)],
}
TIMEOUT_MS = 5_000
DUPLICATE_KEY = 11000
DATASET_CHUNK_ROWS = 20_000
# Event fields stored besides _id (= event_id) and event_timestamp.
_FIELDS = tuple(f for f in schema.EVENTS if f not in ("event_id", "event_timestamp"))
_SCALARS = (str, int, float, bool)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Record(Protocol):
    """A consumed ``user-events`` message (the detector's ``detector.ordering.Record``): where
    it was read and its value; storage needs no more of it."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def value(self) -> bytes | None: ...


class ArchiveError(DbError):
    """The archive refused an operation (not a connectivity problem); the message says which."""


class ArchiveUnavailable(ArchiveError):
    """The MongoDB server cannot be reached; retrying later may succeed."""

    def __init__(self, address: str, operation: str, cause: str) -> None:
        self.address = address
        self.operation = operation
        super().__init__(f"MongoDB archive unreachable at {address} ({operation}): {cause}")


class EventArchive:
    """Archive behavioural events in MongoDB; an instance is the detector's ``archive`` hook.

    The client connects lazily: constructing an archive never blocks, the first operation
    does (at most ``timeout_ms`` before :class:`ArchiveUnavailable`).  Thread-safe.
    """

    source = "MongoDB archive"  # for timelines: where behavioural events come from

    def __init__(
        self,
        mongo_url: str,
        db_name: str,
        *,
        overwrite: bool = False,
        timeout_ms: int = TIMEOUT_MS,
    ) -> None:
        self.address = redact(mongo_url)
        self.db_name = db_name
        self.overwrite = overwrite
        self.timeout_ms = timeout_ms
        try:
            self._client: MongoClient[dict[str, Any]] = MongoClient(
                mongo_url,
                tz_aware=True,
                tzinfo=UTC,
                serverSelectionTimeoutMS=timeout_ms,
                connectTimeoutMS=timeout_ms,
                socketTimeoutMS=max(timeout_ms, 30_000),
                appname="kvt-archive",
            )
        except (ConfigurationError, ValueError, TypeError) as exc:
            cause = _hide_credentials(str(exc), mongo_url)
            raise ArchiveError(f"invalid MongoDB URL {self.address}: {cause}") from None
        self.collection = self._client[db_name][COLLECTION]

    def __repr__(self) -> str:
        return f"EventArchive({self.address!r}, {self.db_name!r})"

    def __enter__(self) -> EventArchive:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # --- writing ---------------------------------------------------------------------------

    def __call__(self, records: Sequence[Record]) -> int:
        return self.archive(records)

    def archive(self, records: Sequence[Record]) -> int:
        """Archive the events of ``records`` (``user-events`` messages); returns how many were
        new.  Records that are not a valid event are logged with their source and skipped
        (the detector dead-letters them; they should not get here)."""
        docs = []
        for rec in records:
            try:
                docs.append(_document(_parse(rec.value), _record_source(rec)))
            except BadMessage as exc:
                log.warning(
                    "archive: skipped %s[%d]@%d: %s", rec.topic, rec.partition, rec.offset, exc
                )
        return self.store(docs)

    def store(self, docs: Sequence[Mapping[str, Any]]) -> int:
        """Write ready-made documents (each with an ``_id``); returns how many were new."""
        if not docs:
            return 0
        ops: list[InsertOne[Any] | ReplaceOne[Any]]
        if self.overwrite:
            ops = [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs]
        else:
            ops = [InsertOne(d) for d in docs]
        try:
            result = self.collection.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            details = exc.details
            # Duplicate _id: already archived (or, with overwrite, a concurrent upsert won).
            errors = [e for e in details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY]
            if errors or details.get("writeConcernErrors"):
                raise self._write_error(docs, errors, details) from None
            return int(details.get("nInserted", 0)) + int(details.get("nUpserted", 0))
        except PyMongoError as exc:
            raise self._error("bulk_write", exc) from None
        return result.inserted_count + result.upserted_count

    def ensure_indexes(self) -> None:
        """Create the (customer_id, event_timestamp) and (session_id, event_timestamp)
        indexes; idempotent."""
        for name, keys in INDEXES.items():
            try:
                self.collection.create_index(keys, name=name)
            except PyMongoError as exc:
                raise self._error(f"create_index {name}", exc) from None

    # --- reading ---------------------------------------------------------------------------

    def customer_events(self, customer_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """The customer's latest ``limit`` events, oldest first."""
        return self._latest({"customer_id": customer_id}, limit)

    def session_events(self, session_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """The session's latest ``limit`` events, oldest first."""
        return self._latest({"session_id": session_id}, limit)

    def count(self, query: Mapping[str, Any] | None = None) -> int:
        try:
            return self.collection.count_documents(dict(query or {}))
        except PyMongoError as exc:
            raise self._error("count", exc) from None

    def ids(self) -> set[str]:
        """Every archived event id (for checks and tests; reads only ``_id``)."""
        try:
            return {d["_id"] for d in self.collection.find({}, {"_id": 1})}
        except PyMongoError as exc:
            raise self._error("find", exc) from None

    def index_names(self) -> set[str]:
        try:
            return set(self.collection.index_information())
        except PyMongoError as exc:
            raise self._error("index_information", exc) from None

    def drop_database(self) -> None:
        """Delete the whole archive database (tests and resets)."""
        try:
            self._client.drop_database(self.db_name)
        except PyMongoError as exc:
            raise self._error("drop_database", exc) from None

    def _latest(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        if limit < 1:
            return []
        try:
            cursor = (
                self.collection.find(query)
                .sort([("event_timestamp", DESCENDING), ("_id", DESCENDING)])
                .limit(limit)
            )
            docs = list(cursor)
        except PyMongoError as exc:
            raise self._error("find", exc) from None
        docs.reverse()
        for d in docs:
            d["event_id"] = d.pop("_id")
        return docs

    def _write_error(
        self, docs: Sequence[Mapping[str, Any]], errors: list[Any], details: Mapping[str, Any]
    ) -> ArchiveError:
        first = errors[0] if errors else {}
        source = docs[first["index"]].get("source") if "index" in first else None
        concern = details.get("writeConcernErrors") or []
        message = first.get("errmsg") or (concern[0].get("errmsg") if concern else "?")
        return ArchiveError(
            f"{len(errors)} of {len(docs)} events not archived in {self.db_name}.{COLLECTION} "
            f"at {self.address}: {message} (first at {source})"
        )

    def _error(self, operation: str, exc: PyMongoError) -> ArchiveError:
        cause = str(exc).splitlines()[0]
        for noise in (" (configured timeouts", ", Timeout:"):  # pymongo's timing details
            cause = cause.split(noise)[0]
        cause = cause[:300]
        if isinstance(exc, ConnectionFailure):
            return ArchiveUnavailable(self.address, operation, cause)
        where = f"{self.db_name}.{COLLECTION} at {self.address}"
        return ArchiveError(f"{operation} on {where}: {cause}")


def archive_dataset(
    dataset: Dataset, archive: EventArchive, chunk_rows: int = DATASET_CHUNK_ROWS
) -> int:
    """Archive every behavioural event of a dataset (for datasets loaded without streaming);
    idempotent, chunked.  Returns the number of events archived."""
    file = dataset.events_path.name
    total = 0
    for frame in dataset.iter_events(chunk_rows):
        total += archive.store(list(_frame_documents(frame, file)))
    log.info("archived %d events of %s in %s", total, dataset.path, archive)
    return total


def redact(url: str) -> str:
    """``scheme://host:port[,host:port]`` of a MongoDB URL, without credentials or options."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<invalid MongoDB URL>"
    hosts = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    return f"{scheme}://{hosts}"


def _hide_credentials(text: str, url: str) -> str:
    userinfo = url.partition("://")[2].split("/", 1)[0].rpartition("@")[0]
    for secret in (userinfo, userinfo.partition(":")[2]):
        if secret:
            text = text.replace(secret, "***")
    return text


# --------------------------------------------------------------------------- documents


def _parse(value: bytes | None) -> Mapping[str, Any]:
    if value is None:
        raise BadMessage("empty", "message has no value")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise BadMessage("invalid_json", str(exc)[:200]) from None
    if not isinstance(obj, dict):
        raise BadMessage("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _record_source(rec: Record) -> dict[str, Any]:
    return {"topic": rec.topic, "partition": rec.partition, "offset": rec.offset}


def _document(obj: Mapping[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    event_id = obj.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise BadMessage("missing_field", "event_id is required")
    ts = obj.get("event_timestamp", obj.get("ts"))
    doc: dict[str, Any] = {
        "_id": event_id,
        "event_timestamp": _from_ms(parse_ts_ms(ts, "event_timestamp")),
    }
    for name in _FIELDS:
        doc[name] = _scalar(obj.get(name))
    doc["source"] = source
    return doc


def _from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)  # exact, unlike fromtimestamp(ms / 1000)


def _scalar(value: Any) -> Any:
    """Empty and missing become None; anything but a JSON scalar is kept as JSON text."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, _SCALARS):
        return value
    return orjson.dumps(value, default=str).decode()


def _frame_documents(frame: pd.DataFrame, file: str) -> Iterator[dict[str, Any]]:
    """Documents of an ``iter_events`` chunk, equal to those of the same events streamed."""
    stamps = map(_from_ms, to_ms(frame["event_timestamp"]).tolist())
    columns = [frame[name].tolist() for name in _FIELDS]
    for row, event_id, ts, values in zip(
        frame.index.tolist(),
        frame["event_id"].tolist(),
        stamps,
        zip(*columns, strict=True),
        strict=True,
    ):
        doc: dict[str, Any] = {"_id": event_id, "event_timestamp": ts}
        doc.update(zip(_FIELDS, map(_scalar, values), strict=True))
        doc["source"] = {"file": file, "row": int(row)}
        yield doc
