"""Rule tuning page, headless: instant backtest, validation, publish, rollback, suggestion."""

from __future__ import annotations

import html
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from data_gen.generate import generate
from data_gen.params import GenParams
from detector.rules import RULE_IDS, default_ruleset
from tests.unit.pages.conftest import app_test


def new_app() -> AppTest:
    return app_test("pages/3_rule_tuning.py")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tuning") / "ds"
    generate(out, GenParams(scale=0.05, seed=7))
    return out


@pytest.fixture
def data_dir(tmp_path: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for key in ("KVT_DATABASE_URL", "KVT_KAFKA_BOOTSTRAP", "KVT_MONGO_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("KVT_DATA_DIR", str(tmp_path))
    shutil.copytree(dataset, tmp_path / "datasets" / "ds")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    from pages._ui import runtime

    runtime().stop()
    runtime().engine.dispose()
    st.cache_resource.clear()
    st.cache_data.clear()


def page() -> AppTest:
    at = new_app()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def plain(markdown: str) -> str:
    """What a reader sees of markdown made inert (HTML entities and backslashes undone)."""
    return html.unescape(markdown).replace("\\", "")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def edit(at: AppTest, rule_id: str, **values: object) -> AppTest:
    key = at.data_editor[0].key
    at.session_state[key] = {
        "edited_rows": {RULE_IDS.index(rule_id): values},
        "added_rows": [],
        "deleted_rows": [],
    }
    return at.run()


def active():  # type: ignore[no-untyped-def]
    from desk import tuning
    from pages._ui import runtime

    return tuning.current(runtime())


def test_page_shows_the_backtest_of_the_latest_dataset(data_dir: Path) -> None:
    at = page()
    assert not at.error
    assert at.title[0].value == "Réglage des règles"
    assert at.selectbox(key="tun_dataset").value == "ds"
    m = metrics(at)
    for label in ("Précision", "Rappel", "Taux d'alerte", "AUC-PR", "Alertes par jour"):
        assert label in m
    assert len(at.data_editor) == 1 and len(at.data_editor[0].value) == len(RULE_IDS)
    assert len(at.get("plotly_chart")) >= 3  # PR curve, threshold curve, alerts per day
    assert at.button(key="tun_publish").disabled  # nothing changed yet


def test_weight_change_updates_metrics_and_comparison(data_dir: Path) -> None:
    at = page()
    before = metrics(at)
    assert before["Nouvelles alertes"] == "0"
    edit(at, "PAYMENT_FAILED", points=200)
    assert not at.exception and not at.error
    after = metrics(at)
    assert after["Taux d'alerte"] != before["Taux d'alerte"]
    assert int(after["Nouvelles alertes"].replace(",", "")) > 0
    assert not at.button(key="tun_publish").disabled


def test_invalid_parameter_names_rule_and_field_and_applies_nothing(data_dir: Path) -> None:
    at = page()
    edit(at, "VELOCITY_HIGH", value2=0)
    assert not at.exception
    (err,) = at.error
    shown = plain(err.value)
    assert "Vélocité élevée (3+ paiements/10min) › fenêtre (minutes)" in shown
    assert "doit être entre 1 et 1 440, reçu 0" in shown
    assert "Précision" not in metrics(at)  # no backtest of an invalid rule set
    assert not [b for b in at.button if b.key == "tun_publish"]
    assert active()[0] == 1


def test_threshold_order_is_checked(data_dir: Path) -> None:
    at = page()
    at.number_input(key="tun_alert_1").set_value(90).run()
    (err,) = at.error
    said = "le seuil d'alerte (90) doit être inférieur ou égal au seuil de sévérité élevée (85)"
    assert said in plain(err.value)


def test_publish_makes_a_new_active_version(data_dir: Path) -> None:
    at = app_test("pages/3_rule_tuning.py", role="rule_owner", username="dana")
    at.run()
    edit(at, "DIRECT_TRAFFIC", points=0)
    at.text_input(key="tun_note").input("direct traffic is fine")
    at.button(key="tun_publish").click().run()
    assert not at.exception
    version, rs = active()
    assert version == 2 and rs.config("DIRECT_TRAFFIC").points == 0
    assert any("v2" in s.value for s in at.success)
    from db.rulesets import list_rulesets
    from pages._ui import runtime

    with runtime().sessions() as s:
        info = list_rulesets(s)[0]
    assert (info.author, info.note) == ("dana", "direct traffic is fine")
    # The editor now starts from the published version: nothing left to publish.
    assert at.button(key="tun_publish").disabled
    history = at.expander[0].label
    assert history.startswith("v2") and "active" in history


def test_rollback_restores_an_earlier_version(data_dir: Path) -> None:
    at = page()
    edit(at, "GEO_MISMATCH", points=99)
    at.button(key="tun_publish").click().run()
    assert active()[0] == 2
    at.button(key="tun_rollback_1").click().run()
    assert not at.exception
    version, rs = active()
    assert version == 3 and rs.fingerprint() == default_ruleset().fingerprint()
    assert any("v1" in s.value and "v3" in s.value for s in at.success)


def test_suggest_shows_holdout_result_then_applies_to_editor(data_dir: Path) -> None:
    at = page()
    at.button(key="tun_suggest").click().run()
    assert not at.exception and not at.error
    report = at.session_state["tun_suggestion"][1]
    assert (data_dir / "holdouts").is_dir()
    assert at.button(key="tun_apply")
    assert active()[0] == 1  # nothing applied or published yet
    at.button(key="tun_apply").click().run()
    assert not at.exception
    assert at.session_state["tun_base"].weights == report.suggested.weights
    edited = at.data_editor[0].value.set_index("rule_id")["points"]
    assert tuple(edited[list(RULE_IDS)]) == report.suggested.weights


def test_history_lists_every_version_page_by_page(data_dir: Path) -> None:
    from db.rulesets import publish_ruleset
    from pages._ui import runtime

    at = page()
    with runtime().sessions() as s:
        for points in range(1, 25):
            publish_ruleset(s, default_ruleset().with_points({"DIRECT_TRAFFIC": points}), "d", "")
        s.commit()
    at.run()
    assert any("25 versions" in c.value for c in at.caption)
    first = [e.label.split(" · ")[0] for e in at.expander if e.label.startswith("v")]
    assert first[0] == "v25" and len(first) == 20
    at.number_input(key="tun_hist").set_value(2).run()
    assert not at.exception
    second = [e.label.split(" · ")[0] for e in at.expander if e.label.startswith("v")]
    assert second == ["v5", "v4", "v3", "v2", "v1"]
