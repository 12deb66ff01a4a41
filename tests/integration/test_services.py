"""Smoke tests for the local services started by ``scripts/services up``.

They connect to each service through the session fixtures of conftest.py and
exercise what the workbench relies on: SQL round trips on PostgreSQL, produce /
consume on Kafka, and the MongoDB operations of the archive on FerretDB. The
replication test needs ``scripts/services up --brokers 3`` (it is skipped on a
single broker); it stops the leader's node mid-stream and starts it again.
"""

from __future__ import annotations

import contextlib
import time
import uuid

import pytest


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --------------------------------------------------------------------- PostgreSQL
def test_postgres_roundtrip(pg_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    table = _unique("smoke").replace("-", "_")
    try:
        with engine.begin() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT current_user, current_database(),"
                    " current_setting('server_version_num')::int"
                )
            ).one()
            assert row[0] == "kvt"
            assert row[1] == "kvt_test"
            assert row[2] >= 150000
            conn.execute(
                sa.text(
                    f"CREATE TABLE {table} (id serial PRIMARY KEY, amount numeric(12,2), note text)"
                )
            )
            conn.execute(
                sa.text(f"INSERT INTO {table} (amount, note) VALUES (:a, :n)"),
                [{"a": 12.5, "n": "café"}, {"a": 99.99, "n": "ok"}],
            )
            total = conn.execute(sa.text(f"SELECT sum(amount), count(*) FROM {table}")).one()
            assert float(total[0]) == pytest.approx(112.49)
            assert total[1] == 2
            assert (
                conn.execute(sa.text(f"SELECT note FROM {table} WHERE id = 1")).scalar_one()
                == "café"
            )
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


def test_postgres_app_database_exists(pg_url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url.rsplit("/", 1)[0] + "/kvt", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == "kvt"
    finally:
        engine.dispose()


def test_postgres_stop_and_start(pg_url: str, services) -> None:
    """`scripts/services stop pg` / `start pg` work (outage tests rely on them)."""
    import sqlalchemy as sa

    def connect_ok() -> bool:
        engine = sa.create_engine(
            pg_url, connect_args={"connect_timeout": 2}, poolclass=sa.pool.NullPool
        )
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text("SELECT 1")).scalar_one() == 1
        except sa.exc.OperationalError:
            return False
        finally:
            engine.dispose()

    assert connect_ok()
    services.stop("pg")
    try:
        assert services.status().get("pg") is False
        assert not connect_ok()
    finally:
        services.start("pg")
    assert services.status().get("pg") is True
    assert connect_ok()


# -------------------------------------------------------------------------- Kafka
def _create_topic(
    bootstrap: str, name: str, partitions: int, rf: int, config: dict | None = None
) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=rf, config=config or {})],
        operation_timeout=30,
    )
    futures[name].result(timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until every partition has a leader
        md = admin.list_topics(topic=name, timeout=10)
        t = md.topics.get(name)
        if (
            t
            and t.error is None
            and len(t.partitions) == partitions
            and all(p.leader >= 0 for p in t.partitions.values())
        ):
            return
        time.sleep(0.3)
    raise AssertionError(f"topic {name} has no leaders after 30s")


def _delete_topic(bootstrap: str, name: str) -> None:
    from confluent_kafka.admin import AdminClient

    # keep a reference to the client until the future is done (else it never completes)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    with contextlib.suppress(Exception):  # cleanup only
        admin.delete_topics([name], operation_timeout=30)[name].result(60)


def _produce(bootstrap: str, topic: str, messages: list[tuple[str, str]], **conf) -> None:
    from confluent_kafka import Producer

    errors: list = []
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "message.timeout.ms": 60000,
            **conf,
        }
    )
    for key, value in messages:
        producer.produce(
            topic,
            key=key.encode(),
            value=value.encode(),
            on_delivery=lambda err, msg: errors.append(err) if err else None,
        )
        producer.poll(0)
    assert producer.flush(90) == 0, "messages still in flight after 90s"
    assert not errors, errors


def _consume(
    bootstrap: str, topic: str, expected: int, timeout: float = 60
) -> list[tuple[str, str]]:
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": _unique("kvt-smoke"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    got: list[tuple[str, str]] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while len(got) < expected and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            got.append((msg.key().decode(), msg.value().decode()))
    finally:
        consumer.close()
    return got


