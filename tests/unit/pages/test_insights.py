"""Insights page, headless: charts and their CSV downloads on seeded data; cache refresh."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from db import alert_counts as counts
from db.alerts import decide
from db.models import Alert
from desk import insights
from tests.unit.db.test_alert_counts import seed
from tests.unit.pages.conftest import app_test

ROOT = Path(__file__).resolve().parents[3]


def new_app() -> AppTest:
    return app_test("pages/2_insights.py")


CHARTS = (
    "reasons",
    "reason_cooccurrence",
    "severity",
    "alerts_by_hour",
    "alerts_by_day",
    *(f"alerts_by_{d}" for d in insights.DIMENSIONS),
    "decisions_by_day",
    "analyst_workload",
    "rule_precision",
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with replayed alerts, loaded payments and a few decisions (built once)."""
    root = tmp_path_factory.mktemp("ins_page")
    seed(root).dispose()
    return root


@pytest.fixture
def seeded(data_dir: Path, template: Path) -> Path:
    shutil.copy(template / "kvt.db", data_dir / "kvt.db")
    return data_dir


def page() -> AppTest:
    at = new_app()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_empty_database_says_what_to_do(data_dir: Path) -> None:
    at = page()
    assert at.title[0].value == "Analyses"
    assert "atelier de données" in at.info[0].value
    assert not at.get("plotly_chart")


def test_every_chart_renders_with_its_csv_download(seeded: Path) -> None:
    at = page()
    assert len(at.get("plotly_chart")) == len(CHARTS)
    keys = [b.key for b in at.download_button]
    assert sorted(keys) == sorted(f"csv_{c}" for c in CHARTS)  # one per chart
    assert all(b.label == "Télécharger le CSV" for b in at.download_button)
    m = {x.label: x.value for x in at.metric}
    assert int(m["Alertes"].replace("\u202f", "")) > 20 and m["Alertes traitées"] == "5"
    assert m["Fraudes confirmées"] == "60\u00a0%"  # 3 blocked of 5 decided, written the French way
    assert not at.caption or all("inconnu" not in c.value for c in at.caption)


def test_alerts_only_without_payments_or_decisions(data_dir: Path) -> None:
    """Straight after a replay: no payments table, nobody decided yet."""
    seed(data_dir, load_payments=False, decisions=False).dispose()
    at = page()
    infos = [i.value for i in at.info]
    assert any("Aucune décision" in i for i in infos)
    # Sentences instead of empty charts: methods are not known (payments not loaded, not a
    # single "inconnu" bar), and there is no precision to measure yet.
    assert any("table des paiements, pas encore chargée" in i for i in infos)
    assert any("Pas encore de précision" in i for i in infos)
    assert len(at.get("plotly_chart")) == len(CHARTS) - 4  # decisions x2, method, precision


def test_english_labels_and_axis_titles(seeded: Path) -> None:
    at = new_app()
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert at.title[0].value == "Insights"
    assert at.download_button[0].label == "Download CSV"
    headers = [h.value for h in at.header]
    assert "Precision of each rule" in headers and "Analyst decisions" in headers


def test_a_new_decision_refreshes_the_cached_charts(seeded: Path) -> None:
    at = page()
    before = {x.label: x.value for x in at.metric}["Alertes traitées"]
    from pages._ui import runtime

    with Session(runtime().engine) as s:
        alert_id = s.scalars(select(Alert.alert_id).where(Alert.status == "PENDING_REVIEW")).first()
        decide(s, alert_id, "BLOCK", "erin", None, 1)
        s.commit()
    at.run()
    after = {x.label: x.value for x in at.metric}["Alertes traitées"]
    assert (before, after) == ("5", "6")


def _hour_chart(at: AppTest) -> tuple[str, list[int]]:
    """The by-hour chart as drawn: its x-axis title and its bars (charts are keyed
    ``chart_<name>``; plotly packs numeric arrays as base64 of a typed buffer)."""
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith("chart_alerts_by_hour")]
    spec = json.loads(chart.proto.spec)
    y = spec["data"][0]["y"]
    bars = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]) if "bdata" in y else y
    return spec["layout"]["xaxis"]["title"]["text"], [int(v) for v in bars]


@pytest.mark.parametrize("zone", ["America/New_York", "UTC"])
def test_hours_are_in_the_display_zone_named_on_the_axis(
    seeded: Path, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    monkeypatch.setenv("KVT_DISPLAY_TZ", zone)  # an unknown zone: tests/unit/pages/test_app_frame
    at = page()
    title, drawn = _hour_chart(at)
    assert title == f"Heure de la journée ({zone})"
    from pages._ui import runtime

    with Session(runtime().engine) as s:
        want = counts.alerts_by_hour(s, zone)
        utc = counts.alerts_by_hour(s, "UTC")
    assert drawn == want["alerts"].tolist()
    assert (drawn != utc["alerts"].tolist()) == (zone != "UTC")
