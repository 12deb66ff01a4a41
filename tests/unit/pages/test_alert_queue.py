"""The alert queue page under AppTest, against a seeded temporary SQLite database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db import timeline
from db.alerts import decide
from db.archive import ArchiveUnavailable
from db.engine import make_engine
from db.models import Alert, AlertDecision, AuditEvent
from tests.unit.pages.conftest import app_test, assert_clean

PAGE = "pages/1_alert_queue.py"


@pytest.fixture
def db(seeded_dir: Path):
    engine = make_engine(f"sqlite:///{seeded_dir / 'kvt.db'}")
    yield engine
    engine.dispose()


def _alert(engine, alert_id: str) -> Alert:
    with Session(engine) as s:
        a = s.get(Alert, alert_id)
        assert a is not None
        return a


def _trail(engine, alert_id: str) -> list[tuple[str, str, str | None]]:
    with Session(engine) as s:
        rows = s.execute(
            select(AlertDecision.action, AlertDecision.actor, AlertDecision.note)
            .where(AlertDecision.alert_id == alert_id)
            .order_by(AlertDecision.id)
        ).all()
    return [(a, b, c) for a, b, c in rows]


def widget(at, kind: str, key: str):
    """The widget bound to ``key`` (its key carries a language and a generation suffix)."""
    base = "_w_" + key
    found = [
        w for w in getattr(at, kind) if w.key == base or w.key.startswith((base + ".", base + "#"))
    ]
    assert len(found) == 1, [w.key for w in getattr(at, kind)]
    return found[0]


def picker(at):
    """The id picker: one per selection generation (``q_pick_<n>``)."""
    (found,) = [w for w in at.multiselect if w.key.startswith("q_pick_")]
    return found


def button(at, prefix: str):
    """The one button whose key starts with ``prefix`` (decision keys carry id and version)."""
    found = [b for b in at.button if b.key.startswith(prefix)]
    assert len(found) == 1, [b.key for b in at.button]
    return found[0]


def _select(at, alert_id: str):
    picker(at).select(alert_id).run()
    assert_clean(at)
    assert at.session_state["q_selection"].focus == alert_id
    return at


def _first_shown(at) -> str:
    return picker(at).options[0].split(" · ")[0]


def test_page_renders_cards_table_and_filters(db) -> None:
    at = app_test(PAGE)
    at.run()
    assert_clean(at)
    labels = [m.label for m in at.metric]
    assert labels == [
        "Alertes",
        "Taux d'alerte",
        "Alertes de sévérité élevée",
        "En attente de revue",
    ]
    with Session(db) as s:
        total = len(s.scalars(select(Alert.alert_id)).all())
    assert at.metric[0].value == f"{total:,}"
    table = at.dataframe[0].value
    assert len(table) == min(total, 50)
    assert list(table["score"]) == sorted(table["score"], reverse=True)
    assert at.info == [] or all("Sélectionnez" in i.value for i in at.info)


def test_filters_reduce_the_rows(db) -> None:
    at = app_test(PAGE)
    at.run()
    before = _matching(at)
    widget(at, "multiselect", "q_severity").select("HIGH").run()
    assert_clean(at)
    after = _matching(at)
    assert 0 < after < before
    assert set(at.dataframe[0].value["severity"]) == {"Élevée"}
    widget(at, "text_input", "q_customer").input("C999999").run()
    assert_clean(at)
    assert any("Aucune alerte" in i.value for i in at.info)
    at.button(key="q_reset").click().run()
    assert_clean(at)
    assert _matching(at) == before
    assert widget(at, "multiselect", "q_severity").value == []
    assert widget(at, "text_input", "q_customer").value == ""


def _matching(at) -> int:
    for c in at.caption:
        if "correspondantes" in c.value or "matching" in c.value:
            return int(c.value.split()[0].replace(",", ""))
    raise AssertionError([c.value for c in at.caption])


def test_sort_by_time_and_paging(db) -> None:
    at = app_test(PAGE)
    at.run()
    widget(at, "radio", "q_sort").set_value("time_desc").run()
    times = list(at.dataframe[0].value["time"])
    assert times == sorted(times, reverse=True)
    first_page = set(at.dataframe[0].value["alert_id"])
    widget(at, "number_input", "q_page").set_value(2).run()
    assert_clean(at)
    assert at.session_state["q_page"] == 2
    assert not first_page & set(at.dataframe[0].value["alert_id"])


def test_approve_changes_the_row_and_appends_to_the_audit_trail(db) -> None:
    at = app_test(PAGE, role="analyst", username="ana")
    at.run()
    alert_id = _first_shown(at)
    _select(at, alert_id)
    widget(at, "text_area", "q_note").input("known customer")
    button(at, f"q_act_APPROVE_{alert_id}_").click().run()
    assert_clean(at)
    a = _alert(db, alert_id)
    assert (a.status, a.decided_by, a.notes, a.row_version) == (
        "APPROVED", "ana", "known customer", 2)  # fmt: skip
    assert _trail(db, alert_id) == [("APPROVE", "ana", "known customer")]
    with Session(db) as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.target == alert_id)).all()
    assert [(e.actor, e.role, e.action, e.outcome) for e in audit] == [
        ("ana", "analyst", "alert.decide", "ok")
    ]
    assert any("mise(s) à jour" in s.value for s in at.success)
    assert widget(at, "text_area", "q_note").value == ""  # cleared after success


def test_the_decision_is_recorded_under_the_signed_in_account(db) -> None:
    at = app_test(PAGE, role="admin", username="root.admin")
    at.run()
    alert_id = _first_shown(at)
    _select(at, alert_id)
    button(at, f"q_act_BLOCK_{alert_id}_").click().run()
    assert _alert(db, alert_id).status == "BLOCKED"
    assert _trail(db, alert_id) == [("BLOCK", "root.admin", None)]


def test_a_rule_owner_sees_the_queue_but_cannot_decide(db) -> None:
    at = app_test(PAGE, role="rule_owner")
    at.run()
    assert_clean(at)
    alert_id = _first_shown(at)
    _select(at, alert_id)
    button(at, f"q_act_BLOCK_{alert_id}_").click().run()
    assert not at.exception
    assert any("pas le droit de décider des alertes" in e.value for e in at.error)
    assert _alert(db, alert_id).status == "PENDING_REVIEW"
    with Session(db) as s:
        refusal = s.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
    assert (refusal.actor, refusal.role, refusal.action) == ("rule_owner", "rule_owner", "decide")


def test_a_viewer_cannot_open_the_queue(db) -> None:
    at = app_test(PAGE, role="viewer")
    at.run()
    assert not at.exception
    assert at.metric == [] and at.dataframe == []
    assert any("n'a pas le droit de lire la file d'alertes" in e.value for e in at.error)


def test_signed_out_the_queue_shows_nothing(db) -> None:
    at = app_test(PAGE, role=None)
    at.run()
    assert not at.exception
    assert at.metric == [] and at.dataframe == []
    assert any("connectez-vous" in i.value for i in at.info)


def test_conflicting_decision_shows_a_message_and_overwrites_nothing(db) -> None:
    at = app_test(PAGE)
    at.run()
    alert_id = _first_shown(at)
    _select(at, alert_id)  # the analyst now sees version 1
    with Session(db) as s:  # meanwhile, someone else blocks it
        decide(s, alert_id, "BLOCK", "bob", "fraud ring", 1)
        s.commit()
    widget(at, "text_area", "q_note").input("looks fine")
    button(at, f"q_act_APPROVE_{alert_id}_").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "Conflit" in errors[0] and "bob" in errors[0]
    a = _alert(db, alert_id)
    assert (a.status, a.decided_by, a.notes, a.row_version) == ("BLOCKED", "bob", "fraud ring", 2)
    assert [x[:2] for x in _trail(db, alert_id)] == [("BLOCK", "bob"), ("CONFLICT", "admin")]
    assert widget(at, "text_area", "q_note").value == "looks fine"  # kept: nothing was saved


def test_state_survives_refresh_and_new_alerts(db) -> None:
    at = app_test(PAGE)
    at.run()
    assert at.session_state["q_status"] == ["PENDING_REVIEW", "INVESTIGATING"]  # open ones
    widget(at, "multiselect", "q_status").unselect("INVESTIGATING").run()
    alert_id = _first_shown(at)
    _select(at, alert_id)
    widget(at, "text_area", "q_note").input("half typed")
    at.run()  # a refresh while typing: the value is in the widget state
    # New rows arrive and shift positions: another analyst decides the top alerts.
    with Session(db) as s:
        ids = s.scalars(select(Alert.alert_id).order_by(Alert.score.desc()).limit(5)).all()
        for other in ids:
            if other != alert_id:
                decide(s, other, "APPROVE", "bob", None, 1)
        s.commit()
    at.run()
    at.run()
    assert_clean(at)
    assert at.session_state["q_selection"].ids == (alert_id,)
    assert at.session_state["q_selection"].focus == alert_id
    assert at.session_state["q_status"] == ["PENDING_REVIEW"]
    assert widget(at, "multiselect", "q_status").value == ["PENDING_REVIEW"]
    assert widget(at, "text_area", "q_note").value == "half typed"
    assert picker(at).value == [alert_id]
    # The detail shown is still the selected alert, by id.
    fields = at.dataframe[1].value
    assert alert_id in set(fields.iloc[:, 1])


def test_bulk_actions_confirm_with_the_count_and_ids_first(db) -> None:
    at = app_test(PAGE)
    at.run()
    options = [o.split(" · ")[0] for o in picker(at).options[:3]]
    for alert_id in options:
        picker(at).select(alert_id).run()
    assert at.session_state["q_selection"].ids == tuple(options)
    at.button(key="q_bulk_sel_INVESTIGATE").click().run()
    assert_clean(at)
    # Nothing changed yet: a dialog names the count and every id.
    assert all(_alert(db, a).status == "PENDING_REVIEW" for a in options)
    assert any("3 alerte(s)" in m.value for m in at.markdown)
    (ids,) = [c.value for c in at.code if "ALT-" in c.value]
    assert ids.split("\n") == options
    at.button(key="q_bulk_confirm_INVESTIGATE").click().run()
    assert_clean(at)
    assert all(_alert(db, a).status == "INVESTIGATING" for a in options)
    # All open alerts of the shown alert's customer, listed before they change.
    customer = _alert(db, at.session_state["q_selection"].focus).customer_id
    with Session(db) as s:
        open_ids = sorted(
            s.scalars(
                select(Alert.alert_id).where(
                    Alert.customer_id == customer,
                    Alert.status.in_(("PENDING_REVIEW", "INVESTIGATING")),
                )
            )
        )
    at.button(key="q_bulk_customer_BLOCK").click().run()
    (ids,) = [c.value for c in at.code if "ALT-" in c.value]
    assert sorted(ids.split("\n")) == open_ids
    at.button(key="q_bulk_confirm_cancel").click().run()
    assert_clean(at)
    assert all(_alert(db, a).status != "BLOCKED" for a in open_ids)
    at.button(key="q_bulk_customer_BLOCK").click().run()
    at.button(key="q_bulk_confirm_BLOCK").click().run()
    assert_clean(at)
    with Session(db) as s:
        statuses = set(s.scalars(select(Alert.status).where(Alert.customer_id == customer)))
    assert statuses == {"BLOCKED"}


def _two_alerts(db) -> tuple[str, str]:
    with Session(db) as s:
        a, b = s.scalars(select(Alert.alert_id).order_by(Alert.score.desc()).limit(2)).all()
    return a, b


def test_finding_1_a_decision_lands_on_the_alert_shown_never_on_a_removed_one(db) -> None:
    at = app_test(PAGE, role="analyst", username="ana")
    at.run()
    first, second = _two_alerts(db)
    _select(at, first)
    widget(at, "text_area", "q_note").input("stolen card")
    button(at, f"q_act_BLOCK_{first}_").click().run()
    assert _alert(db, first).status == "BLOCKED"
    picker(at).unselect(first).run()  # remove its chip
    assert at.session_state["q_selection"].ids == ()
    _select(at, second)
    for _ in range(3):  # live refreshes never bring the removed alert back
        at.run()
    assert at.session_state["q_selection"].ids == (second,)
    assert picker(at).value == [second]
    # The buttons name the alert shown; only its buttons exist.
    assert all(first not in b.key for b in at.button if b.key.startswith("q_act_"))
    approve = button(at, "q_act_APPROVE_")
    assert second in approve.label and approve.key == f"q_act_APPROVE_{second}_1"
    widget(at, "text_area", "q_note").input("fine")
    approve.click().run()
    assert_clean(at)
    assert (_alert(db, second).status, _alert(db, second).notes) == ("APPROVED", "fine")
    a = _alert(db, first)
    assert (a.status, a.notes, a.row_version) == ("BLOCKED", "stolen card", 2)


def test_re_deciding_shows_the_previous_decision_and_asks_first(db) -> None:
    at = app_test(PAGE, role="analyst", username="ana")
    at.run()
    alert_id = _first_shown(at)
    _select(at, alert_id)
    widget(at, "text_area", "q_note").input("stolen card")
    button(at, f"q_act_BLOCK_{alert_id}_1").click().run()
    assert _alert(db, alert_id).status == "BLOCKED"
    button(at, f"q_act_APPROVE_{alert_id}_2").click().run()
    assert_clean(at)
    assert _alert(db, alert_id).status == "BLOCKED"  # not yet
    (warning,) = [w.value for w in at.warning if "déjà décidée" in w.value]
    assert alert_id.replace("-", "\\-") in warning  # escaped for markdown
    assert "Bloquée" in warning and "ana" in warning
    assert "stolen card" in [x.value for x in at.text]
    at.button(key="q_redecide_APPROVE").click().run()
    assert_clean(at)
    a = _alert(db, alert_id)
    assert (a.status, a.row_version) == ("APPROVED", 3)
    # The alert's audit trail, in words of the page's language.
    (trail,) = [d.value for d in at.dataframe if "Qui" in d.value.columns]
    assert list(trail.columns) == ["Quand (UTC)", "Qui", "Action", "De", "Vers", "Note"]
    assert list(trail["Action"]) == ["Bloquer", "Approuver"]
    assert list(trail["Vers"]) == ["Bloquée", "Approuvée"]


def _fields(at) -> set[str]:
    """The values of the detail panel's field table (whatever its language)."""
    (frame,) = [
        d.value
        for d in at.dataframe
        if list(d.value.columns) in (["Champ", "Valeur"], ["Field", "Value"])
    ]
    return set(frame.iloc[:, 1])


