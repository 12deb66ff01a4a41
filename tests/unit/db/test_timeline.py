"""Timelines from the relational store (SQLite), and the merge with an archive's events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from db.archive import EventArchive
from db.engine import session_factory
from db.models import Alert, AlertDecision, PaymentRow, WebSession
from db.timeline import (
    DatasetEvents,
    TimelineEntry,
    customer_timeline,
    event_reader_for,
    session_timeline,
)
from detector.common.settings import Settings

T0 = datetime(2025, 11, 20, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def add_history(session: Session) -> None:
    """C1: sessions S1 (a blocked, alerted payment) and S2 (a clean payment); C2: S3."""
    session.add_all(
        [
            WebSession(session_id="S1", customer_id="C1", start_ts=at(0), end_ts=at(30),
                       device="mobile", country="FR", utm_source="google"),
            WebSession(session_id="S2", customer_id="C1", start_ts=at(120), end_ts=None),
            WebSession(session_id="S3", customer_id="C2", start_ts=at(5), end_ts=at(6)),
            _payment("P1", "C1", "S1", at(20), 950.0, "failed"),
            _payment("P2", "C1", "S2", at(125), 12.5, "success"),
            _payment("P3", "C2", "S3", at(5.5), 40.0, "success"),
            _alert("A1", "P1", "C1", "S1", at(20)),
            _alert("A3", "P3", "C2", "S3", at(5.5)),
        ]
    )  # fmt: skip
    session.flush()
    session.add_all(
        [
            AlertDecision(alert_id="A1", action="INVESTIGATE", from_status="PENDING_REVIEW",
                          to_status="INVESTIGATING", actor="ana", at=at(200), note="call"),
            AlertDecision(alert_id="A1", action="BLOCK", from_status="INVESTIGATING",
                          to_status="BLOCKED", actor="bob", at=at(260), note=None),
        ]
    )  # fmt: skip
    session.commit()


def _payment(pid: str, cid: str, sid: str, ts: datetime, amount: float, result: str) -> PaymentRow:
    return PaymentRow(payment_id=pid, customer_id=cid, session_id=sid, attempt_ts=ts,
                      amount=amount, currency="EUR", result=result, method="card")  # fmt: skip


def _alert(aid: str, pid: str, cid: str, sid: str, ts: datetime) -> Alert:
    return Alert(alert_id=aid, payment_id=pid, event_ts=ts, alert_ts=ts, customer_id=cid,
                 session_id=sid, amount=950.0, score=85, severity="HIGH",
                 reasons=[{"rule_id": "R1"}, {"rule_id": "R7"}], ruleset_version="1")  # fmt: skip


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    sessions = session_factory(engine)
    with sessions() as s:
        add_history(s)
    return sessions


def kinds(entries: list[TimelineEntry]) -> list[tuple[str, str | None]]:
    return [(e.kind, e.session_id) for e in entries]


def test_customer_timeline_from_the_relational_store(factory: sessionmaker[Session]) -> None:
    tl = customer_timeline("C1", sessions_factory=factory)
    assert kinds(tl) == [
        ("session_start", "S1"),
        ("payment", "S1"),
        ("alert", "S1"),
        ("session_end", "S1"),
        ("session_start", "S2"),
        ("payment", "S2"),
        ("decision", "S1"),
        ("decision", "S1"),
    ]
    assert [e.ts for e in tl] == sorted(e.ts for e in tl)
    assert tl[0].detail == {"device": "mobile", "country": "FR", "utm_source": "google"}
    assert tl[1].detail["payment_id"] == "P1" and tl[1].detail["result"] == "failed"
    alert = tl[2].detail
    assert (alert["alert_id"], alert["score"], alert["rules"]) == ("A1", 85, ["R1", "R7"])
    assert [(d.detail["action"], d.detail["actor"]) for d in tl[-2:]] == [
        ("INVESTIGATE", "ana"),
        ("BLOCK", "bob"),
    ]
    assert all(e.ts.tzinfo is not None for e in tl)


def test_session_timeline_keeps_to_its_session(factory: sessionmaker[Session]) -> None:
    tl = session_timeline("S3", sessions_factory=factory)
    assert kinds(tl) == [
        ("session_start", "S3"),
        ("payment", "S3"),
        ("alert", "S3"),
        ("session_end", "S3"),
    ]
    assert session_timeline("S404", sessions_factory=factory) == []
    assert customer_timeline("C404", sessions_factory=factory) == []


def test_limit_keeps_the_latest_entries_oldest_first(factory: sessionmaker[Session]) -> None:
    tl = customer_timeline("C1", sessions_factory=factory, limit=3)
    assert kinds(tl) == [("payment", "S2"), ("decision", "S1"), ("decision", "S1")]
    assert customer_timeline("C1", sessions_factory=factory, limit=0) == []


class FakeArchive:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs
        self.calls: list[tuple[str, str, int]] = []

    def customer_events(self, customer_id: str, limit: int = 200) -> list[dict[str, Any]]:
        self.calls.append(("customer", customer_id, limit))
        return [d for d in self.docs if d["customer_id"] == customer_id][-limit:]

    def session_events(self, session_id: str, limit: int = 200) -> list[dict[str, Any]]:
        self.calls.append(("session", session_id, limit))
        return [d for d in self.docs if d["session_id"] == session_id][-limit:]


def _event(eid: str, sid: str, kind: str, ts: datetime, **extra: Any) -> dict[str, Any]:
    return {"event_id": eid, "customer_id": "C1", "session_id": sid, "event_type": kind,
            "event_timestamp": ts, "product_id": None, **extra}  # fmt: skip


def test_with_an_archive_events_replace_the_session_rows(factory: sessionmaker[Session]) -> None:
    archive = FakeArchive(
        [
            _event("E1", "S1", "page_view", at(1)),
            _event("E2", "S1", "add_to_cart", at(10), product_id="P9", amount=950.0),
            _event("E3", "S1", "payment_attempt", at(20), payment_id="P1"),  # same ms as P1
        ]
    )
    tl = customer_timeline("C1", sessions_factory=factory, archive=archive, limit=50)
    assert archive.calls == [("customer", "C1", 50)]
    assert kinds(tl) == [
        ("page_view", "S1"),
        ("add_to_cart", "S1"),
        ("payment_attempt", "S1"),
        ("payment", "S1"),
        ("alert", "S1"),
        ("payment", "S2"),
        ("decision", "S1"),
        ("decision", "S1"),
    ]
    assert tl[1].detail == {"event_id": "E2", "product_id": "P9", "amount": 950.0}
    s1 = session_timeline("S1", sessions_factory=factory, archive=archive)
    assert archive.calls[-1] == ("session", "S1", 200)
    assert [k for k, _ in kinds(s1)] == [
        "page_view",
        "add_to_cart",
        "payment_attempt",
        "payment",
        "alert",
        "decision",
        "decision",
    ]


def test_events_come_from_the_archive_else_the_replayed_dataset_else_nowhere(
    tmp_path: Path,
) -> None:
    ds = tmp_path / "ds"
    generate(ds, GenParams(scale=0.02, seed=2))
    plain = replace(Settings(), data_dir=tmp_path)
    assert event_reader_for(plain, None) is None
    assert event_reader_for(plain, tmp_path / "gone") is None
    assert isinstance(event_reader_for(plain, ds), DatasetEvents)
    # Configured, the archive wins even while a dataset is replayed (it connects lazily).
    mongo = replace(plain, mongo_url="mongodb://127.0.0.1:9/", mongo_db="kvt_unit")
    archive = event_reader_for(mongo, ds)
    assert isinstance(archive, EventArchive) and archive.source == "MongoDB archive"
    assert event_reader_for(mongo, None) is archive  # one client per (url, database)
    assert archive.timeout_ms == 1_500  # an analyst waits on it: shorter than the writers' 5 s


def test_the_replayed_dataset_reads_like_the_archive(tmp_path: Path) -> None:
    generate(tmp_path / "ds", GenParams(scale=0.02, seed=2))
    ev = read_dataset(tmp_path / "ds").events()
    sid = ev["session_id"].iloc[0]
    cid = ev["customer_id"].iloc[0]
    reader = DatasetEvents(tmp_path / "ds")
    assert reader.source == "replayed dataset file"
    got = reader.session_events(sid)
    assert [d["event_type"] for d in got] == ev[ev["session_id"] == sid]["event_type"].tolist()
    assert [d["event_timestamp"] for d in got] == sorted(d["event_timestamp"] for d in got)
    mine = reader.customer_events(cid, limit=3)
    assert len(mine) == min(3, int((ev["customer_id"] == cid).sum()))
    assert {d["customer_id"] for d in mine} == {cid}
