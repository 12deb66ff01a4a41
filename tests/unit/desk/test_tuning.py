"""Rule tuning service: editor round trip and validation, instant backtest, comparison,
suggestion, publishing, history and rollback."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from data_gen.generate import generate
from data_gen.params import GenParams
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.rulesets import active_ruleset, publish_ruleset
from desk import tuning
from desk.handle import DbHandle
from detector.backtest import HitMatrix, evaluate_ruleset
from detector.rules import RULE_IDS, RuleSet, default_ruleset
from detector.suggest import Objective
from tests.unit.db.builders import signed_in


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tun") / "datasets" / "ds"
    generate(out, GenParams(scale=0.1, seed=11))
    return out


@pytest.fixture(scope="module")
def loaded(dataset: Path) -> tuning.LoadedDataset:
    return tuning.load_dataset_events(dataset)


@pytest.fixture(scope="module")
def hm(loaded: tuning.LoadedDataset) -> HitMatrix:
    return tuning.build_matrix(loaded, default_ruleset())


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'kvt.db'}")
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def edit(frame, rule_id: str, **values):  # type: ignore[no-untyped-def]
    out = frame.copy()
    row = out.index[out["rule_id"] == rule_id][0]
    for k, v in values.items():
        out.loc[row, k] = v
    return out


# --------------------------------------------------------------------------- editor


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_editor_round_trips_a_ruleset(lang: str) -> None:
    rs = RuleSet.from_dict(
        {
            "alert_threshold": 55,
            "high_threshold": 90,
            "rules": {
                "VELOCITY_HIGH": {"points": 70, "params": {"window_minutes": 15}},
                "MOBILE_DEVICE": {"enabled": False},
                "UNUSUAL_AMOUNT": {"params": {"multiplier": 2.5}},
            },
        }
    )
    frame = tuning.editor_frame(rs, lang)
    assert list(frame["rule_id"]) == list(RULE_IDS)
    row = frame.set_index("rule_id").loc["VELOCITY_HIGH"]
    assert row["param2"].startswith("window" if lang == "en" else "fenêtre")
    # French groups thousands with a narrow no-break space (Babel).
    assert ("[1–1,440]" if lang == "en" else "[1–1\u202f440]") in row["param2"]
    assert row["value2"] == 15
    back = tuning.ruleset_from_editor(frame, 55, 90, lang)
    assert back.fingerprint() == rs.fingerprint()


def test_out_of_bounds_parameter_says_what_and_where() -> None:
    frame = edit(tuning.editor_frame(default_ruleset(), "en"), "VELOCITY_HIGH", value2=0)
    with pytest.raises(tuning.EditorError) as info:
        tuning.ruleset_from_editor(frame, 60, 85, "en")
    (p,) = info.value.problems
    assert p.path == "rules.VELOCITY_HIGH.params.window_minutes"
    assert "High velocity" in p.where and "window (minutes)" in p.where
    assert p.message == "must be between 1 and 1,440, got 0"


def test_every_problem_is_listed_in_the_chosen_language() -> None:
    frame = tuning.editor_frame(default_ruleset(), "fr")
    frame = edit(frame, "UNUSUAL_HOUR", value1=2.5)  # integer parameter
    frame = edit(frame, "FIRST_PAYMENT", points=-5)
    frame = edit(frame, "UNUSUAL_AMOUNT", value1=None)
    with pytest.raises(tuning.EditorError) as info:
        tuning.ruleset_from_editor(frame, 90, 80, "fr")
    paths = [p.path for p in info.value.problems]
    assert paths == [
        "rules.FIRST_PAYMENT.points",
        "rules.UNUSUAL_HOUR.params.start_hour",
        "rules.UNUSUAL_AMOUNT.params.multiplier",
        "thresholds",
    ]
    messages = [p.message for p in info.value.problems]
    assert messages[0] == "doit être entre 0 et 1\u202f000, reçu -5"
    assert messages[1] == "doit être un nombre entier, reçu 2,5"  # the French decimal sign
    assert "seuil d'alerte (90)" in messages[3]


# --------------------------------------------------------------------------- backtest


def test_backtest_matches_the_engine_evaluation_and_reacts_to_weights(hm: HitMatrix) -> None:
    rs = default_ruleset()
    bt = tuning.backtest(hm, rs, capacity=5)
    want = evaluate_ruleset(hm, rs, 5)
    assert bt.metrics is not None and bt.metrics.precision == want.precision
    assert bt.alerts == want.alerts and bt.per_day["alerts"].sum() == want.alerts
    assert bt.days_over_capacity == sum(d.beyond_capacity > 0 for d in want.precision_at_k.days)
    assert bt.pr["recall"].is_monotonic_increasing
    assert bt.thresholds["alerts"].is_monotonic_decreasing

    heavier = rs.with_points({"PAYMENT_FAILED": 100})
    bt2 = tuning.backtest(hm, heavier, capacity=5)
    assert bt2.alerts > bt.alerts
    failed = bt2.rules.set_index("rule_id").loc["PAYMENT_FAILED"]
    assert failed["decisive"] > 0 and failed["points"] == 100
    off = tuning.backtest(hm, rs.with_points({"PAYMENT_FAILED": 0}), capacity=5)
    assert off.rules.set_index("rule_id").loc["PAYMENT_FAILED", "decisive"] == 0


def test_compare_counts_new_and_dropped_alerts(hm: HitMatrix) -> None:
    rs = default_ruleset()
    same = tuning.compare(hm, rs, hm, rs)
    assert (same.new_alerts, same.dropped) == (0, 0) and same.examples.empty
    stricter = RuleSet.from_dict({**rs.to_dict(), "alert_threshold": 80})
    cmp = tuning.compare(hm, stricter, hm, rs)
    old = int((hm.scores(rs.weights) >= 60).sum())
    new = int((hm.scores(rs.weights) >= 80).sum())
    assert cmp.new_alerts == 0 and cmp.dropped == old - new > 0
    assert set(cmp.examples["change"]) == {"dropped"}
    assert (cmp.examples["score_active"] < 80).all()
    assert len(cmp.examples) == min(cmp.dropped, tuning.EXAMPLE_ROWS)


def test_matrix_key_ignores_points_but_not_parameters() -> None:
    rs = default_ruleset()
    assert tuning.matrix_key(rs) == tuning.matrix_key(rs.with_points({"MOBILE_DEVICE": 99}))
    other = RuleSet.from_dict({"rules": {"NEW_CUSTOMER": {"params": {"days": 3}}}})
    assert tuning.matrix_key(rs) != tuning.matrix_key(other)


def test_dataset_stamp_changes_with_the_files(tmp_path: Path) -> None:
    (tmp_path / "payments.csv").write_text("a\n")
    before = tuning.dataset_stamp(tmp_path)
    (tmp_path / "payments.csv").write_text("a\nb\n")
    assert tuning.dataset_stamp(tmp_path) != before


# --------------------------------------------------------------------------- suggestion


def test_suggestion_is_judged_on_a_reused_holdout(
    loaded: tuning.LoadedDataset, hm: HitMatrix, tmp_path: Path
) -> None:
    hold = tuning.ensure_holdout(loaded, tmp_path)
    assert (hold / "manifest.json").is_file() and hold.parent == tmp_path / "holdouts"
    stamp = tuning.dataset_stamp(hold)
    assert tuning.ensure_holdout(loaded, tmp_path) == hold
    assert tuning.dataset_stamp(hold) == stamp  # not generated twice
    hold_hm = tuning.build_matrix(tuning.load_dataset_events(hold), default_ruleset())
    objective = Objective("recall_at_budget", budget=0.1)
    report = tuning.suggest(hm, hold_hm, hold.name, default_ruleset(), objective, 10)
    assert report.suggestion.objective_value_after >= report.suggestion.objective_value_before
    pts = tuning.suggestion_points(report, "en")
    assert len(pts) == len(RULE_IDS) + 2
    assert list(pts["after"][: len(RULE_IDS)]) == list(report.suggested.weights)
    holdout = tuning.suggestion_holdout(report)
    assert holdout.set_index("metric").loc["recall", "after"] == report.holdout_after.recall


# --------------------------------------------------------------------------- versions


def test_diff_lists_points_flags_params_and_thresholds() -> None:
    old = default_ruleset()
    new = RuleSet.from_dict(
        {
            "high_threshold": 90,
            "rules": {
                "GEO_MISMATCH": {"points": 5},
                "MOBILE_DEVICE": {"enabled": False},
                "FAST_CHECKOUT": {"params": {"max_seconds": 20}},
            },
        }
    )
    changes = {c.what: (c.before, c.after) for c in tuning.diff_rulesets(old, new, "en")}
    assert changes == {
        "High-severity threshold": ("85", "90"),
        "🌍 Country differs from profile › Points": ("25", "5"),
        "📱 Mobile device › Enabled": ("yes", "no"),
        "⏱️ Fast checkout (<30 s) › faster than (seconds)": ("30", "20"),
    }
    assert tuning.diff_rulesets(old, old, "en") == []


def test_publish_history_and_rollback(sessions: sessionmaker[Session]) -> None:
    carol = signed_in(sessions, "carol", "rule_owner")
    v1, rs1 = tuning.current(DbHandle(sessions))
    assert v1 == 1
    draft = rs1.with_points({"DIRECT_TRAFFIC": 0})
    v2 = tuning.publish(DbHandle(sessions), draft, carol, "no more direct")
    assert v2 == 2
    with sessions() as s:
        version, active = active_ruleset(s)
        entries = tuning.history(s, "en")
    assert version == 2 and active.config("DIRECT_TRAFFIC").points == 0
    assert [e.info.version for e in entries] == [2, 1]
    assert entries[0].info.author == "carol" and entries[0].info.note == "no more direct"
    assert [(c.before, c.after) for c in entries[0].changes] == [("15", "0")]
    assert entries[1].changes[0].what == "Initial version"

    v3 = tuning.rollback(DbHandle(sessions), 1, carol)
    with sessions() as s:
        version, active = active_ruleset(s)
        entries = tuning.history(s, "en", limit=1)
    assert version == v3 == 3 and active.fingerprint() == rs1.fingerprint()
    assert len(entries) == 1 and [(c.before, c.after) for c in entries[0].changes] == [("0", "15")]


def test_history_is_empty_until_the_defaults_are_seeded(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        entries = tuning.history(s, "fr")
    # The page calls current() first, which seeds version 1; history alone lists nothing.
    assert entries == []
    tuning.current(DbHandle(sessions))
    with sessions() as s:
        (entry,) = tuning.history(s, "fr")
    assert entry.info.active and np.array_equal(entry.ruleset.weights, default_ruleset().weights)


def test_unlabelled_dataset_gets_volumes_only(hm: HitMatrix) -> None:
    bare = replace(hm, labels=None)
    bt = tuning.backtest(bare, default_ruleset(), capacity=5)
    assert bt.metrics is None and bt.summary is not None
    assert bt.alerts == bt.summary.alerts == tuning.backtest(hm, default_ruleset(), 5).alerts
    assert bt.pr.empty and "precision" not in bt.rules
    cmp = tuning.compare(
        bare, default_ruleset().with_points({"MOBILE_DEVICE": 90}), bare, default_ruleset()
    )
    assert cmp.new_alerts > 0 and cmp.new_frauds == 0 and cmp.examples["is_fraud"].isna().all()


def test_history_pages_through_every_version(sessions: sessionmaker[Session]) -> None:
    _, rs = tuning.current(DbHandle(sessions))
    with sessions() as s:
        for points in range(1, 45):
            publish_ruleset(s, rs.with_points({"DIRECT_TRAFFIC": points % 30}), "dana", "")
        s.commit()
        assert tuning.version_count(s) == 45
        seen = []
        for offset in range(0, 45, 20):
            page = tuning.history(s, "en", limit=20, offset=offset)
            seen += [e.info.version for e in page]
            # Each entry's diff is against its real predecessor, page boundaries included.
            for e in page:
                if e.info.version > 1:
                    assert e.changes, e.info.version
    assert seen == list(range(45, 0, -1))


def test_an_import_is_judged_on_its_own_labels_with_the_cv_spread(tmp_path: Path) -> None:
    from detector.rules import default_ruleset
    from detector.suggest import Objective
    from tests.unit.data_gen.exports import OWN, clean_export, write

    path = write(clean_export(customers=60, frauds_every=3), tmp_path / "x", OWN)
    loaded = tuning.load_dataset_events(path)
    assert tuning.judged_on_own_labels(loaded.dataset)
    hm = tuning.build_matrix(loaded, default_ruleset())
    report = tuning.suggest_own(hm, default_ruleset(), Objective("f1"), 50)
    table = tuning.validation_spread(report, "en")
    assert table is not None
    assert list(table.columns) == [
        "Metric",
        "Current (mean ± std)",
        "Suggested (mean ± std)",
        "Suggested, min..max",
    ]
    assert table["Metric"].tolist() == ["Alert rate", "Precision", "Recall"]
    assert all("±" in cell for cell in table["Suggested (mean ± std)"])
