"""The pipeline page under AppTest: state, throughput, lag, dead letters, rule set, health."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from db.engine import make_engine
from db.models import DeadLetter
from db.rulesets import active_ruleset, publish_ruleset
from desk import pipeline as pl
from detector.rules import default_ruleset
from tests.unit.pages.conftest import app_test, assert_clean

PAGE = "pages/5_pipeline.py"


def _add_dead_letters(data_dir: Path, n: int) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'kvt.db'}")
    t0 = datetime(2025, 11, 20, tzinfo=UTC)
    with Session(engine) as s:
        for i in range(n):
            at = t0 + timedelta(seconds=i)
            s.add(DeadLetter(source_topic="payments", partition=i % 3, offset=i,
                             reason="bad_json", detail=f"line {i}: **not** json <b>",
                             payload=f"payload-{i}", received_at=at))  # fmt: skip
        s.commit()
    engine.dispose()


def test_page_renders_state_health_and_empty_lists(data_dir: Path) -> None:
    at = app_test(PAGE)
    at.run()
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["État du détecteur"] == "arrêté"
    assert "Jeu de règles" not in metrics  # nothing published, nothing seeded by a page
    health = at.dataframe[0].value
    assert list(health["État"]) == ["✅ ok", "➖ non configuré", "⏸️ arrêté"]
    captions = " ".join(c.value for c in at.caption)
    assert "Aucune lettre morte" in captions and "Aucun retard" in captions
    assert "Aucun jeu de règles publié" in captions


def test_lag_and_throughput_follow_the_status(data_dir: Path) -> None:
    from pages._ui import runtime

    at = app_test(PAGE)
    at.run()
    status = runtime().status
    status.update(lag={"payments[1]": 7, "payments[0]": 3}, state="running")
    runtime().samples.clear()
    pl.record_sample(runtime(), status.snapshot(), now=time.time() - 10)
    status.count_batch(events=500, payments=40, alerts=3, dead=0)
    at.run()  # the page samples the status itself
    assert_clean(at)
    assert {m.label: m.value for m in at.metric}["Événements traités"] == "500"
    lag = next(d.value for d in at.dataframe if "Partition" in d.value.columns)
    assert list(lag["Partition"]) == ["payments[0]", "payments[1]"]
    assert list(lag["Messages en retard"]) == [3, 7]
    assert any("Retard total: 10" in c.value for c in at.caption)
    assert [x for x, _ in pl.samples(runtime())][-1] > time.time() - 5
    assert not any("Pas encore de mesure" in c.value for c in at.caption)


def test_dead_letters_are_listed_newest_first_and_paged(data_dir: Path) -> None:
    at = app_test(PAGE)
    at.run()  # creates the database
    _add_dead_letters(data_dir, 60)
    at.run()
    assert_clean(at)
    table = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert len(table) == pl.DEAD_PAGE_SIZE and table["offset"].iloc[0] == 59
    assert table["detail"].iloc[0] == "line 59: **not** json <b>"  # data, shown as data
    assert at.code[-1].value == "payload-59"
    next(w for w in at.selectbox if w.key.startswith("_w_p_dead_id")).set_value(
        int(table["id"].iloc[3])
    ).run()
    assert at.code[-1].value == "payload-56"
    next(w for w in at.number_input if w.key.startswith("_w_p_dead_page")).set_value(2).run()
    assert_clean(at)
    table = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert list(table["offset"]) == list(range(9, -1, -1))


def test_published_rule_set_version_is_shown(data_dir: Path) -> None:
    at = app_test(PAGE)
    at.run()
    engine = make_engine(f"sqlite:///{data_dir / 'kvt.db'}")
    with Session(engine) as s:
        active_ruleset(s)
        version = publish_ruleset(s, default_ruleset(), "rita", label="tuned")
        s.commit()
    engine.dispose()
    at.run()
    assert {m.label: m.value for m in at.metric}["Jeu de règles"] == f"v{version}"
    assert any(f"Jeu de règles : v{version}" in x.value for x in at.sidebar.text)


def test_the_sidebar_names_the_old_version_only_while_a_running_detector_switches(
    data_dir: Path,
) -> None:
    from pages._ui import runtime

    at = app_test(PAGE)
    at.run()
    with Session(runtime().engine) as s:
        active_ruleset(s)
        version = publish_ruleset(s, default_ruleset(), "rita", label="tuned")
        s.commit()
    status = runtime().status
    status.update(state="stopped", ruleset_version="1")  # a replay that finished with v1
    at.run()
    line = next(x.value for x in at.sidebar.text if "Jeu de règles" in x.value)
    assert f"Jeu de règles : v{version}\n" in line + "\n" and "quitte" not in line
    status.update(state="running")  # running and not yet switched: say so
    at.run()
    line = next(x.value for x in at.sidebar.text if "Jeu de règles" in x.value)
    assert f"Jeu de règles : v{version} (le détecteur quitte la v1)" in line


def test_repeated_late_and_future_dated_input_is_counted_in_both_languages(
    data_dir: Path,
) -> None:
    from pages._ui import runtime

    at = app_test(PAGE)
    at.run()
    runtime().status.count(
        repeated_total=2368, late_total=3, future_total=12, unknown_customers_total=1,
        idle_released_total=4,
    )  # fmt: skip
    at.run()
    assert_clean(at)
    fr = {m.label: m.value for m in at.metric}
    # French groups thousands with a narrow no-break space (Babel), English with a comma.
    shown = (fr["Répétés ignorés"], fr["En retard"], fr["Datés du futur"])
    assert shown == ("2\u202f368", "3", "12")
    assert (fr["Clients inconnus"], fr["Libérés par silence"]) == ("1", "4")
    at.session_state["lang"] = "en"
    at.run()
    en = {m.label: m.value for m in at.metric}
    assert (en["Repeats ignored"], en["Late"], en["Future-dated"]) == ("2,368", "3", "12")
    counters = (
        "Repeats ignored",
        "Late",
        "Future-dated",
        "Unknown customers",
        "Released on silence",
    )
    assert [bool(m.help) for m in at.metric if m.label in counters] == [True] * 5
