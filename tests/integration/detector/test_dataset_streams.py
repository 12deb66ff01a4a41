"""A dataset streamed to Kafka (the studio's stream, ``data_gen stream``) raises alerts that
name it, against real Kafka and PostgreSQL; messages of an outside client (no header, as from
kafka-console-producer, or a header naming no dataset) stay the live stream's."""

from __future__ import annotations

import time

import orjson
import pytest
import sqlalchemy as sa
from confluent_kafka import Producer

from data_gen.stream import stream_dataset
from data_gen.wire_format import payment_message
from db.detector_store import alert_id_for
from db.models import Alert
from detector.common.datasets import DATASET_HEADER
from detector.service import DetectorService
from detector.sink import AlertSink
from detector.sources import KafkaSource
from tests.integration.detector.conftest import Expected, Pipeline
from tests.integration.detector.test_pipeline import read_all
from tests.unit.db.builders import batch, scored

pytestmark = pytest.mark.integration


def wait_payments(p: Pipeline, want: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while p.consumed()["payments"] != want:
        assert time.monotonic() < deadline, f"{p.consumed()} != {want} payments\n" + p.logs()
        time.sleep(0.5)


def test_a_streamed_dataset_names_its_alerts_and_an_outside_client_stays_live(
    make_pipeline, dataset, expected: Expected
) -> None:
    p = make_pipeline()
    stream_dataset(dataset, p.settings, say=lambda _: None)  # as `data_gen stream DIR`
    # The shop's own traffic from a plain client: customers of their own, no dataset header
    # on the first half, a header that names no dataset on the second.
    pairs, _ = scored(batch(24, prefix="LIVE", customers=5))
    outside = Producer({"bootstrap.servers": p.settings.kafka_bootstrap})
    for i, (_, pay) in enumerate(pairs):
        bogus = [(DATASET_HEADER, b"not a dataset!")] if i >= len(pairs) // 2 else None
        outside.produce(
            p.settings.topics.payments,
            key=pay.customer_id.encode(),
            value=orjson.dumps(payment_message(pay)),
            headers=bogus,
        )
    assert outside.flush(30) == 0

    svc = DetectorService(p.settings, KafkaSource(p.settings), p.sessions, AlertSink(p.settings))
    thread = svc.start_thread()
    try:
        wait_payments(p, expected.per_topic["payments"] + len(pairs))
    finally:
        svc.stop()
    assert not thread.is_alive()

    name = dataset.name
    with p.sessions() as s:
        rows = s.execute(sa.select(Alert.alert_id, Alert.payment_id, Alert.dataset)).all()
    streamed = {pid: aid for aid, pid, d in rows if d == name}
    live = {pid: aid for aid, pid, d in rows if d == "live"}
    assert {d for _, _, d in rows} == {name, "live"}
    assert set(streamed) == set(expected.alerts)  # the dataset's alerts, all of them
    assert all(aid == alert_id_for(pid, name) for pid, aid in streamed.items())
    want_live = {v.payment_id for v, _ in pairs if v.is_alert}
    assert want_live and set(live) == want_live
    assert all(aid == alert_id_for(pid) for pid, aid in live.items())  # ALT-<payment id>

    published = [orjson.loads(m) for m in read_all(p, p.settings.topics.alerts)]
    assert {(m["alert_id"], m["dataset"]) for m in published} == {
        *((aid, name) for aid in streamed.values()),
        *((aid, "live") for aid in live.values()),
    }
