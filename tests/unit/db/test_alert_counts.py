"""Alert aggregates for the insights charts: every SQL aggregate equals the same count done in
Python on the rows."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from data_gen.feed import dataset_messages
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from db import alert_counts as counts
from db.alerts import decide
from db.engine import make_engine, session_factory
from db.loader import load_dataset
from db.migrate import upgrade
from db.models import Alert, AlertDecision, PaymentRow
from detector.common.settings import Settings
from detector.rules import RULE_IDS
from detector.service import DetectorService
from detector.sources import ReplaySource

# (alert index in id order, action, analyst): indices chosen so several rules get decisions.
DECISIONS = [
    (0, "BLOCK", "alice"),
    (1, "APPROVE", "bob"),
    (2, "BLOCK", "bob"),
    (3, "APPROVE", "alice"),
    (4, "INVESTIGATE", "alice"),
    (5, "BLOCK", "alice"),
]


def seed(data_dir: Path, *, load_payments: bool = True, decisions: bool = True) -> Engine:
    """Replay a tiny dataset through the real detector; load its payments; decide a few."""
    ds = data_dir / "ds"
    generate(ds, GenParams(scale=0.05, seed=7))
    settings = replace(Settings(), data_dir=data_dir)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    if load_payments:
        load_dataset(engine, ds)
    messages = dataset_messages(read_dataset(ds), with_orders=False)
    source = ReplaySource(messages, settings, "replay:test")
    DetectorService(settings, source, session_factory(engine)).run(until_idle=True)
    with Session(engine) as s:
        ids = list(s.scalars(select(Alert.alert_id).order_by(Alert.alert_id)))
        for i, action, actor in DECISIONS if decisions else ():
            decide(s, ids[i], action, actor, None, 1)  # type: ignore[arg-type]
        s.commit()
    return engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return seed(tmp_path_factory.mktemp("ins"))


@pytest.fixture(scope="module")
def bare_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded data dir whose payments table was never loaded (engine closed: copyable)."""
    root = tmp_path_factory.mktemp("bare")
    seed(root, load_payments=False).dispose()
    return root


