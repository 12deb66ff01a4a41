"""Datasets as a dimension: a replay's alerts name their dataset, the queue shows one dataset,
a replay over another keeps or clears the first one's alerts, and an alert's history and
timeline are read in its own dataset right after the replay (no load step)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from data_gen.feed import dataset_events
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from db import audit as trail
from db.detector_store import alert_id_for
from db.models import Alert, AlertDecision, ConsumerOffset
from desk import data_ops, datasets, insights, studio
from desk import queue as q
from desk.runtime import Runtime
from detector.common.settings import Settings
from detector.engine import Detector
from detector.rules import default_ruleset
from detector.runner import replay_group
from tests.unit.db.builders import signed_in


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.create(replace(Settings(), data_dir=tmp_path))
    yield runtime
    runtime.stop()
    runtime.engine.dispose()


@pytest.fixture
def two(rt: Runtime) -> tuple[Path, Path]:
    root = studio.datasets_root(rt.settings.data_dir)
    a = studio.generate_dataset(root, "shop-a", GenParams(scale=0.04, seed=11))
    b = studio.generate_dataset(root, "shop-b", GenParams(scale=0.04, seed=12))
    return a, b


def replayed(rt: Runtime, path: Path, timeout_s: float = 120.0) -> None:
    """Wait until every payment of the dataset is scored and committed."""
    payments = len(read_dataset(path).payments)
    group = replay_group(path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with rt.sessions() as s:
            done = s.scalar(
                select(ConsumerOffset.next_offset).where(
                    ConsumerOffset.group_id == group,
                    ConsumerOffset.topic == rt.settings.topics.payments,
                )
            )
        if done == payments:
            return
        time.sleep(0.1)
    raise AssertionError(f"replay of {path.name} did not finish")


def backtest(path: Path) -> set[str]:
    return set(backtest_scores(path))


def backtest_scores(path: Path) -> dict[str, int]:
    verdicts = Detector(default_ruleset()).process_all(dataset_events(read_dataset(path)))
    return {v.payment_id: v.score for v in verdicts if v.is_alert}


def stored(rt: Runtime, dataset: str) -> set[str]:
    with rt.sessions() as s:
        return set(s.scalars(select(Alert.payment_id).where(Alert.dataset == dataset)))


def test_two_replays_stay_apart_and_the_second_is_scored_on_its_own(
    rt: Runtime, two: tuple[Path, Path]
) -> None:
    a, b = two
    owner = signed_in(rt.sessions, "owner", "rule_owner")
    data_ops.replay(rt, owner, a, None)
    replayed(rt, a)
    plan = datasets.replay_plan(rt, "shop-b")
    assert plan.asks and [d.name for d in plan.others] == ["shop-a"]
    assert not datasets.replay_plan(rt, "shop-a").asks  # replaying it again asks nothing
    data_ops.replay(rt, owner, b, None)  # keep shop-a's alerts
    replayed(rt, b)

    kept_a, got_b = stored(rt, "shop-a"), stored(rt, "shop-b")
    assert kept_a == backtest(a)
    # shop-b is scored as if alone (shop-a's customer states were forgotten), every alert of
    # its own, although both datasets number their payments alike.
    assert got_b == backtest(b) and kept_a & got_b

    listed = datasets.load_alert_datasets(rt)
    assert [d.name for d in listed] == ["shop-b", "shop-a"]  # the latest scored first
    assert [d.alerts for d in listed] == [len(got_b), len(kept_a)]
    assert datasets.page_default(rt, listed) == "shop-b"

    only_a = q.build_filters(dataset="shop-a")
    with rt.sessions() as s:
        ov = q.overview(s, "shop-a")
        page = q.queue_page(s, only_a, page_size=1000, ov=ov)
    assert ov.total == page.total == len(kept_a)
    assert {r.dataset for r in page.rows} == {"shop-a"}
    assert ov.matching(q.build_filters(dataset="shop-b")) is None  # not what it counted
    # The alert rate of a replay: its own payments, although the detector's counter adds up
    # both replays of this process.
    stats, _ = q.load_page(rt, q.build_filters(dataset="shop-b"), "score_desc", 1)
    n_b = len(read_dataset(b).payments)
    assert stats.payments_scored == n_b < rt.snapshot().payments_total
    assert stats.alert_rate == len(got_b) / n_b

    # Insights and the pipeline read one dataset too, with its own payments as denominator.
    only = insights.insights(rt, "UTC", "shop-a")
    assert only.totals.alerts == len(kept_a) and only.totals.payments == len(
        read_dataset(a).payments
    )
    assert int(only.reasons["alerts"].sum()) < int(
        insights.insights(rt, "UTC").reasons["alerts"].sum()
    )
    assert int(only.by_day["alerts"].sum()) == len(kept_a)
    view = datasets.dataset_view(rt, "shop-a")
    assert (view.alerts, view.scored_now) == (len(kept_a), False)
    assert datasets.dataset_view(rt, "shop-b").scored_now  # the replay running now


def alert_rows(rt: Runtime, dataset: str) -> dict[str, tuple[str, int, str, int]]:
    """payment id -> (alert id, score, status, row version) of one dataset's alerts."""
    cols = (Alert.payment_id, Alert.alert_id, Alert.score, Alert.status, Alert.row_version)
    with rt.sessions() as s:
        rows = s.execute(select(*cols).where(Alert.dataset == dataset)).all()
    return {p: (i, sc, st, v) for p, i, sc, st, v in rows}


