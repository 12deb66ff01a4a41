"""The API over a fresh SQLite database per test, with one account and token per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from api.limits import Throttle
from db import tokens
from db.models import AuditEvent, PaymentRow
from desk import ApiRuntime
from desk.auth import Principal
from detector.common.settings import Settings
from tests.unit.db.builders import batch, scored, signed_in, write

ROLES = ("viewer", "analyst", "rule_owner", "admin")


@dataclass
class Api:
    client: TestClient
    ctx: ApiRuntime
    tokens: dict[str, str]  # role -> secret (the account is named after the role)
    alert_ids: list[str] = field(default_factory=list)

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def principal(self, role: str) -> Principal:
        return signed_in(self.ctx.sessions, role, role)

    def audit(self, **where: str) -> list[AuditEvent]:
        with self.ctx.sessions() as s:
            stmt = select(AuditEvent).order_by(AuditEvent.id)
            for name, value in where.items():
                stmt = stmt.where(getattr(AuditEvent, name) == value)
            return list(s.scalars(stmt))


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    ctx = ApiRuntime.create(Settings(data_dir=tmp_path / "data"))
    secrets: dict[str, str] = {}
    for role in ROLES:
        signed_in(ctx.sessions, role, role)
        with Session(ctx.engine) as s:
            secrets[role] = tokens.create_token(s, role, "test").secret
            s.commit()
    client = TestClient(create_app(ctx, throttle=Throttle(limit=5, window_s=60)))
    yield Api(client, ctx, secrets)
    ctx.close()


def seed_alerts(api: Api, n: int = 60) -> list[str]:
    """Alerts of ``n`` scored payments (the builders' mix), in the API's default order."""
    pairs, states = scored(batch(n))
    with Session(api.ctx.engine) as s:
        write(s, pairs, states)
        # The loaded payments: the alert rate's denominator.
        s.add_all(
            PaymentRow(payment_id=p.payment_id, customer_id=p.customer_id, amount=p.amount,
                       attempt_ts=datetime.fromtimestamp(p.ts_ms / 1000, UTC), result=p.result)
            for _, p in pairs
        )  # fmt: skip
        s.commit()
    alerts = sorted(
        ((v.score, f"ALT-{v.payment_id}") for v, _ in pairs if v.is_alert), reverse=True
    )
    api.alert_ids = [alert_id for _, alert_id in alerts]
    return api.alert_ids
