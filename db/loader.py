"""Bulk load of a dataset directory into the customers … payments tables.

Idempotent by default: rows whose key is already stored are skipped, never updated, so loading
the same dataset twice adds nothing (and a corrected dataset with the same ids changes nothing;
use ``replace=True`` for that, which empties the six tables first).  The whole load is one
transaction: a failure leaves the tables as they were.

PostgreSQL gets COPY: into the table directly when it is empty (the common first load), else
into a temp table followed by ``INSERT … SELECT … ON CONFLICT DO NOTHING``.  Tables are locked
against concurrent writers for the duration, so the emptiness check stays true.  SQLite gets a
plain executemany.  CSV is produced by Arrow, several times faster than pandas' writer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.dialects import sqlite

from data_gen.readers import Dataset, read_dataset
from db import migrate
from db.models import Customer, Order, OrderItem, PaymentRow, Product, WebSession
from db.pg_copy import arrow_csv, copy_csv, quote

# Load order: referenced tables first, so a reader of a half-committed load (there is none, the
# load is one transaction) or a future foreign key would never see a dangling reference.
TABLES: tuple[Table, ...] = tuple(
    m.__table__  # type: ignore[misc]
    for m in (Customer, Product, WebSession, Order, OrderItem, PaymentRow)
)
CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class LoadProgress:
    table: str
    table_done: int
    table_total: int
    done: int
    total: int
    elapsed_s: float

    @property
    def rows_per_s(self) -> float:
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True)
class TableLoad:
    table: str
    rows: int  # rows in the dataset
    inserted: int  # rows new to the database (the rest were already there)


@dataclass(frozen=True)
class LoadReport:
    tables: tuple[TableLoad, ...]
    read_s: float
    write_s: float
    replaced: bool

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def inserted(self) -> int:
        return sum(t.inserted for t in self.tables)

    @property
    def rows_per_s(self) -> float:
        total = self.read_s + self.write_s
        return self.rows / total if total > 0 else 0.0


ProgressFn = Callable[[LoadProgress], None]


def load_dataset(
    engine: Engine,
    path: str | Path,
    *,
    replace: bool = False,
    progress: ProgressFn | None = None,
    chunk_rows: int = CHUNK_ROWS,
    dataset: Dataset | None = None,
) -> LoadReport:
    """Read, validate and load the dataset at ``path`` (``dataset``: already read, e.g. by
    the import check, so it is not read twice); migrates the schema first.

    Raises ``data_gen.readers.DatasetError`` for a dataset that cannot be read.
    """
    t0 = time.perf_counter()
    tables = dataset_tables(dataset if dataset is not None else read_dataset(path), Path(path))
    read_s = time.perf_counter() - t0
    migrate.upgrade(engine)
    t1 = time.perf_counter()
    loads = write_tables(engine, tables, replace=replace, progress=progress, chunk_rows=chunk_rows)
    return LoadReport(loads, read_s, time.perf_counter() - t1, replace)


def dataset_name(path: Path) -> str:
    """The name alerts give the dataset at ``path``: its directory's, as a replay
    (``detector.runner.replay_dataset``), a stream (``data_gen.stream``) and the studio do."""
    return path.resolve().name


def dataset_tables(ds: Dataset, path: Path | None = None) -> dict[str, pa.Table]:
    """The dataset's frames as Arrow tables with exactly the database columns, in order.
    Each payment records its dataset (:func:`dataset_name` of ``path``, else of the files
    read), so the insights join an alert to its own dataset's payment."""
    name = dataset_name(path if path is not None else ds.path)
    frames: Mapping[str, pd.DataFrame] = {
        "customers": ds.customers,
        "products": ds.products,
        "sessions": ds.sessions,
        "orders": ds.orders,
        "order_items": _with_line_numbers(ds.order_items),
        "payments": ds.payments.assign(dataset=name),
    }
    return {t.name: _arrow(frames[t.name], t) for t in TABLES}


