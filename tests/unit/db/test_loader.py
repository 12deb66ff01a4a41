"""Bulk load into SQLite, and the command line around it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from data_gen import GenParams, generate
from data_gen.readers import Dataset, read_dataset
from db import migrate
from db.__main__ import main
from db.engine import make_engine
from db.loader import LoadProgress, load_dataset
from db.models import OrderItem, PaymentRow

TABLES = ("customers", "products", "sessions", "orders", "order_items", "payments")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dataset")
    generate(out, GenParams(scale=0.02))
    return out


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def _expected(dataset: Path) -> dict[str, int]:
    ds = read_dataset(dataset)
    return {t: len(getattr(ds, t)) for t in TABLES}


def test_load_writes_every_row_once_and_reports_progress(engine: Engine, dataset: Path) -> None:
    seen: list[LoadProgress] = []
    report = load_dataset(engine, dataset, progress=seen.append)
    expected = _expected(dataset)
    assert _counts(engine) == expected
    assert {t.table: (t.rows, t.inserted) for t in report.tables} == {
        t: (n, n) for t, n in expected.items()
    }
    assert seen[-1].done == seen[-1].total == sum(expected.values())
    assert {p.table for p in seen} == set(TABLES)


def test_loading_twice_adds_nothing(engine: Engine, dataset: Path) -> None:
    load_dataset(engine, dataset)
    again = load_dataset(engine, dataset)
    assert again.inserted == 0 and again.rows == sum(_expected(dataset).values())
    assert _counts(engine) == _expected(dataset)


def test_replace_empties_the_tables_first(engine: Engine, dataset: Path) -> None:
    load_dataset(engine, dataset)
    with engine.begin() as conn:
        conn.execute(text("UPDATE payments SET amount = -1"))
    report = load_dataset(engine, dataset, replace=True)
    assert report.inserted == report.rows
    assert _counts(engine) == _expected(dataset)
    with engine.connect() as conn:
        assert conn.execute(select(func.min(PaymentRow.amount))).scalar_one() > 0


def test_values_survive_the_trip(engine: Engine, dataset: Path) -> None:
    load_dataset(engine, dataset)
    payments = read_dataset(dataset).payments
    with engine.connect() as conn:
        total, frauds, declines, first_ts = conn.execute(
            select(
                func.sum(PaymentRow.amount),
                func.count().filter(PaymentRow.is_fraud.is_(True)),
                func.count(PaymentRow.decline_reason),
                func.min(PaymentRow.attempt_ts),
            )
        ).one()
        lines = conn.execute(select(func.max(OrderItem.line_no))).scalar_one()
        empty = conn.execute(text("SELECT count(*) FROM payments WHERE decline_reason = ''"))
        assert empty.scalar_one() == 0  # empty text is NULL
    assert total == pytest.approx(payments["amount"].sum())
    assert frauds == int((payments["is_fraud"] == 1).sum())
    assert declines == int((payments["decline_reason"] != "").sum()) > 0
    assert first_ts.replace(tzinfo=None) == payments["attempt_ts"].min().to_pydatetime().replace(
        tzinfo=None
    )
    assert lines >= 1


def test_cli_load_and_upgrade(
    db_url: str, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["upgrade", "--url", db_url]) == 0
    assert f"schema at {migrate.head_revision()}" in capsys.readouterr().out
    assert main(["load", str(dataset), "--url", db_url]) == 0
    out = capsys.readouterr()
    assert f"{sum(_expected(dataset).values()):,} new" in out.out.replace(")", "")
    assert "payments" in out.err and "rows/s" in out.err


def test_cli_load_reads_the_dataset_once_for_the_check_and_the_load(
    db_url: str, dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import data_gen.check
    import db.loader

    reads: list[Path] = []

    def counted(path: str | Path) -> Dataset:
        reads.append(Path(path))
        return read_dataset(path)

    monkeypatch.setattr(data_gen.check, "read_dataset", counted)
    monkeypatch.setattr(db.loader, "read_dataset", counted)
    assert main(["load", str(dataset), "--url", db_url]) == 0
    assert reads == [dataset]
    assert _counts(make_engine(db_url)) == _expected(dataset)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "dataset directory not found"),
        ("bad_amount", "payments.csv line 2, column amount"),
        ("no_payments", "payments.csv: file not found"),
    ],
)
def test_cli_bad_dataset_exits_2_with_the_place(
    tmp_path: Path,
    db_url: str,
    dataset: Path,
    damage: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "broken"
    if damage != "missing":
        shutil.copytree(dataset, target)
    if damage == "bad_amount":
        path = target / "payments.csv"
        lines = path.read_text().splitlines()
        fields = lines[1].split(",")
        fields[12] = "twelve"
        lines[1] = ",".join(fields)
        path.write_text("\n".join(lines) + "\n")
    elif damage == "no_payments":
        (target / "payments.csv").unlink()
    assert main(["load", str(target), "--url", db_url]) == 2
    assert message in capsys.readouterr().err


def test_cli_bad_url_exits_2(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", str(dataset), "--url", "mysql://u@h/x"]) == 2
    assert "unsupported database" in capsys.readouterr().err


def test_cli_bad_setting_exits_2_naming_it(
    dataset: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVT_DISPLAY_TZ", "Nowhere/Land")
    assert main(["load", str(dataset)]) == 2
    assert capsys.readouterr().err.startswith("error: KVT_DISPLAY_TZ: 'Nowhere/Land' is not")


def test_cli_load_runs_the_import_check_first(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.data_gen.exports import PROTOTYPE, clean_export, write

    export = clean_export()
    good = write(export, tmp_path / "good", PROTOTYPE)
    assert main(["load", str(good), "--url", db_url]) == 0
    err = capsys.readouterr().err
    assert "importable" in err and "WARNING zone_guessed: PT has 3 time zones" in err

    export.events[5]["event_id"] = export.events[4]["event_id"]
    bad = write(export, tmp_path / "bad", PROTOTYPE)
    engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate.upgrade(engine)
    url = str(engine.url)
    assert main(["load", str(bad), "--url", url]) == 2
    err = capsys.readouterr().err
    assert "REFUSED" in err and "ERROR   duplicate_id" in err
    assert "events.jsonl line 6, column event_id" in err
    assert _counts(engine)["payments"] == 0  # nothing imported
