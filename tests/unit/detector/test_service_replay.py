"""The embedded path: replay source -> service -> SQLite equals the backtest, and resumes."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data_gen.feed import OutMessage, dataset_events, dataset_messages
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import Alert, DeadLetter
from db.rulesets import publish_ruleset
from detector.common.settings import Settings
from detector.engine import Detector
from detector.rules import default_ruleset
from detector.runner import build_service
from detector.service import DetectorService
from detector.sources import ReplaySource


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ds")
    generate(out, GenParams(scale=0.1, seed=7))
    return out


def expected_alerts(dataset: Path) -> dict[str, tuple[int, list[str]]]:
    verdicts = Detector(default_ruleset()).process_all(dataset_events(read_dataset(dataset)))
    return {v.payment_id: (v.score, [r.rule_id for r in v.reasons]) for v in verdicts if v.is_alert}


def stored_alerts(sessions) -> dict[str, tuple[int, list[str]]]:
    with sessions() as s:
        rows = s.execute(select(Alert.payment_id, Alert.score, Alert.reasons)).all()
    return {pid: (score, [r["rule_id"] for r in reasons]) for pid, score, reasons in rows}


def run_replay(settings: Settings, sessions, messages: list[OutMessage], limit: int | None = None):
    source = ReplaySource(messages, settings, "replay:test")
    batches = []
    svc = DetectorService(settings, source, sessions, on_batch=batches.append)
    if limit is None:
        svc.run(until_idle=True)
    else:
        svc.status.update(state="running")
        svc._with_db(lambda s: svc._load_ruleset(s, force=True))
        source.start(svc._lookup_offsets, svc._on_assign, svc._on_revoke)
        while len(batches) < limit:
            svc.step()
    return svc


def test_replay_alerts_equal_backtest_and_restart_resumes(dataset: Path, tmp_path: Path) -> None:
    settings = replace(Settings(), data_dir=tmp_path, batch_max=97)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    messages = dataset_messages(read_dataset(dataset), with_orders=False)
    # Stop after a few batches (as a crash would), then start a fresh service: it must resume.
    run_replay(settings, sessions, messages, limit=5)
    partial = stored_alerts(sessions)
    svc = run_replay(settings, sessions, messages)
    want = expected_alerts(dataset)
    assert 0 < len(partial) < len(want)
    assert stored_alerts(sessions) == want
    snap = svc.status.snapshot()
    assert snap.state == "stopped" and snap.ruleset_version == "1"


def test_bad_messages_are_dead_lettered_and_good_traffic_unaffected(
    dataset: Path, tmp_path: Path
) -> None:
    settings = replace(Settings(), data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    messages = dataset_messages(read_dataset(dataset), with_orders=False)
    # Complete messages but for the one defect each is about (absent fields are checked first).
    teleport = b'{"event_id": "E", "customer_id": "C1", "event_type": "teleport"}'
    huge = (
        b'{"payment_id": "P", "customer_id": "C1", "attempt_ts": "2025-11-02T00:00:00Z",'
        b' "result": "success", "amount": 1e15}'
    )
    future = (
        b'{"event_id": "EFUT", "customer_id": "C1", "session_id": "S", "event_type":'
        b' "page_view", "event_timestamp": "2099-12-31T00:00:00Z"}'
    )
    junk = [
        OutMessage("payments", "C1", b"{not json", messages[10].ts_ms),
        OutMessage("user_events", "C1", future, messages[15].ts_ms),
        OutMessage("user_events", "C1", teleport, messages[20].ts_ms),
        OutMessage("payments", "C1", huge, messages[30].ts_ms),
        OutMessage("payments", "C1", b"x" * 100_000, messages[40].ts_ms),
    ]
    mixed = messages[:11] + junk[:2] + messages[11:21] + junk[2:3] + messages[21:] + junk[3:]
    svc = run_replay(settings, sessions, mixed)
    assert stored_alerts(sessions) == expected_alerts(dataset)
    with sessions() as s:
        reasons = sorted(s.scalars(select(DeadLetter.reason)))
    assert reasons == [
        "absurd_amount", "future_timestamp", "invalid_json", "too_large", "unknown_event_type"
    ]  # fmt: skip
    snap = svc.status.snapshot()
    assert (snap.dead_letters_total, snap.future_total) == (5, 1)


def test_an_idle_detector_picks_up_a_published_rule_set(tmp_path: Path) -> None:
    """No event comes to carry the check: the status must still show the new version soon
    (the sidebar compares it with the published one)."""
    settings = replace(Settings(), data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    svc = DetectorService(settings, ReplaySource([], settings, "replay:idle"), sessions)
    thread = svc.start_thread()
    try:
        deadline = time.monotonic() + 10
        while svc.status.snapshot().ruleset_version != "1" and time.monotonic() < deadline:
            time.sleep(0.05)
        with sessions() as s:
            version = publish_ruleset(s, default_ruleset(), "rule.owner", "idle pick-up")
            s.commit()
        deadline = time.monotonic() + 5
        while svc.status.snapshot().ruleset_version != str(version):
            assert time.monotonic() < deadline, svc.status.snapshot()
            time.sleep(0.05)
        assert svc.status.snapshot().state == "running"
    finally:
        svc.stop()
    assert not thread.is_alive()


def test_a_finished_replay_does_not_spin(dataset: Path, tmp_path: Path) -> None:
    """Issue 14: after a replay ended the loop polled thousands of times a second.  Idle, it
    must wait on its source (a few polls a second) and show a rate of 0."""
    settings = replace(Settings(), data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    messages = dataset_messages(read_dataset(dataset), with_orders=False)[:500]
    source = ReplaySource(messages, settings, "replay:spin")
    polls = [0]
    real_poll = source.poll

    def counting_poll(max_records: int, timeout_s: float):
        polls[0] += 1
        return real_poll(max_records, timeout_s)

    source.poll = counting_poll  # type: ignore[method-assign]
    svc = DetectorService(settings, source, session_factory(engine))
    thread = svc.start_thread()
    try:
        deadline = time.monotonic() + 30
        while not source.finished() or svc.merger.pending:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(1.0)  # the wait grows to its cap
        before = polls[0]
        time.sleep(2.0)
        idle_polls = polls[0] - before
    finally:
        svc.stop()
    assert not thread.is_alive()
    assert idle_polls <= 2.0 / 0.25 + 2, idle_polls
    assert svc.status.snapshot().events_total == 500


def test_a_replays_alerts_name_its_dataset(dataset: Path, tmp_path: Path) -> None:
    settings = replace(Settings(), data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    build_service(settings, sessions, replay_dir=dataset).run(until_idle=True)
    with sessions() as s:
        names = s.execute(select(Alert.dataset, func.count()).group_by(Alert.dataset)).all()
    assert [(name, n > 0) for name, n in names] == [(dataset.name, True)]


@pytest.mark.parametrize(("window_days", "reason"), [(7, "stale"), (365, "duplicate")])
def test_the_service_remembers_ids_for_the_dedup_window_setting(
    dataset: Path, tmp_path: Path, window_days: int, reason: str
) -> None:
    """The dataset's first payment sent again after the whole stream (weeks of event time
    later): beyond the default 7-day window it is stale, within a 365-day one a duplicate;
    ignored either way."""
    settings = replace(Settings(), data_dir=tmp_path, dedup_window_ms=window_days * 86_400_000)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    messages = dataset_messages(read_dataset(dataset), with_orders=False)
    first = next(m for m in messages if m.kind == "payments")
    svc = run_replay(settings, sessions, [*messages, first])
    assert stored_alerts(sessions) == expected_alerts(dataset)
    sample = svc.telemetry.registry.get_sample_value
    assert sample("kvt_repeated_events_total", {"reason": reason, "kind": "payment"}) == 1
    assert svc.status.snapshot().repeated_total == 1
