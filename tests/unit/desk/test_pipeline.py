"""The pipeline page's service layer: health, throughput samples, dead letters, rule set."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from db.models import DeadLetter
from db.rulesets import active_ruleset, publish_ruleset
from desk import pipeline as pl
from desk.runtime import Runtime
from detector.common.settings import Settings
from detector.rules import default_ruleset
from detector.status import StatusSnapshot


def test_health_of_embedded_mode(engine: Engine) -> None:
    h = pl.health(Settings(), engine, detector_alive=False)
    assert h.database_ok and h.database_error == ""
    assert h.broker_ok is None and h.broker == ""
    assert not h.detector_alive


def test_unreachable_database_is_reported(tmp_path) -> None:
    bad = create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    ok, err = pl.database_reachable(bad)
    assert not ok and "OperationalError" in err


def test_unreachable_broker_is_reported_and_cached(rt: Runtime, monkeypatch) -> None:
    calls = []

    def fake_check(settings, timeout_s):
        calls.append(settings.kafka_bootstrap)
        raise RuntimeError("cannot reach Kafka at 127.0.0.1:1")

    monkeypatch.setattr("data_gen.kafka_admin.check_broker", fake_check)
    settings = replace(Settings(), kafka_bootstrap="127.0.0.1:1")
    checks = rt.broker_checks
    assert pl.broker_reachable(settings, checks=checks) == (
        False,
        "cannot reach Kafka at 127.0.0.1:1",
    )
    assert pl.broker_reachable(settings, checks=checks)[0] is False
    assert calls == ["127.0.0.1:1"]  # the second answer came from the cache
    assert pl.broker_reachable(settings, ttl_s=0, checks=checks)[0] is False and len(calls) == 2


def test_samples_make_a_throughput_series(rt: Runtime) -> None:
    for i, total in enumerate((0, 100, 300, 300)):
        pl.record_sample(rt, StatusSnapshot(events_total=total), now=1000.0 + i)
    pl.record_sample(rt, StatusSnapshot(events_total=999), now=1003.1)  # too soon: skipped
    assert pl.samples(rt) == [(1000.0, 0), (1001.0, 100), (1002.0, 300), (1003.0, 300)]
    assert [round(r) for _, r in pl.throughput(pl.samples(rt))] == [100, 200, 0]


def test_a_counter_reset_starts_a_new_history(rt: Runtime) -> None:
    pl.record_sample(rt, StatusSnapshot(events_total=500), now=1.0)
    pl.record_sample(rt, StatusSnapshot(events_total=10), now=2.0)
    assert pl.samples(rt) == [(2.0, 10)]


def test_ring_buffer_is_bounded(rt: Runtime) -> None:
    for i in range(pl.SAMPLE_CAPACITY + 50):
        pl.record_sample(rt, StatusSnapshot(events_total=i), now=float(i))
    assert len(pl.samples(rt)) == pl.SAMPLE_CAPACITY


def test_dead_letters_newest_first_and_paged(session: Session) -> None:
    t0 = datetime(2025, 11, 20, tzinfo=UTC)
    for i in range(120):
        session.add(DeadLetter(source_topic="payments", partition=i % 3, offset=i,
                               reason="bad_json" if i % 2 else "schema", detail=f"line {i}",
                               payload="{", received_at=t0 + timedelta(seconds=i)))  # fmt: skip
    session.commit()
    assert pl.count_dead_letters(session) == 120
    first = pl.list_dead_letters(session, 1)
    assert len(first) == pl.DEAD_PAGE_SIZE and first[0].offset == 119
    third = pl.list_dead_letters(session, 3)
    assert [d.offset for d in third] == list(range(19, -1, -1))
    assert pl.list_dead_letters(session, 0)[0].offset == 119  # page < 1 means the first


def test_active_ruleset_info_does_not_seed(session: Session) -> None:
    assert pl.active_ruleset_info(session) is None
    active_ruleset(session)  # seeds version 1
    v2 = publish_ruleset(session, default_ruleset(), "rita", label="tuned")
    session.commit()
    info = pl.active_ruleset_info(session)
    assert info is not None and (info.version, info.label, info.author) == (v2, "tuned", "rita")


def test_lag_rows_sorted() -> None:
    snap = StatusSnapshot(lag={"payments[1]": 5, "payments[0]": 2})
    assert pl.lag_rows(snap) == [("payments[0]", 2), ("payments[1]", 5)]