def test_finding_2_a_selection_hidden_by_a_filter_or_page_keeps_its_detail(db) -> None:
    at = app_test(PAGE)
    at.run()
    alert_id = _first_shown(at)
    _select(at, alert_id)
    widget(at, "number_input", "q_page").set_value(2).run()  # paged away
    assert_clean(at)
    assert alert_id not in set(at.dataframe[0].value["alert_id"])
    assert alert_id in _fields(at)
    widget(at, "text_input", "q_customer").input("C999999").run()  # filtered away
    assert_clean(at)
    assert not [w for w in at.warning if "existe plus" in w.value]
    assert any(f"{alert_id} n'est pas sur cette page" in c.value for c in at.caption)
    assert alert_id in _fields(at)
    at.button(key="q_reset").click().run()
    assert_clean(at)
    assert at.session_state["q_selection"].focus == alert_id
    assert alert_id in set(at.dataframe[0].value["alert_id"])
    # EN: the same selection, the same detail.
    at.sidebar.radio[0].set_value("en").run()
    assert_clean(at)
    assert picker(at).value == [alert_id]
    assert not [i for i in at.info if "Select an alert" in i.value]
    assert alert_id in _fields(at)


def test_a_link_opens_its_alert_and_the_address_follows_the_selection(db) -> None:
    first, second = _two_alerts(db)
    at = app_test(PAGE)
    at.query_params["alert"] = second
    at.run()
    assert_clean(at)
    assert at.session_state["q_selection"].focus == second
    assert button(at, "q_act_BLOCK_").key == f"q_act_BLOCK_{second}_1"
    picker(at).unselect(second).select(first).run()
    at.run()
    assert at.query_params["alert"] == first
    at.query_params["alert"] = "ALT-NOPE"
    at.run()
    assert any("NOPE" in w.value for w in at.warning)
    assert at.session_state["q_selection"].focus == first  # what was shown stays


