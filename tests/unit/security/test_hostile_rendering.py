"""Free text from data and from people is shown as text, never as markup: customer ids,
devices, countries, notes, decisions' notes, rule-set notes, dead-letter reasons and payloads,
audit targets.  Each page runs with hostile values in every such field; no markdown-rendered
element may contain them un-escaped, and each value still reaches the screen as plain text."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from db.alerts import decide
from db.engine import make_engine
from detector.common.settings import load_settings
from tests.unit.pages.conftest import app_test, assert_clean
from tests.unit.pages.test_alert_queue import _select, button
from tests.unit.security.payloads import MARKUP
from tests.unit.security.rendering import EVIL, assert_inert, plain_text


def test_alert_queue_shows_hostile_text_inert(hostile: str) -> None:
    at = app_test("pages/1_alert_queue.py", role="analyst")
    at.run()
    assert_inert(at)
    _select(at, hostile)
    assert_inert(at)
    shown = plain_text(at)
    assert MARKUP[0] in shown and MARKUP[1] in shown  # the values are there, as text
    # Someone with a hostile name decides meanwhile: the conflict message names them.
    engine = make_engine(load_settings().db_url)
    with Session(engine) as s:
        decide(s, hostile, "INVESTIGATE", MARKUP[2], EVIL, 1)
        s.commit()
    engine.dispose()
    button(at, f"q_act_BLOCK_{hostile}_").click().run()
    assert_inert(at)
    assert any("javascript" in e.value for e in at.error)  # shown, escaped
    # The customer-wide action on the hostile customer id: once to decide its open alert,
    # then again, when the message names the customer with nothing left to decide.
    at.button(key="q_bulk_customer_APPROVE").click().run()
    assert_inert(at)
    at.button(key="q_bulk_confirm_APPROVE").click().run()
    at.button(key="q_bulk_customer_APPROVE").click().run()
    assert_inert(at)
    assert any("onerror" in i.value for i in at.info)


@pytest.mark.parametrize(
    "page",
    ["pages/2_insights.py", "pages/3_rule_tuning.py", "pages/5_pipeline.py", "pages/6_audit.py"],
)
def test_other_pages_show_hostile_text_inert(hostile: str, page: str) -> None:
    at = app_test(page, role="admin")
    at.run()
    assert_clean(at)
    assert_inert(at)
    if page in ("pages/5_pipeline.py", "pages/6_audit.py"):
        assert MARKUP[0] in plain_text(at)
