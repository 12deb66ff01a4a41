"""`python -m db load` into PostgreSQL: COPY, counts, idempotent reloads, replace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from data_gen import GenParams, generate
from data_gen.readers import read_dataset
from db.loader import load_dataset
from db.models import PaymentRow

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
TABLES = ("customers", "products", "sessions", "orders", "order_items", "payments")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pg_dataset")
    generate(out, GenParams(scale=0.02))
    return out


@pytest.fixture(scope="module")
def expected(dataset: Path) -> dict[str, int]:
    ds = read_dataset(dataset)
    return {t: len(getattr(ds, t)) for t in TABLES}


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVT_")}
    return subprocess.run(
        [sys.executable, "-m", "db", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_load_copies_every_row_and_a_reload_adds_none(
    schema_url: str, bare_engine: Engine, dataset: Path, expected: dict[str, int]
) -> None:
    first = _cli("load", str(dataset), "--url", schema_url)
    assert first.returncode == 0, first.stderr
    assert _counts(bare_engine) == expected
    assert f"({sum(expected.values()):,} new)" in first.stdout
    assert "rows/s" in first.stderr
    second = _cli("load", str(dataset), "--url", schema_url)
    assert second.returncode == 0, second.stderr
    assert "(0 new)" in second.stdout
    assert _counts(bare_engine) == expected


def test_reload_fills_in_only_the_missing_rows(
    pg_engine: Engine, dataset: Path, expected: dict[str, int]
) -> None:
    load_dataset(pg_engine, dataset)
    with pg_engine.begin() as conn:
        removed = conn.execute(text("DELETE FROM payments WHERE result = 'failed'")).rowcount
        conn.execute(text("UPDATE customers SET segment = 'edited'"))
    assert removed > 0
    report = load_dataset(pg_engine, dataset)
    by_table = {t.table: t.inserted for t in report.tables}
    assert by_table == {**dict.fromkeys(TABLES, 0), "payments": removed}
    assert _counts(pg_engine) == expected
    with pg_engine.connect() as conn:
        # Stored rows are kept as they are: reloading never overwrites.
        segments = conn.execute(text("SELECT DISTINCT segment FROM customers")).scalars().all()
    assert segments == ["edited"]


def test_replace_reloads_from_scratch(
    pg_engine: Engine, dataset: Path, expected: dict[str, int]
) -> None:
    load_dataset(pg_engine, dataset)
    with pg_engine.begin() as conn:
        conn.execute(text("UPDATE customers SET segment = 'edited'"))
    report = load_dataset(pg_engine, dataset, replace=True)
    assert report.inserted == report.rows == sum(expected.values())
    with pg_engine.connect() as conn:
        assert "edited" not in conn.execute(text("SELECT segment FROM customers")).scalars().all()
    assert _counts(pg_engine) == expected


def test_values_survive_copy(pg_engine: Engine, dataset: Path) -> None:
    load_dataset(pg_engine, dataset, chunk_rows=50)  # several COPY chunks per table
    payments = read_dataset(dataset).payments
    with pg_engine.connect() as conn:
        total, frauds, declines, first_ts = conn.execute(
            select(
                func.sum(PaymentRow.amount),
                func.count().filter(PaymentRow.is_fraud.is_(True)),
                func.count(PaymentRow.decline_reason),
                func.min(PaymentRow.attempt_ts),
            )
        ).one()
        empty = conn.execute(text("SELECT count(*) FROM payments WHERE order_id = ''"))
        assert empty.scalar_one() == 0
        births = conn.execute(text("SELECT count(birthdate) FROM customers")).scalar_one()
    assert float(total) == pytest.approx(payments["amount"].sum())
    assert frauds == int((payments["is_fraud"] == 1).sum())
    assert declines == int((payments["decline_reason"] != "").sum()) > 0
    assert first_ts == payments["attempt_ts"].min().to_pydatetime()
    assert births > 0


def test_cli_reports_an_unreachable_database(dataset: Path) -> None:
    result = _cli("load", str(dataset), "--url", "postgresql://kvt:kvt@127.0.0.1:1/nowhere")
    assert result.returncode == 1
    assert "error: database" in result.stderr and "Traceback" not in result.stderr