def test_empty_database_says_how_to_get_alerts(data_dir: Path) -> None:
    at = app_test(PAGE)
    at.run()
    assert_clean(at)
    assert any("Pas encore d'alerte" in i.value for i in at.info)


class _Archive:
    """An event source: one click per session, or unreachable."""

    source = "MongoDB archive"

    def __init__(self, down: bool) -> None:
        self.down = down

    def session_events(self, session_id: str, limit: int = 200) -> list[dict]:
        if self.down:
            raise ArchiveUnavailable("mongo.example:27017", "find", "connection refused")
        return [{"event_id": "E-1", "event_type": "page_view", "session_id": session_id,
                 "event_timestamp": datetime(2000, 1, 1, tzinfo=UTC)}]  # fmt: skip

    def customer_events(self, customer_id: str, limit: int = 200) -> list[dict]:
        return []


def _timeline(at) -> list[str]:
    headers = ["Date (UTC)", "Type", "Détail"]
    (frame,) = [d.value for d in at.dataframe if list(d.value.columns) == headers]
    return list(frame["Type"])


@pytest.mark.parametrize("down", [False, True])
def test_the_session_timeline_comes_from_the_event_source_or_says_why_not(
    db, monkeypatch: pytest.MonkeyPatch, down: bool
) -> None:
    monkeypatch.setattr(timeline, "event_reader_for", lambda settings, replay_dir: _Archive(down))
    at = app_test(PAGE, role="analyst")
    at.run()
    _select(at, _first_shown(at))
    kinds = _timeline(at)
    assert "alerte" in kinds  # the relational part of the story is there either way
    assert (kinds[0] == "page vue") is not down
    problems = [c.value for c in at.code if "unreachable" in c.value]
    assert problems == (["MongoDB archive unreachable at mongo.example:27017 (find): "
                         "connection refused"] if down else [])  # fmt: skip
    assert any("Aucun parcours" in i.value for i in at.info) is down