@pytest.fixture
def bare(bare_template: Path, tmp_path: Path) -> Engine:
    shutil.copy(bare_template / "kvt.db", tmp_path / "kvt.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'kvt.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Session:
    with Session(engine) as s:
        yield s


def alerts_of(session: Session) -> list[Alert]:
    return list(session.scalars(select(Alert)))


def test_totals_and_reasons_match_python_counts(session: Session) -> None:
    alerts = alerts_of(session)
    assert len(alerts) > 20
    tot = counts.totals(session)
    assert tot.alerts == len(alerts)
    assert tot.high == sum(a.severity == "HIGH" for a in alerts)
    assert (tot.blocked, tot.approved, tot.decided) == (3, 2, 5)
    assert 0 < tot.alert_rate < 1
    want = Counter(r["rule_id"] for a in alerts for r in a.reasons)
    got = counts.reasons_distribution(session).set_index("rule_id")["alerts"].to_dict()
    assert got == {rid: want.get(rid, 0) for rid in RULE_IDS}


def test_cooccurrence_is_symmetric_with_totals_on_the_diagonal(session: Session) -> None:
    co = counts.reason_cooccurrence(session)
    assert len(co) == len(RULE_IDS) ** 2
    m = co.pivot(index="rule_a", columns="rule_b", values="alerts")
    assert (m.values == m.values.T).all()
    reasons = counts.reasons_distribution(session).set_index("rule_id")["alerts"]
    for rid in RULE_IDS:
        assert m.loc[rid, rid] == reasons[rid]
    alerts = alerts_of(session)
    pair = sum(
        {"FIRST_PAYMENT", "NEW_CUSTOMER"} <= {r["rule_id"] for r in a.reasons} for a in alerts
    )
    assert m.loc["FIRST_PAYMENT", "NEW_CUSTOMER"] == pair > 0


# Kolkata (+05:30) and Kathmandu (+05:45) are not whole hours off UTC.
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Asia/Kolkata", "Asia/Kathmandu"]


@pytest.mark.parametrize("tz", ZONES)
def test_severity_hour_and_day_match_the_rows_in_the_display_zone(
    session: Session, tz: str
) -> None:
    alerts = alerts_of(session)
    sev = counts.severity_split(session).set_index("severity")["alerts"].to_dict()
    assert sev == dict(Counter(a.severity for a in alerts))
    zone = ZoneInfo(tz)
    hours = counts.alerts_by_hour(session, tz)
    assert list(hours["hour"]) == list(range(24))
    want_h = Counter(a.event_ts.astimezone(zone).hour for a in alerts)
    assert hours.set_index("hour")["alerts"].to_dict() == {h: want_h.get(h, 0) for h in range(24)}
    days = counts.alerts_by_day(session, tz)
    want_d = Counter((a.event_ts.astimezone(zone).strftime("%Y-%m-%d"), a.severity) for a in alerts)
    assert {(d, s): n for d, s, n in days.itertuples(index=False)} == dict(want_d)


def test_breakdowns_including_method_from_payments(session: Session) -> None:
    alerts = alerts_of(session)
    for dim in ("country", "device", "utm_source"):
        got = counts.breakdown(session, dim)
        want = Counter(getattr(a, dim) or counts.UNKNOWN for a in alerts)
        assert got.set_index("value")["alerts"].to_dict() == dict(want)
        assert list(got["alerts"]) == sorted(got["alerts"], reverse=True)
    methods = {k: v for k, v in session.execute(select(PaymentRow.payment_id, PaymentRow.method))}
    got = counts.breakdown(session, "method").set_index("value")["alerts"].to_dict()
    assert got == dict(Counter(methods[a.payment_id] for a in alerts))
    assert counts.UNKNOWN not in got
    with pytest.raises(ValueError, match="dimension"):
        counts.breakdown(session, "amount")


def test_no_method_is_counted_without_the_payments_table(bare: Engine) -> None:
    # Not loaded is not "unknown": the page says where methods come from instead of a bar.
    with Session(bare) as s:
        got = counts.breakdown(s, "method")
        assert got.empty and counts.totals(s).alerts > 0
        prec = counts.rule_precision(s)
    assert (prec["labelled"] == 0).all() and prec["label_precision"].isna().all()


def test_decisions_and_workload_by_day(engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as s:
        dec = counts.decisions_by_day(s)
        work = counts.analyst_workload(s)
    assert dec.groupby("action")["decisions"].sum().to_dict() == {
        "APPROVE": 2,
        "BLOCK": 3,
        "INVESTIGATE": 1,
    }
    assert work.groupby("analyst")["decisions"].sum().to_dict() == {"alice": 4, "bob": 2}
    # A decision on another day (the trail is append-only: add one rather than move one): the
    # grouping follows the decision's own time.
    with Session(engine) as s:
        first = s.get(AlertDecision, s.scalar(select(func.min(AlertDecision.id))))
        assert first is not None and first.actor == "alice"
        s.add(
            AlertDecision(
                alert_id=first.alert_id,
                action=first.action,
                from_status=first.from_status,
                to_status=first.to_status,
                actor="alice",
                at=datetime(2025, 1, 2, 23, 59, tzinfo=UTC),
            )
        )
        s.commit()
        utc = counts.analyst_workload(s, "UTC")
        paris = counts.analyst_workload(s, "Europe/Paris")
    assert ("2025-01-02", "alice", 1) in set(utc.itertuples(index=False))
    assert ("2025-01-03", "alice", 1) in set(paris.itertuples(index=False))  # 00:59 in Paris


def test_rule_precision_from_decisions_and_labels(session: Session) -> None:
    alerts = alerts_of(session)
    labels = {k: v for k, v in session.execute(select(PaymentRow.payment_id, PaymentRow.is_fraud))}
    prec = counts.rule_precision(session).set_index("rule_id")
    for rid in RULE_IDS:
        fired = [a for a in alerts if rid in {r["rule_id"] for r in a.reasons}]
        blocked = sum(a.status == "BLOCKED" for a in fired)
        approved = sum(a.status == "APPROVED" for a in fired)
        frauds = sum(bool(labels[a.payment_id]) for a in fired)
        row = prec.loc[rid]
        assert (row["alerts"], row["blocked"], row["approved"]) == (len(fired), blocked, approved)
        assert row["labelled"] == len(fired) and row["frauds"] == frauds
        if blocked + approved:
            assert row["decision_precision"] == pytest.approx(blocked / (blocked + approved))
        else:
            assert pd.isna(row["decision_precision"])
    assert prec["decision_precision"].notna().any()


def test_data_version_changes_with_decisions_and_payments(
    bare: Engine, bare_template: Path
) -> None:
    with Session(bare) as s:
        v0 = counts.data_version(s)
        alert_id = s.scalars(select(Alert.alert_id).where(Alert.status == "PENDING_REVIEW")).first()
        decide(s, alert_id, "BLOCK", "carol", "seen", 1)
        s.commit()
        v1 = counts.data_version(s)
    assert v1[0] == v0[0] and v1[1] > v0[1]
    load_dataset(bare, bare_template / "ds")
    with Session(bare) as s:
        v2 = counts.data_version(s)
    assert v2[2] > v1[2] == 0


def test_a_dataset_counts_its_own_payments_not_another_datasets_of_the_same_id(
    tmp_path: Path,
) -> None:
    """Datasets A and B number their payments alike; A is loaded, both are replayed.  B's
    insights join none of A's payments (no method, label or payment count of A's), A's
    join all of its own."""
    settings = replace(Settings(), data_dir=tmp_path)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    paths = {}
    for name, seed in (("shop-a", 7), ("shop-b", 8)):
        paths[name] = tmp_path / name
        generate(paths[name], GenParams(scale=0.05, seed=seed))
        messages = dataset_messages(read_dataset(paths[name]), with_orders=False)
        source = ReplaySource(messages, settings, f"replay:{name}")
        DetectorService(settings, source, session_factory(engine), dataset=name).run(
            until_idle=True
        )
    load_dataset(engine, paths["shop-a"])
    with Session(engine) as s:
        b_ids = set(s.scalars(select(Alert.payment_id).where(Alert.dataset == "shop-b")))
        loaded = dict(s.execute(select(PaymentRow.payment_id, PaymentRow.dataset)).all())
        assert b_ids & set(loaded) and set(loaded.values()) == {"shop-a"}  # the premise
        assert counts.breakdown(s, "method", "shop-b").empty
        assert (counts.rule_precision(s, "shop-b")["labelled"] == 0).all()
        assert counts.totals(s, "shop-b").payments == 0
        a = list(s.scalars(select(Alert).where(Alert.dataset == "shop-a")))
        methods = dict(s.execute(select(PaymentRow.payment_id, PaymentRow.method)).all())
        got = counts.breakdown(s, "method", "shop-a").set_index("value")["alerts"].to_dict()
        assert got == dict(Counter(methods[x.payment_id] for x in a))
        assert counts.totals(s, "shop-a").payments == len(loaded)
    engine.dispose()
