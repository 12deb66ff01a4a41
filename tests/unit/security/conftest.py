"""The security tests use the db suite's fixtures (a migrated SQLite database per test) and
the page suite's (an app data dir, seeded by a replayed dataset), and ``hostile``: that
database with hostile free text in every field a page shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db import audit as trail
from db.engine import make_engine
from db.models import Alert, AlertDecision, DeadLetter
from db.rulesets import active_ruleset, publish_ruleset
from db.types import utc_now
from detector.common.settings import load_settings
from tests.unit.db.conftest import db_url, engine, session
from tests.unit.pages.conftest import data_dir, seeded_dir, seeded_template
from tests.unit.security.payloads import MARKUP
from tests.unit.security.rendering import EVIL

__all__ = ["data_dir", "db_url", "engine", "hostile", "seeded_dir", "seeded_template", "session"]


@pytest.fixture
def hostile(seeded_dir: Path) -> str:
    """The top alert carries hostile free text everywhere; so do a decision, a rule-set
    version, a dead letter and an audit event.  Returns the alert's id."""
    engine = make_engine(load_settings().db_url)
    with Session(engine) as s:
        alert_id = s.scalars(select(Alert.alert_id).order_by(Alert.score.desc())).first()
        assert alert_id is not None
        s.execute(
            update(Alert)
            .where(Alert.alert_id == alert_id)
            .values(customer_id=EVIL, device=MARKUP[1], country=MARKUP[0], utm_source=MARKUP[2],
                    notes=EVIL, decided_by=MARKUP[3])
        )  # fmt: skip
        s.add(
            AlertDecision(
                alert_id=alert_id,
                action="INVESTIGATE",
                from_status="PENDING_REVIEW",
                to_status="INVESTIGATING",
                actor=MARKUP[4],
                at=utc_now(),
                note=EVIL,
            )
        )
        _, rs = active_ruleset(s)
        publish_ruleset(s, rs.with_points({"DIRECT_TRAFFIC": 0}), MARKUP[0], EVIL)
        s.add(DeadLetter(source_topic="payments", partition=0, offset=1, reason=EVIL,
                         detail=EVIL, payload=EVIL, received_at=utc_now()))  # fmt: skip
        trail.record(s, trail.Entry(MARKUP[1], trail.SIGN_IN, trail.FAILED, EVIL))
        s.commit()
    engine.dispose()
    return alert_id