def test_the_detail_warns_when_the_customer_was_unknown(db) -> None:
    first, second = _two_alerts(db)
    with Session(db) as s:
        flagged = s.get(Alert, first)
        assert flagged is not None
        flagged.unknown_customer = True
        s.commit()
    shown = {}
    for alert_id in (first, second):
        at = app_test(PAGE)
        at.query_params["alert"] = alert_id
        at.run()
        assert_clean(at)
        shown[alert_id] = [w.value for w in at.warning]
    assert shown[second] == []
    (text,) = shown[first]
    assert "Client inconnu" in text and _alert(db, first).customer_id in text


def test_the_queue_shows_one_dataset_the_latest_until_another_is_picked(db) -> None:
    with db.begin() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT alert_id FROM fraud_alerts ORDER BY 1"))]
        half = ids[: len(ids) // 3]
        conn.execute(text("UPDATE fraud_alerts SET dataset = 'shop-a'"))
        conn.execute(
            text("UPDATE fraud_alerts SET dataset = 'shop-b', alert_ts = :later WHERE alert_id IN ("
                 + ", ".join(f"'{a}'" for a in half) + ")"),
            {"later": datetime(2030, 1, 1, tzinfo=UTC)},
        )  # fmt: skip
    at = app_test(PAGE)
    at.run()
    assert_clean(at)
    choice = widget(at, "selectbox", "ds_view")
    assert choice.value == "shop-b"  # the latest scored
    assert choice.options == [
        f"shop-b · {len(half)} alertes",
        f"shop-a · {len(ids) - len(half)} alertes",
    ]
    assert at.metric[0].value == f"{len(half):,}"
    assert set(at.dataframe[0].value["alert_id"]) <= set(half)
    choice.select("shop-a").run()
    assert_clean(at)
    assert widget(at, "selectbox", "ds_view").value == "shop-a"
    assert at.metric[0].value == f"{len(ids) - len(half):,}"
    assert not set(at.dataframe[0].value["alert_id"]) & set(half)
    # A link to one of shop-b's alerts shows shop-b's queue around it.
    at.query_params["alert"] = half[0]
    at.run()
    assert_clean(at)
    assert at.session_state["q_selection"].focus == half[0]
    assert widget(at, "selectbox", "ds_view").value == "shop-b"
    assert at.metric[0].value == f"{len(half):,}"