def test_overlapping_payment_ids_get_one_alert_per_dataset_and_a_decision_stays_on_its_own(
    rt: Runtime, two: tuple[Path, Path]
) -> None:
    a, b = two
    owner = signed_in(rt.sessions, "owner", "rule_owner")
    analyst = signed_in(rt.sessions, "ana", "analyst")
    data_ops.replay(rt, owner, a, None)
    replayed(rt, a)
    in_a = alert_rows(rt, "shop-a")
    shared = sorted(set(in_a) & backtest(b))
    assert shared  # both generated datasets number their payments from PAY00000001
    pid = shared[0]
    a_id = in_a[pid][0]
    assert q.decide_many(rt, [(a_id, 1)], "BLOCK", analyst, "stolen card").ok
    data_ops.replay(rt, owner, b, None)  # keep shop-a's alerts
    replayed(rt, b)

    in_b = alert_rows(rt, "shop-b")
    scores_b = backtest_scores(b)
    assert {p: r[1] for p, r in in_b.items()} == scores_b  # each with shop-b's own score
    b_id = in_b[pid][0]
    assert (a_id, b_id) == (alert_id_for(pid, "shop-a"), alert_id_for(pid, "shop-b"))
    assert a_id != b_id and a_id != alert_id_for(pid)  # nor the live stream's
    assert in_b[pid][2:] == ("PENDING_REVIEW", 1)  # shop-a's block is not shown on shop-b's
    assert alert_rows(rt, "shop-a")[pid][2:] == ("BLOCKED", 2)
    # A decision on shop-b's alert leaves shop-a's as it was, and each keeps its own trail.
    assert q.decide_many(rt, [(b_id, 1)], "APPROVE", analyst, "known buyer").ok
    assert alert_rows(rt, "shop-a")[pid][2:] == ("BLOCKED", 2)
    assert alert_rows(rt, "shop-b")[pid][2:] == ("APPROVED", 2)
    with rt.sessions() as s:
        decided = select(AlertDecision.alert_id, AlertDecision.to_status)
        rows = s.execute(decided.where(AlertDecision.alert_id.in_([a_id, b_id]))).all()
    trail_of = {i: to for i, to in rows}
    assert trail_of == {a_id: "BLOCKED", b_id: "APPROVED"} and len(rows) == 2
    view = q.load_alert(rt, b_id)
    assert view is not None and view.detail.fields["dataset"] == "shop-b"
    assert view.detail.fields["payment_id"] == pid

    # Replaying shop-a again (its states were forgotten for shop-b's replay) finds its alerts
    # again and leaves them as they were: no second alert, the block still there.
    assert datasets.replay_plan(rt, "shop-a").asks
    data_ops.replay(rt, owner, a, None)
    replayed(rt, a)
    again = alert_rows(rt, "shop-a")
    assert set(again) == set(in_a) and again[pid][2:] == ("BLOCKED", 2)
    assert {p: r[1] for p, r in again.items()} == {p: r[1] for p, r in in_a.items()}


