"""Free text from data and from people is shown as text, never as markup: customer ids,
devices, countries, notes, decisions' notes, rule-set notes, dead-letter reasons and payloads,
audit targets.  Each page runs with hostile values in every such field; no markdown-rendered
element may contain them un-escaped, and each value still reaches the screen as plain text."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from db import audit as trail
from db.alerts import decide
from db.engine import make_engine
from db.models import Alert, AlertDecision, DeadLetter
from db.rulesets import active_ruleset, publish_ruleset
from db.types import utc_now
from detector.settings import load_settings
from tests.unit.pages.conftest import app_test, assert_clean
from tests.unit.pages.test_alert_queue import _select
from tests.unit.security.payloads import MARKUP, RENDERED

EVIL = " | ".join(MARKUP)  # every payload in one value


def _markdown_bodies(at: AppTest) -> list[str]:
    """Everything the page passed through Streamlit's markdown renderer."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "title", "header",
             "subheader", "expander", "metric")  # fmt: skip
    out: list[str] = []
    for kind in kinds:
        for el in getattr(at, kind):
            for attr in ("value", "label", "body"):
                v = getattr(el, attr, None)
                if isinstance(v, str):
                    out.append(v)
    for side in (at.sidebar.markdown, at.sidebar.caption):
        out += [el.value for el in side]
    return out


def _plain_text(at: AppTest) -> str:
    """Everything shown as plain text: text, code and the cells of every table."""
    parts = [el.value for el in (*at.text, *at.code, *at.sidebar.code, *at.sidebar.text)]
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    for box in at.multiselect:
        parts += [str(o) for o in box.options]
    return "\n".join(str(p) for p in parts)


def _assert_inert(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    for body in _markdown_bodies(at):
        for marker in RENDERED:
            assert marker not in body, (marker, body)


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


def test_alert_queue_shows_hostile_text_inert(hostile: str) -> None:
    at = app_test("pages/1_alert_queue.py", role="analyst")
    at.run()
    _assert_inert(at)
    _select(at, hostile)
    _assert_inert(at)
    shown = _plain_text(at)
    assert MARKUP[0] in shown and MARKUP[1] in shown  # the values are there, as text
    # Someone with a hostile name decides meanwhile: the conflict message names them.
    engine = make_engine(load_settings().db_url)
    with Session(engine) as s:
        decide(s, hostile, "INVESTIGATE", MARKUP[2], EVIL, 1)
        s.commit()
    engine.dispose()
    at.button(key="q_act_BLOCK").click().run()
    _assert_inert(at)
    assert any("javascript" in e.value for e in at.error)  # shown, escaped
    # The customer-wide action on the hostile customer id: once to decide its open alert,
    # then again, when the message names the customer with nothing left to decide.
    at.button(key="q_bulk_customer_APPROVE").click().run()
    at.button(key="q_bulk_customer_APPROVE").click().run()
    _assert_inert(at)
    assert any("onerror" in i.value for i in at.info)


@pytest.mark.parametrize(
    "page",
    ["pages/2_insights.py", "pages/3_rule_tuning.py", "pages/5_pipeline.py", "pages/6_audit.py"],
)
def test_other_pages_show_hostile_text_inert(hostile: str, page: str) -> None:
    at = app_test(page, role="admin")
    at.run()
    assert_clean(at)
    _assert_inert(at)
    if page in ("pages/5_pipeline.py", "pages/6_audit.py"):
        assert MARKUP[0] in _plain_text(at)
