"""Verdicts, payments and databases for db tests, shared by the unit and integration suites."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from functools import cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db import accounts
from db.detector_store import DeadLetterRecord, OutboxRecord, save_batch
from db.models import User
from db.types import utc_now
from desk.auth import Principal
from detector.engine import Detector, Verdict
from detector.events import Payment
from detector.rules import default_ruleset
from detector.state import CustomerState
from tests.unit.detector.factories import ms, pay

__all__ = [
    "DeadLetterRecord",
    "Pair",
    "batch",
    "ms",
    "pay",
    "scored",
    "session_of",
    "signed_in",
    "write",
]

Pair = tuple[Verdict, Payment]


def scored(payments: Sequence[Payment]) -> tuple[list[Pair], dict[str, CustomerState]]:
    """Verdicts of the payments in order, with the default rules, and the states after them."""
    detector = Detector(default_ruleset())
    pairs = []
    for p in payments:
        verdict = detector.process(p)
        assert verdict is not None
        pairs.append((verdict, p))
    return pairs, dict(detector.states)


def batch(n: int, *, prefix: str = "PAY", start: str = "2025-11-20T03:00:00",
          customers: int = 7, **overrides: object) -> list[Payment]:  # fmt: skip
    """``n`` payments 37 minutes apart (so across day and night), spread over ``customers``
    customers, with a mix of devices, sources, countries, results and amounts: scores vary,
    some alert and some do not, and filters and sorts have something to tell apart."""
    base = ms(start)
    devices = ("mobile", "ios", "android", "desktop")
    countries = ("FR", "DE", "US")
    out = []
    for i in range(n):
        fields: dict[str, object] = {
            "payment_id": f"{prefix}{i:06d}",
            "customer_id": f"C{i % customers}",
            "session_id": f"S{i}",
            "ts_ms": base + i * 37 * 60_000,
            "device": devices[i % 4],
            "device_id": f"D{i % 3}",
            "utm_source": "direct" if i % 5 < 2 else "google",
            "country": countries[i % 3],
            "amount": 10.0 + i,
            "result": "failed" if i % 2 else "success",
            **overrides,
        }
        out.append(replace(pay(), **fields))  # type: ignore[arg-type]
    return out


def write(
    session: Session,
    pairs: Sequence[Pair],
    states: dict[str, CustomerState] | None = None,
    *,
    group_id: str = "g",
    offsets: dict[tuple[str, int], int] | None = None,
    expected: dict[tuple[str, int], int | None] | None = None,
    dead_letters: Sequence[DeadLetterRecord] = (),
    outbox: Sequence[OutboxRecord] = (),
    published: Collection[str] = (),
    dataset: str = "live",
) -> None:
    save_batch(
        session,
        group_id=group_id,
        verdicts=pairs,
        states=states or {},
        offsets=offsets or {},
        expected_offsets=expected or {},
        dead_letters=dead_letters,
        outbox=outbox,
        published=published,
        dataset=dataset,
    )


@contextmanager
def session_of(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


PASSWORD = "a long test password"


@cache
def _password_hash() -> str:
    return accounts.hash_password(PASSWORD)  # once: Argon2 is slow on purpose


def signed_in(sessions: Callable[[], Session], username: str, role: str) -> Principal:
    """A user with ``role`` stored in the database, and their fresh sign-in."""
    with sessions() as s:
        user = accounts.get_user(s, username)
        if user is None:
            s.add(User(username=username, role=role, password_hash=_password_hash(),
                       active=True, failed_logins=0))  # fmt: skip
        else:
            user.role = role
        s.commit()
    now = utc_now()
    return Principal(username, role, now, now, timedelta(minutes=30), timedelta(hours=12))