def test_clearing_on_replay_removes_the_other_datasets_alerts_and_says_so(
    rt: Runtime, two: tuple[Path, Path]
) -> None:
    a, b = two
    owner = signed_in(rt.sessions, "owner", "rule_owner")
    data_ops.replay(rt, owner, a, None)
    replayed(rt, a)
    in_a = stored(rt, "shop-a")
    blocked = sorted(in_a)[0]
    analyst = signed_in(rt.sessions, "ana", "analyst")
    assert q.decide_many(rt, [(alert_id_for(blocked, "shop-a"), 1)], "BLOCK", analyst).ok
    plan = datasets.replay_plan(rt, "shop-b")
    assert plan.decided == 1
    assert data_ops.replay(rt, owner, b, None, clear=["shop-a"]) == len(in_a) - 1
    replayed(rt, b)
    assert stored(rt, "shop-a") == {blocked}  # a decision is never erased
    assert stored(rt, "shop-b") == backtest(b)
    with rt.sessions() as s:
        (last,) = trail.list_events(s, trail.AuditFilters(action=trail.DATA_CHANGE), limit=1)
    assert last.detail["cleared"] == ["shop-a"]
    assert last.detail["alerts_cleared"] == len(in_a) - 1


def test_an_alerts_history_and_timeline_come_from_its_dataset_without_a_load(
    rt: Runtime, two: tuple[Path, Path]
) -> None:
    a, b = two
    owner = signed_in(rt.sessions, "owner", "rule_owner")
    data_ops.replay(rt, owner, a, None)
    replayed(rt, a)
    data_ops.replay(rt, owner, b, None)  # shop-a is no longer the dataset replayed
    replayed(rt, b)
    pay = read_dataset(a).payments
    counts = pay["customer_id"].value_counts()
    with rt.sessions() as s:
        alert = s.scalars(
            select(Alert)
            .where(Alert.dataset == "shop-a", Alert.customer_id.in_(counts[counts > 2].index))
            .order_by(Alert.event_ts.desc())
        ).first()
    assert alert is not None and alert.session_id
    view = q.load_alert(rt, alert.alert_id)
    assert view is not None and view.timeline is not None
    assert view.timeline.has_clickstream  # the events of shop-a's file
    earlier = pay[(pay["customer_id"] == alert.customer_id)]
    earlier = earlier[earlier["payment_id"] != alert.payment_id]
    earlier_ids = {
        p for p, ts in zip(earlier["payment_id"], earlier["attempt_ts"], strict=True)
        if ts <= alert.event_ts
    }  # fmt: skip
    assert view.history.payments_loaded and earlier_ids
    assert {p.payment_id for p in view.history.payments} == earlier_ids
    assert alert.payment_id not in {p.payment_id for p in view.history.payments}
    assert {x.dataset for x in view.history.alerts} <= {"shop-a"}


def test_a_datasets_payments_come_from_its_manifest_else_its_file(
    rt: Runtime, two: tuple[Path, Path]
) -> None:
    a, _ = two
    n = len(read_dataset(a).payments)
    assert datasets.payments_of(rt, "shop-a") == n
    (a / "manifest.json").unlink()  # an import without one
    assert datasets.payments_of(rt, "shop-a") == n
    assert datasets.payments_of(rt, "live") is None
    assert datasets.payments_of(rt, "gone") is None
