"""Datasets on PostgreSQL: migration 0009 on a table with alerts, the one-statement batch
writing each alert's dataset, the queue filter, and a replay clearing one dataset only."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, text

from db import migrate
from db.alerts import AlertFilters, count_alerts, decide, list_alerts
from db.detector_store import alert_id_for
from db.models import Alert, AlertDecision, AlertReason, ConsumerOffset, DetectorStateRow
from desk import datasets
from tests.unit.db.builders import batch, scored, session_of, write

pytestmark = pytest.mark.integration


def test_alerts_before_0009_read_unattributed_without_a_rewrite(bare_engine: Engine) -> None:
    migrate.upgrade(bare_engine, "0008")
    with bare_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO fraud_alerts (alert_id, payment_id, event_ts, alert_ts, customer_id,"
                " amount, score, severity, reasons, ruleset_version, created_at, updated_at)"
                " VALUES ('ALT-P1', 'P1', now(), now(), 'C1', 12.5, 70, 'MEDIUM', '[]', '1',"
                " now(), now())"
            )
        )
    migrate.upgrade(bare_engine)
    pairs, states = scored(batch(20))
    with session_of(bare_engine) as s:
        write(s, pairs, states)  # the one-statement PostgreSQL batch
        s.commit()
        got = dict(s.execute(select(Alert.dataset, func.count()).group_by(Alert.dataset)).all())
    assert got == {"?": 1, "live": sum(v.is_alert for v, _ in pairs)}


def test_each_batch_names_its_dataset_and_the_queue_filters_by_it(pg_engine: Engine) -> None:
    pairs, states = scored(batch(80))
    with session_of(pg_engine) as s:
        write(s, pairs[:40], states, dataset="shop-a")
        write(s, pairs[40:], states, dataset="shop-b")
        s.commit()
        in_a = {alert_id_for(v.payment_id, "shop-a") for v, _ in pairs[:40] if v.is_alert}
        only_a = AlertFilters(dataset="shop-a")
        assert {a.alert_id for a in list_alerts(s, only_a, page_size=1000)} == in_a
        assert count_alerts(s, only_a) == len(in_a)
        pending_b = AlertFilters(dataset="shop-b", status="PENDING_REVIEW")
        assert count_alerts(s, pending_b) == sum(v.is_alert for v, _ in pairs[40:])
        listed = [(d.name, d.alerts) for d in datasets.alert_datasets(s)]
        assert sorted(listed) == [("shop-a", len(in_a)), ("shop-b", count_alerts(s, pending_b))]


def test_clearing_a_dataset_leaves_the_others_and_forgets_replay_state(pg_engine: Engine) -> None:
    pairs, states = scored(batch(80))
    with session_of(pg_engine) as s:
        write(s, pairs[:40], states, dataset="shop-a", group_id="replay:aaaa",
              offsets={("payments", 0): 40}, expected={("payments", 0): None})  # fmt: skip
        write(s, pairs[40:], states, dataset="live", group_id="fraud-detector")
        s.commit()
        decided = sorted(alert_id_for(v.payment_id, "shop-a") for v, _ in pairs[:40] if v.is_alert)[
            0
        ]
        decide(s, decided, "BLOCK", "ana", None, 1)
        s.commit()
        live = count_alerts(s, AlertFilters(dataset="live"))
        # A replay of another dataset: shop-a's states and offsets must not score it.
        assert datasets.switch_replay_state(s, "replay:bbbb")
        assert (
            datasets.clear_alerts(s, ["shop-a", "live"])
            == len([v for v, _ in pairs[:40] if v.is_alert]) - 1
        )  # the decided alert stays, and the live stream's alerts are never cleared so
        s.commit()
        assert list(s.scalars(select(Alert.alert_id).where(Alert.dataset == "shop-a"))) == [decided]
        assert count_alerts(s, AlertFilters(dataset="live")) == live > 0
        assert s.scalar(select(func.count()).select_from(DetectorStateRow)) == 0
        groups = set(s.scalars(select(ConsumerOffset.group_id)))
        assert not {g for g in groups if g.startswith("replay:")}
        left = set(s.scalars(select(AlertReason.alert_id)))
        assert left == set(s.scalars(select(Alert.alert_id)))  # no orphan reason
        assert s.scalar(select(func.count()).where(AlertDecision.alert_id == decided)) == 1
        assert not datasets.switch_replay_state(s, "replay:bbbb")  # nothing left to forget


def test_overlapping_payment_ids_are_one_alert_per_dataset_through_the_one_statement_batch(
    bare_engine: Engine,
) -> None:
    migrate.upgrade(bare_engine, "0009")
    with bare_engine.begin() as conn:  # a replay's alert before 0010, with the live form of id
        conn.execute(
            text(
                "INSERT INTO fraud_alerts (alert_id, payment_id, event_ts, alert_ts, customer_id,"
                " amount, score, severity, reasons, ruleset_version, dataset, created_at,"
                " updated_at) VALUES ('ALT-OLD1', 'OLD1', now(), now(), 'C1', 12.5, 70,"
                " 'MEDIUM', '[]', '1', 'shop-a', now(), now())"
            )
        )
    migrate.upgrade(bare_engine)
    pairs, states = scored(batch(40))
    alerting = [v.payment_id for v, _ in pairs if v.is_alert]
    with session_of(bare_engine) as s:
        for dataset in ("shop-a", "shop-b", "shop-a", "shop-b"):  # each twice: a restart
            write(s, pairs, states, dataset=dataset)
            s.commit()
        by_dataset = dict(
            s.execute(select(Alert.dataset, func.count()).group_by(Alert.dataset)).all()
        )
        assert by_dataset == {"shop-a": len(alerting) + 1, "shop-b": len(alerting)}
        pid = alerting[0]
        a, b = alert_id_for(pid, "shop-a"), alert_id_for(pid, "shop-b")
        decide(s, a, "BLOCK", "ana", "stolen card", 1)
        s.commit()
        rows = s.execute(
            select(Alert.alert_id, Alert.status, Alert.row_version).where(Alert.payment_id == pid)
        ).all()
        assert sorted(tuple(r) for r in rows) == [(a, "BLOCKED", 2), (b, "PENDING_REVIEW", 1)]
        reasons = s.scalar(select(func.count()).where(AlertReason.alert_id.in_([a, b])))
        assert reasons == 2 * len(next(v for v, _ in pairs if v.is_alert).reasons)
        kept = s.execute(select(DetectorStateRow.dataset, func.count()).group_by(
            DetectorStateRow.dataset)).all()  # fmt: skip
        assert dict(kept) == {"shop-a": len(states), "shop-b": len(states)}  # one per dataset
        # Each dataset's customers have their own states (0012 refuses to drop them): forget
        # them, so that 0010's refusal is the one tested.
        s.execute(text("DELETE FROM detector_state WHERE dataset <> 'live'"))
        s.commit()
    with pytest.raises(migrate.DowngradeRefused, match=f"{len(alerting)} payment id"):
        migrate.downgrade(bare_engine, "0009")
    assert migrate.current_revision(bare_engine) == migrate.head_revision()