def write_tables(
    engine: Engine,
    tables: Mapping[str, pa.Table],
    *,
    replace: bool = False,
    progress: ProgressFn | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[TableLoad, ...]:
    total = sum(t.num_rows for t in tables.values())
    tracker = _Tracker(total, progress)
    out: list[TableLoad] = []
    with engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        if replace:
            _empty(conn, postgres)
        for table in TABLES:
            data = tables[table.name]
            if postgres:
                inserted = _copy_table(conn, table, data, chunk_rows, tracker)
            else:
                inserted = _insert_table(conn, table, data, chunk_rows, tracker)
            out.append(TableLoad(table.name, data.num_rows, inserted))
    return tuple(out)


# --------------------------------------------------------------------------- preparation


def _with_line_numbers(items: pd.DataFrame) -> pd.DataFrame:
    # A line's position within its order, in file order: stable across reloads of one file.
    out = items.copy()
    out["line_no"] = out.groupby("order_id", sort=False).cumcount().add(1).astype("int16")
    return out


def _arrow(frame: pd.DataFrame, table: Table) -> pa.Table:
    arrays = {}
    for column in table.columns:
        array = pa.array(frame[column.name])
        if _is_text(array.type):
            # Empty optional text is stored as NULL (see db.models).
            array = pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)
        elif column.name == "birthdate":
            array = pc.cast(array, pa.date32(), safe=False)
        elif column.name == "is_fraud":
            array = pc.cast(array, pa.bool_())
        arrays[column.name] = array
    return pa.table(arrays)


def _is_text(kind: pa.DataType) -> bool:
    return (
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


# --------------------------------------------------------------------------- writing


@dataclass
class _Tracker:
    total: int
    progress: ProgressFn | None
    done: int = 0
    started: float = 0.0

    def __post_init__(self) -> None:
        self.started = time.perf_counter()

    def advance(self, table: str, table_done: int, table_total: int, rows: int) -> None:
        self.done += rows
        if self.progress is not None:
            elapsed = time.perf_counter() - self.started
            self.progress(
                LoadProgress(table, table_done, table_total, self.done, self.total, elapsed)
            )


def _empty(conn: Connection, postgres: bool) -> None:
    if postgres:
        names = ", ".join(quote(conn, t.name) for t in TABLES)
        conn.execute(text(f"TRUNCATE {names}"))
    else:
        for table in reversed(TABLES):
            conn.execute(table.delete())


def _copy_table(
    conn: Connection, table: Table, data: pa.Table, chunk_rows: int, tracker: _Tracker
) -> int:
    name = quote(conn, table.name)
    # Readers go on; a concurrent load of the same table waits, so "empty" stays true.
    conn.execute(text(f"LOCK TABLE {name} IN SHARE ROW EXCLUSIVE MODE"))
    direct = conn.execute(text(f"SELECT NOT EXISTS (SELECT 1 FROM {name})")).scalar_one()
    target = table.name
    if not direct:
        target = f"kvt_load_{table.name}"
        conn.execute(text(f"CREATE TEMP TABLE {target} (LIKE {name}) ON COMMIT DROP"))
    columns = [c.name for c in table.columns]
    done = 0
    for batch in data.to_batches(max_chunksize=chunk_rows):
        copy_csv(conn, target, columns, arrow_csv(batch))
        done += batch.num_rows
        tracker.advance(table.name, done, data.num_rows, batch.num_rows)
    if direct:
        return data.num_rows
    cols = ", ".join(quote(conn, c) for c in columns)
    result = conn.execute(
        text(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {target} ON CONFLICT DO NOTHING")
    )
    conn.execute(text(f"DROP TABLE {target}"))
    return int(result.rowcount)


def _insert_table(
    conn: Connection, table: Table, data: pa.Table, chunk_rows: int, tracker: _Tracker
) -> int:
    stmt = sqlite.insert(table).on_conflict_do_nothing()
    inserted = 0
    done = 0
    for batch in data.to_batches(max_chunksize=chunk_rows):
        rows = batch.to_pylist()
        inserted += max(conn.execute(stmt, rows).rowcount, 0)
        done += batch.num_rows
        tracker.advance(table.name, done, data.num_rows, batch.num_rows)
    return inserted
