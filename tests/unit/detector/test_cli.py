"""python -m detector backtest: the import check first, then metrics (and suggestions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detector.__main__ import main
from tests.unit.data_gen.exports import OWN, PROTOTYPE, clean_export, write


def test_backtest_shows_the_import_check_and_refuses_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = clean_export()
    good = write(export, tmp_path / "good", PROTOTYPE)
    assert main(["backtest", str(good)]) == 0
    out = capsys.readouterr()
    assert "WARNING zone_guessed: US has" in out.err
    assert "120 payments scored" in out.out

    assert main(["backtest", str(good), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["check"]["ok"] is True
    assert "zone_guessed" in {f["code"] for f in data["check"]["findings"]}

    export.events[7]["event_id"] = export.events[2]["event_id"]
    bad = write(export, tmp_path / "bad", OWN)
    assert main(["backtest", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "REFUSED" in err and "events.jsonl line 8, column event_id" in err


def test_suggest_on_an_import_is_judged_on_its_own_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = write(clean_export(customers=60, frauds_every=3), tmp_path / "x", PROTOTYPE)
    assert main(["backtest", str(export), "--suggest", "--objective", "f1"]) == 0
    out = capsys.readouterr().out
    assert "On the hold-out dataset (own labels: last 30 % of days" in out
    assert "Cross-validation, 5 folds grouped by customer" in out
    assert "generated" not in out

    assert main(["backtest", str(export), "--suggest", "--validate", "cv", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["suggestion"]
    assert data["validation"]["method"] == "cv" and len(data["validation"]["folds"]) == 5
    assert set(data["validation"]["spread_after"]) == {"alert_rate", "precision", "recall"}