def test_kafka_produce_consume(kafka_bootstrap: str, kafka_broker_count: int) -> None:
    topic = _unique("kvt-smoke")
    _create_topic(kafka_bootstrap, topic, partitions=3, rf=min(3, kafka_broker_count))
    try:
        sent = [(f"acct-{i % 7}", f"payment-{i}") for i in range(30)]
        _produce(kafka_bootstrap, topic, sent)
        got = _consume(kafka_bootstrap, topic, len(sent))
        assert sorted(got) == sorted(sent)
    finally:
        _delete_topic(kafka_bootstrap, topic)


def test_kafka_replication_survives_broker_stop(
    kafka_bootstrap: str, kafka_broker_count: int, services
) -> None:
    """RF 3, min.insync.replicas 2: acks=all keeps working with one node down."""
    assert kafka_broker_count >= 3, (
        "single-broker cluster; run `scripts/services up --brokers 3` for the replication test"
    )
    from confluent_kafka.admin import AdminClient

    topic = _unique("kvt-repl")
    _create_topic(kafka_bootstrap, topic, partitions=1, rf=3, config={"min.insync.replicas": "2"})
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    deadline = time.monotonic() + 30
    parts: dict = {}
    while not parts and time.monotonic() < deadline:  # metadata lags creation under load
        parts = admin.list_topics(topic=topic, timeout=10).topics[topic].partitions
        time.sleep(0 if parts else 0.5)
    leader = parts[0].leader
    first = [(f"k{i}", f"before-{i}") for i in range(50)]
    second = [(f"k{i}", f"during-{i}") for i in range(50)]
    try:
        _produce(kafka_bootstrap, topic, first)
        services.stop(f"kafka-{leader}")  # the partition leader goes away mid-stream
        try:
            _produce(kafka_bootstrap, topic, second)
            got = _consume(kafka_bootstrap, topic, len(first) + len(second), timeout=90)
            assert got == first + second  # one partition: order is kept
        finally:
            services.start(f"kafka-{leader}")
        deadline = time.monotonic() + 90
        isr: list[int] = []
        while time.monotonic() < deadline:  # the restarted replica catches up
            isr = admin.list_topics(topic=topic, timeout=10).topics[topic].partitions[0].isrs
            if len(isr) == 3:
                break
            time.sleep(1)
        assert len(isr) == 3, f"ISR did not return to 3 replicas: {isr}"
    finally:
        _delete_topic(kafka_bootstrap, topic)


# -------------------------------------------------------------------------- Mongo
def test_mongo_archive_operations(mongo_url: str) -> None:
    import pymongo
    from pymongo.errors import DuplicateKeyError

    client = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    db_name = _unique("kvt_smoke").replace("-", "_")
    try:
        col = client[db_name]["alerts"]
        col.insert_many(
            [
                {"_id": i, "account": f"a{i % 5}", "score": i / 100, "ts": 1_000 + i}
                for i in range(100)
            ]
        )
        assert col.count_documents({}) == 100
        assert col.find_one({"_id": 42})["account"] == "a2"

        assert (
            col.create_index(
                [("account", pymongo.ASCENDING), ("ts", pymongo.DESCENDING)], name="account_ts"
            )
            == "account_ts"
        )
        col.create_index("alert_id", unique=True, sparse=True, name="alert_id_unique")
        assert {"_id_", "account_ts", "alert_id_unique"} <= set(col.index_information())

        res = col.update_one({"_id": 1000}, {"$set": {"account": "zz", "score": 0.5}}, upsert=True)
        assert res.upserted_id == 1000
        res = col.update_one({"_id": 1000}, {"$inc": {"score": 0.25}}, upsert=True)
        assert res.matched_count == 1 and res.upserted_id is None
        assert col.find_one({"_id": 1000})["score"] == pytest.approx(0.75)

        docs = list(
            col.find({"account": "a1"})
            .sort([("account", 1), ("ts", -1)])
            .hint("account_ts")
            .limit(3)
        )
        assert [d["_id"] for d in docs] == [96, 91, 86]
        docs = list(col.find({"score": {"$gte": 0.9}}).sort("score", pymongo.DESCENDING))
        assert [d["_id"] for d in docs][:3] == [99, 98, 97]

        col.insert_one({"_id": 2000, "alert_id": "A-1"})
        with pytest.raises(DuplicateKeyError):
            col.insert_one({"_id": 2001, "alert_id": "A-1"})

        counts = {
            d["_id"]: d["n"]
            for d in col.aggregate(
                [
                    {"$match": {"account": {"$in": ["a0", "a1"]}}},
                    {"$group": {"_id": "$account", "n": {"$sum": 1}}},
                ]
            )
        }
        assert counts == {"a0": 20, "a1": 20}
    finally:
        client.drop_database(db_name)
        client.close()
