"""Reading datasets: both layouts into one canonical form, and errors that say where."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_gen import readers, schema
from data_gen.readers import Dataset, DatasetError, read_dataset

FIXTURES = Path(__file__).parent / "fixtures"
TS = "datetime64[ms, UTC]"
_KINDS = {"ts": TS, "float": "float64", "int": "int64", "bool": "bool", "label": "Int8"}
_TYPED = {
    "signup_ts": "ts",
    "birthdate": "ts",
    "is_minor": "bool",
    "is_adult_restricted": "bool",
    "unit_price": "float",
    "created_at": "ts",
    "start_ts": "ts",
    "end_ts": "ts",
    "order_ts": "ts",
    "total_amount": "float",
    "qty": "int",
    "attempt_ts": "ts",
    "amount": "float",
    "is_fraud": "label",
    "event_timestamp": "ts",
}


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def drop_csv_column(path: Path, column: str) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    keep = [i for i, name in enumerate(rows[0]) if name != column]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([[r[i] for i in keep] for r in rows])


def read_error(directory: Path) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        read_dataset(directory)
    return info.value


def events_error(directory: Path, **kwargs: object) -> DatasetError:
    dataset = read_dataset(directory)
    with pytest.raises(DatasetError) as info:
        dataset.events(**kwargs)  # type: ignore[arg-type]
    return info.value


def assert_canonical(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Schema columns in order, the documented dtypes, and never NaN in a text column."""
    assert tuple(frame.columns) == columns
    for name in columns:
        kind = _TYPED.get(name)
        dtype = str(frame[name].dtype)
        if kind is None:
            assert dtype == "str", name
            assert not frame[name].isna().any(), name
        else:
            assert dtype == _KINDS[kind], (name, dtype)


def assert_all_canonical(dataset: Dataset) -> None:
    for file, columns in schema.TABLES.items():
        assert_canonical(getattr(dataset, file.removesuffix(".csv")), columns)


# --------------------------------------------------------------------------- own layout


def test_own_layout_tables_read_into_canonical_frames() -> None:
    dataset = read_dataset(FIXTURES / "own")

    assert dataset.layout == "kivendtout"
    assert dataset.labelled is True
    assert dataset.events_path.name == "events.jsonl"
    assert_all_canonical(dataset)
    assert [len(getattr(dataset, f.removesuffix(".csv"))) for f in schema.TABLES] == [
        3,
        3,
        3,
        2,
        3,
        4,
    ]
    customers = dataset.customers
    assert customers["is_minor"].tolist() == [False, True, False]
    assert customers.loc[2, "signup_ts"] == utc("2025-11-01T09:15:30.250Z")
    assert customers.loc[0, "birthdate"] == utc("1985-04-12T00:00:00Z")
    assert dataset.products.loc[0, "name"] == "Casque audio, sans fil"
    assert dataset.products["is_adult_restricted"].tolist() == [False, True, False]
    assert pd.isna(dataset.sessions.loc[2, "end_ts"])
    assert dataset.sessions.loc[1, "utm_campaign"] == ""
    assert dataset.order_items["qty"].tolist() == [1, 1, 2]

    payments = dataset.payments
    # Sorted by (attempt_ts, payment_id); PAY002 and PAY003 share a millisecond.
    assert payments["payment_id"].tolist() == ["PAY001", "PAY002", "PAY003", "PAY004"]
    assert payments.index.tolist() == [0, 1, 2, 3]
    assert payments.loc[0, "attempt_ts"] == utc("2025-11-03T14:29:59.999Z")
    assert payments.loc[1, "card_bin"] == "012345"  # a BIN is text: the leading zero stays
    assert payments["is_fraud"].tolist() == [0, 1, 1, 0]
    assert payments["fraud_scenario"].tolist() == ["", "card_testing", "card_testing", ""]
    assert payments["currency"].tolist() == ["EUR", "EUR", "EUR", "USD"]
    assert payments["amount"].tolist() == [95.4, 50.0, 1.0, 100.0]


def test_own_layout_events_are_sorted_and_typed() -> None:
    events = read_dataset(FIXTURES / "own").events()

    assert_canonical(events, schema.EVENTS)
    assert events["event_id"].tolist() == [f"E00{i}" for i in range(1, 9)]
    assert events.loc[2, "event_timestamp"] == utc("2025-11-03T14:22:05.123Z")
    assert events.loc[2, "amount"] == 79.9
    assert np.isnan(events.loc[0, "amount"])
    anonymous = events.iloc[-1]
    assert (anonymous["customer_id"], anonymous["country"], anonymous["device"]) == ("", "", "ios")


def test_events_reads_only_the_columns_and_types_asked_for() -> None:
    dataset = read_dataset(FIXTURES / "own")

    events = dataset.events(columns=["payment_id", "amount"], event_types={"payment_attempt"})

    assert list(events.columns) == ["payment_id", "amount"]
    assert events["payment_id"].tolist() == ["PAY001", "PAY002"]
    assert events["amount"].tolist() == [95.4, 50.0]
    assert len(dataset.events(event_types=set())) == 0


def test_events_rejects_unknown_column_names() -> None:
    with pytest.raises(ValueError, match="cart_value"):
        read_dataset(FIXTURES / "own").events(columns=["event_id", "cart_value"])


def test_iter_events_keeps_file_order_in_bounded_chunks() -> None:
    dataset = read_dataset(FIXTURES / "own")

    chunks = list(dataset.iter_events(chunk_rows=3))

    assert [len(c) for c in chunks] == [3, 3, 2]
    assert chunks[0]["event_id"].tolist() == ["E002", "E001", "E003"]
    assert chunks[1].index.tolist() == [3, 4, 5]  # the index is the row position in the file
    for chunk in chunks:
        assert_canonical(chunk, schema.EVENTS)
    together = pd.concat(chunks).sort_values(["event_timestamp", "event_id"])
    pd.testing.assert_frame_equal(together.reset_index(drop=True), dataset.events())


def test_iter_events_rejects_a_non_positive_chunk() -> None:
    with pytest.raises(ValueError):
        read_dataset(FIXTURES / "own").iter_events(chunk_rows=0)


def test_an_empty_type_filter_returns_no_rows() -> None:
    events = read_dataset(FIXTURES / "prototype").events(columns=["event_id"], event_types=[])

    assert list(events.columns) == ["event_id"]
    assert len(events) == 0


def test_json_reader_resumes_in_python_where_pyarrow_gives_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A string amount late in the file breaks pyarrow after it has already produced chunks;
    # small blocks make that happen within this tiny file.
    directory = copy_fixture("own", tmp_path)
    edit(
        directory / "events.jsonl",
        '"amount": 50.0, "payment_id": "PAY002", "order_id": null}\n{"event_id": "E007"',
        '"amount": "50.5", "payment_id": "PAY002", "order_id": null}\n{"event_id": "E007"',
    )
    monkeypatch.setattr(readers, "_JSON_BLOCK_BYTES", 1024)
    dataset = read_dataset(directory)

    chunks = list(dataset.iter_events(chunk_rows=2))

    assert [c.index.tolist() for c in chunks] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    together = pd.concat(chunks)
    assert together["event_id"].tolist() == ["E002", "E001", *(f"E00{i}" for i in range(3, 9))]
    assert together["amount"].tolist()[5:7] == [50.5, 50.0]


# --------------------------------------------------------------------------- prototype


def test_prototype_tables_are_normalised() -> None:
    dataset = read_dataset(FIXTURES / "prototype")

    assert dataset.layout == "prototype"
    assert dataset.labelled is True
    assert_all_canonical(dataset)
    customers = dataset.customers
    assert customers["country"].tolist() == ["UK", "FR", "DE"]
    assert customers["timezone"].tolist() == ["Europe/London", "Europe/Paris", "Europe/Berlin"]
    assert customers["preferred_device"].tolist() == ["desktop", "mobile", "android"]
    assert customers["segment"].tolist() == ["", "", ""]
    assert customers["is_minor"].tolist() == [False, True, False]
    # No zone means UTC; an offset is converted.
    assert customers.loc[1, "signup_ts"] == utc("2025-10-02T10:00:00Z")
    assert customers.loc[2, "signup_ts"] == utc("2025-10-03T09:00:00.500Z")
    assert pd.isna(customers.loc[2, "birthdate"])
    assert "loyalty_tier" not in customers.columns

    sessions = dataset.sessions
    assert sessions.loc[0, "start_ts"] == utc("2025-11-03T14:00:00.123Z")  # ns floored to ms
    assert sessions["device"].tolist() == ["desktop", "mobile", "android"]
    assert sessions["device_id"].tolist() == ["", "", ""]
    assert dataset.products["is_adult_restricted"].tolist() == [False, True]
    assert dataset.order_items["unit_price"].tolist() == [199.0, 45.5, 45.5]

    payments = dataset.payments
    assert payments["payment_id"].tolist() == ["PY1", "PY2", "PY3"]
    assert payments.loc[0, "attempt_ts"] == utc("2025-11-03T14:09:59.999Z")
    assert payments["order_id"].tolist() == ["OR1", "", "OR2"]
    assert payments["device"].tolist() == ["desktop", "mobile", "android"]
    assert payments["device_id"].tolist() == ["dev1", "dev2", ""]
    assert payments["utm_source"].tolist() == ["google", "email", ""]
    assert payments["currency"].tolist() == ["EUR", "", "EUR"]
    assert payments["payment_country"].tolist() == ["UK", "FR", "DE"]
    assert payments["is_fraud"].tolist() == [0, 1, pd.NA]
    assert payments["decline_reason"].tolist() == ["", "", ""]
    assert payments["fraud_incident_id"].tolist() == ["", "", ""]


def test_prototype_jsonl_events_are_normalised() -> None:
    events = read_dataset(FIXTURES / "prototype").events()

    assert_canonical(events, schema.EVENTS)
    assert events["event_id"].tolist() == [f"EV{i}" for i in range(1, 8)]
    timestamps = events["event_timestamp"]
    assert timestamps[0] == utc("2025-11-03T14:00:01.123Z")
    assert timestamps[1] == utc("2025-11-03T14:05:00Z")
    assert timestamps[2] == utc("2025-11-03T14:09:59.999Z")
    assert events["device"].tolist() == ["desktop"] * 4 + ["mobile"] * 2 + [""]
    assert events["country"].tolist() == ["UK"] * 4 + ["FR"] * 2 + [""]
    assert events["device_id"].tolist() == [""] * 7
    # cart_value came as "", a number, null and the string "12.00".
    np.testing.assert_array_equal(
        events["amount"].to_numpy(), [np.nan, 199.0, 244.5, np.nan, np.nan, 12.0, np.nan]
    )
    assert events["product_id"].tolist()[:2] == ["", "PR1"]


def test_prototype_parquet_reads_like_prototype_jsonl() -> None:
    from_jsonl = read_dataset(FIXTURES / "prototype")
    from_parquet = read_dataset(FIXTURES / "prototype_parquet")

    assert from_parquet.events_path.name == "events.parquet"
    assert from_parquet.layout == "prototype"
    pd.testing.assert_frame_equal(from_parquet.events(), from_jsonl.events())
    pd.testing.assert_frame_equal(from_parquet.payments, from_jsonl.payments)
    chunks = list(from_parquet.iter_events(chunk_rows=4))
    assert [len(c) for c in chunks] == [4, 3]
    assert chunks[1]["country"].tolist() == ["FR", "FR", ""]


def test_parquet_is_preferred_when_both_event_files_exist(tmp_path: Path) -> None:
    directory = copy_fixture("prototype_parquet", tmp_path)
    shutil.copy(FIXTURES / "prototype" / "events.jsonl", directory)

    assert read_dataset(directory).events_path.name == "events.parquet"


@pytest.mark.parametrize("how", ["absent", "empty"])
def test_prototype_without_labels_is_unlabelled(tmp_path: Path, how: str) -> None:
    directory = copy_fixture("prototype", tmp_path)
    payments = directory / "payments.csv"
    if how == "absent":
        drop_csv_column(payments, "is_fraud_label")
    else:
        edit(payments, "success,0\n", "success,\n")
        edit(payments, "failed,1\n", "failed,\n")

    dataset = read_dataset(directory)

    assert dataset.labelled is False
    assert str(dataset.payments["is_fraud"].dtype) == "Int8"
    assert dataset.payments["is_fraud"].isna().all()


# --------------------------------------------------------------------------- missing things


def test_missing_directory(tmp_path: Path) -> None:
    error = read_error(tmp_path / "nowhere")

    assert error.file == str(tmp_path / "nowhere")
    assert (error.line, error.column) == (None, None)
    assert "not found" in str(error)


def test_missing_table_file(tmp_path: Path) -> None:
    directory = copy_fixture("own", tmp_path)
    (directory / "orders.csv").unlink()

    error = read_error(directory)

    assert error.file == "orders.csv"
    assert str(error).startswith("orders.csv: file not found")


def test_missing_events_file_names_both_formats(tmp_path: Path) -> None:
    directory = copy_fixture("own", tmp_path)
    (directory / "events.jsonl").unlink()

    error = read_error(directory)

    assert "events.jsonl" in error.file
    assert "events.parquet" in error.file


@pytest.mark.parametrize(
    ("fixture", "file", "old", "new", "column"),
    [
        ("own", "payments.csv", ",amount,", ",amt,", "amount"),
        (
            "prototype",
            "customers.csv",
            "customer_id,signup_ts,",
            "customer_id,signed_up,",
            "signup_ts",
        ),
        ("prototype", "payments.csv", ",result,", ",outcome,", "result"),
    ],
)
def test_missing_column_is_reported_on_the_header(
    tmp_path: Path, fixture: str, file: str, old: str, new: str, column: str
) -> None:
    directory = copy_fixture(fixture, tmp_path)
    edit(directory / file, old, new)

    error = read_error(directory)

    assert (error.file, error.line, error.column) == (file, 1, column)
    assert str(error) == f"{file} line 1, column {column}: required column is missing"


def test_missing_event_key_is_reported_on_the_first_json_line(tmp_path: Path) -> None:
    directory = copy_fixture("prototype", tmp_path)
    edit(directory / "events.jsonl", '"ts": "2025-11-03T14:00:01.123456789Z", ', "")

    error = read_error(directory)

    assert (error.file, error.line, error.column) == ("events.jsonl", 1, "ts")


# --------------------------------------------------------------------------- bad rows


def test_non_numeric_amount_message() -> None:
    error = DatasetError(
        "payments.csv", "'abc' is not a number", line=14, column="amount", value="abc"
    )
    assert str(error) == "payments.csv line 14, column amount: 'abc' is not a number"


@pytest.mark.parametrize(
    ("fixture", "file", "old", "new", "line", "column", "message"),
    [
        ("own", "payments.csv", "95.40,EUR,success", "abc,EUR,success", 3, "amount",
         "'abc' is not a number"),
        ("own", "payments.csv", "2025-11-04T09:04:00.000Z", "2025-11-04T25:04:00.000Z", 5,
         "attempt_ts", "'2025-11-04T25:04:00.000Z' is not an ISO-8601 timestamp"),
        ("own", "payments.csv", "failed,do_not_honor", "refused,do_not_honor", 4, "result",
         "'refused' is not one of success, failed"),
        ("own", "payments.csv", "PAY003,", ",", 4, "payment_id", "required value is empty"),
        ("own", "payments.csv", "PAY003,", "PAY002,", 4, "payment_id", "'PAY002' is a duplicate"),
        ("own", "payments.csv", "PAY004,C003", "PAY004,C999", 5, "customer_id",
         "'C999' is not in customers.csv"),
        ("own", "payments.csv", "do_not_honor,1,card_testing,INC1",
         "do_not_honor,1,card_testing,INC1,extra", 4, None, "expected 19 fields, found 20"),
        ("own", "payments.csv", "2025-11-03T14:29:59.999Z", "", 3, "attempt_ts",
         "required value is empty"),
        ("own", "order_items.csv", "O002,P003,2,", "O002,P003,two,", 4, "qty",
         "'two' is not a whole number"),
        ("own", "products.csv", "15.50", "quinze", 3, "unit_price", "'quinze' is not a number"),
        ("own", "sessions.csv", "ip2,UK", "ip2,United Kingdom", 3, "country",
         "'United Kingdom' is not an ISO 3166-1 alpha-2 country code"),
        ("own", "sessions.csv", ",mobile,D002", ",tablet,D002", 3, "device",
         "'tablet' is not a known device (desktop, mobile, ios, android)"),
        ("own", "customers.csv", ",US,", ",XX,", 4, "country",
         "'XX' is not an ISO 3166-1 alpha-2 country code"),
        ("own", "customers.csv", "C003,", "C001,", 4, "customer_id", "'C001' is a duplicate"),
        ("own", "customers.csv", "vip,1970-01-30,false", "vip,1970-01-30,maybe", 4, "is_minor",
         "'maybe' is not a boolean"),
        ("prototype", "customers.csv", "2025-10-02 10:00:00", "02/10/2025", 3, "signup_ts",
         "'02/10/2025' is not an ISO-8601 timestamp"),
        ("prototype", "sessions.csv", "android", "web_tablet", 4, "device",
         "'web_tablet' is not a known device (desktop, mobile, ios, android)"),
        ("prototype", "order_items.csv", "OR2,PR2", "OR2,PR9", 4, "product_id",
         "'PR9' is not in products.csv"),
        ("prototype", "payments.csv", "failed,1", "failed,oui", 3, "is_fraud_label",
         "'oui' is not a 0/1 label"),
    ],
)  # fmt: skip
def test_bad_row_names_file_line_and_column(
    tmp_path: Path,
    fixture: str,
    file: str,
    old: str,
    new: str,
    line: int,
    column: str | None,
    message: str,
) -> None:
    directory = copy_fixture(fixture, tmp_path)
    edit(directory / file, old, new)

    error = read_error(directory)

    assert (error.file, error.line, error.column) == (file, line, column)
    where = f"{file} line {line}" + (f", column {column}" if column else "")
    assert str(error) == f"{where}: {message}"


def test_line_numbers_count_physical_lines_of_quoted_newlines(tmp_path: Path) -> None:
    directory = copy_fixture("own", tmp_path)
    products = directory / "products.csv"
    edit(products, '"Casque audio, sans fil"', '"Casque audio,\nsans fil"')
    edit(products, "15.50", "n/a")

    error = read_error(directory)

    assert (error.line, error.column) == (4, "unit_price")


def test_first_bad_row_wins_across_columns(tmp_path: Path) -> None:
    directory = copy_fixture("own", tmp_path)
    payments = directory / "payments.csv"
    edit(payments, "1.00,EUR,failed", "1.00,EUR,refused")  # line 4
    edit(payments, "497010,FR", "497010,Francia")  # line 3, a later column

    error = read_error(directory)

    assert (error.line, error.column) == (3, "payment_country")


def test_offending_value_is_truncated(tmp_path: Path) -> None:
    directory = copy_fixture("own", tmp_path)
    edit(directory / "payments.csv", "95.40,EUR,success", "9" * 80 + "x,EUR,success")

    error = read_error(directory)

    assert error.value == "9" * 80 + "x"
    assert str(error) == "payments.csv line 3, column amount: '" + "9" * 50 + "…' is not a number"


def test_invalid_json_line(tmp_path: Path) -> None:
    directory = copy_fixture("own", tmp_path)
    edit(directory / "events.jsonl", '"event_id": "E005", ', '"event_id": "E005" ')

    error = events_error(directory)

    assert (error.file, error.line, error.column) == ("events.jsonl", 5, None)
    assert "is not valid JSON" in error.message


def test_invalid_json_on_the_first_line_fails_at_read_time(tmp_path: Path) -> None:
    directory = copy_fixture("own", tmp_path)
    edit(directory / "events.jsonl", '{"event_id": "E002"', '{"event_id" "E002"')

    error = read_error(directory)

    assert (error.file, error.line) == ("events.jsonl", 1)


def test_event_errors_count_blank_lines(tmp_path: Path) -> None:
    directory = copy_fixture("own", tmp_path)
    events = directory / "events.jsonl"
    edit(events, '\n{"event_id": "E003"', '\n\n{"event_id": "E003"')
    edit(events, "2025-11-03T14:29:59.999Z", "yesterday")

    error = events_error(directory)

    assert (error.line, error.column, error.value) == (5, "event_timestamp", "yesterday")
    assert str(error) == (
        "events.jsonl line 5, column event_timestamp: 'yesterday' is not an ISO-8601 timestamp"
    )


def test_duplicate_event_id(tmp_path: Path) -> None:
    directory = copy_fixture("own", tmp_path)
    edit(directory / "events.jsonl", '"event_id": "E004"', '"event_id": "E003"')

    error = events_error(directory)

    assert (error.line, error.column) == (4, "event_id")


def test_prototype_event_errors_use_the_file_column_names(tmp_path: Path) -> None:
    directory = copy_fixture("prototype", tmp_path)
    edit(directory / "events.jsonl", '"cart_value": "12.00"', '"cart_value": "12,00"')

    error = events_error(directory)

    assert (error.file, error.line, error.column) == ("events.jsonl", 6, "cart_value")


def test_iter_events_reports_the_same_line_as_events(tmp_path: Path) -> None:
    directory = copy_fixture("own", tmp_path)
    edit(
        directory / "events.jsonl",
        '"event_type": "payment_attempt", "event_timestamp": "2025-11-03T15:05:00.000Z", '
        '"device": "mobile"',
        '"event_type": "payment_attempt", "event_timestamp": "2025-11-03T15:05:00.000Z", '
        '"device": "tablet"',
    )
    dataset = read_dataset(directory)

    with pytest.raises(DatasetError) as info:
        list(dataset.iter_events(chunk_rows=2))

    assert (info.value.line, info.value.column) == (6, "device")
    assert events_error(directory).line == 6


def _write_events_parquet(directory: Path, ts: list[str], device: list[str | None]) -> None:
    n = len(ts)
    table = pa.table(
        {
            "event_id": [f"EV{i}" for i in range(n)],
            "ts": ts,
            "event_type": ["page_view"] * n,
            "customer_id": ["K1"] * n,
            "device": device,
        }
    )
    pq.write_table(table, directory / "events.parquet")


def test_parquet_errors_give_the_row(tmp_path: Path) -> None:
    directory = copy_fixture("prototype_parquet", tmp_path)
    good = "2025-11-03T14:00:00.123456789Z"
    _write_events_parquet(directory, [good, good, "03/11/2025", good], ["ios"] * 4)

    error = events_error(directory)

    assert (error.file, error.line, error.row, error.column) == ("events.parquet", None, 3, "ts")
    assert (
        str(error) == "events.parquet row 3, column ts: '03/11/2025' is not an ISO-8601 timestamp"
    )


# --------------------------------------------------------------------------- NaN and infinity
# A NaN amount compares false with every threshold, so it would pass for an ordinary one:
# wherever it comes from, it refuses the file at its place, as any other bad value does.


@pytest.mark.parametrize(
    ("file", "old", "new", "line", "column", "message"),
    [
        ("payments.csv", "95.40,EUR,success", "NaN,EUR,success", 3, "amount",
         "'NaN' is not a number"),
        ("payments.csv", "95.40,EUR,success", "nan,EUR,success", 3, "amount",
         "'nan' is not a number"),
        ("payments.csv", "95.40,EUR,success", "inf,EUR,success", 3, "amount",
         "'inf' is not a finite number"),
        ("payments.csv", "95.40,EUR,success", "-Infinity,EUR,success", 3, "amount",
         "'-Infinity' is not a finite number"),
        ("payments.csv", "95.40,EUR,success", ",EUR,success", 3, "amount",
         "required value is empty"),
        ("orders.csv", "95.40,EUR", "NaN,EUR", 2, "total_amount", "'NaN' is not a number"),
        ("orders.csv", "95.40,EUR", ",EUR", 2, "total_amount", "required value is empty"),
        ("products.csv", "15.50", "inf", 3, "unit_price", "'inf' is not a finite number"),
        ("order_items.csv", "O001,P002,1,15.50", "O001,P002,1,NaN", 3, "unit_price",
         "'NaN' is not a number"),
    ],
)  # fmt: skip
def test_nan_infinity_or_nothing_in_a_table_number(
    tmp_path: Path, file: str, old: str, new: str, line: int, column: str, message: str
) -> None:
    directory = copy_fixture("own", tmp_path)
    edit(directory / file, old, new)

    error = read_error(directory)

    assert str(error) == f"{file} line {line}, column {column}: {message}"


@pytest.mark.parametrize(
    ("fixture", "old", "new", "line", "column", "message"),
    [
        # JSON has no NaN, but Python's json module (and pandas) write one unquoted.
        ("own", '"amount": 79.9', '"amount": NaN', 3, "amount", "'nan' is not a number"),
        ("own", '"amount": 79.9', '"amount": "NaN"', 3, "amount", "'NaN' is not a number"),
        ("own", '"amount": 79.9', '"amount": Infinity', 3, "amount",
         "'inf' is not a finite number"),
        ("prototype", '"cart_value": 199.0', '"cart_value": NaN', 2, "cart_value",
         "'NaN' is not a number"),
        ("prototype", '"cart_value": 199.0', '"cart_value": -Infinity', 2, "cart_value",
         "'-Infinity' is not a finite number"),
    ],
)  # fmt: skip
def test_nan_or_infinity_in_a_jsonl_amount(
    tmp_path: Path, fixture: str, old: str, new: str, line: int, column: str, message: str
) -> None:
    directory = copy_fixture(fixture, tmp_path)
    edit(directory / "events.jsonl", old, new)

    error = events_error(directory)

    assert str(error) == f"events.jsonl line {line}, column {column}: {message}"


def test_an_absent_event_amount_stays_absent(tmp_path: Path) -> None:
    """null and "" say "no amount" (a page view has none): read as NaN, not refused."""
    directory = copy_fixture("own", tmp_path)
    edit(directory / "events.jsonl", '"amount": 79.9', '"amount": ""')

    amounts = read_dataset(directory).events(["event_id", "amount"])

    assert amounts["amount"].isna().sum() == 4  # the three of the fixture and this one


def _with_cart_value(directory: Path, value: float | None) -> None:
    table = pq.read_table(directory / "events.parquet")
    values = table.column("cart_value").to_pylist()
    values[1] = value
    at = table.schema.get_field_index("cart_value")
    table = table.set_column(at, "cart_value", pa.array(values, pa.float64()))
    pq.write_table(table, directory / "events.parquet")


@pytest.mark.parametrize(
    ("value", "message"),
    [(float("nan"), "'nan' is not a number"), (float("inf"), "'inf' is not a finite number")],
)
def test_parquet_nan_or_infinity_give_the_row(tmp_path: Path, value: float, message: str) -> None:
    directory = copy_fixture("prototype_parquet", tmp_path)
    _with_cart_value(directory, value)

    error = events_error(directory)

    assert str(error) == f"events.parquet row 2, column cart_value: {message}"


def test_a_parquet_null_amount_is_absent_not_refused(tmp_path: Path) -> None:
    directory = copy_fixture("prototype_parquet", tmp_path)
    _with_cart_value(directory, None)

    events = read_dataset(directory).events(["event_id", "amount"])

    assert np.isnan(events.loc[events["event_id"] == "EV2", "amount"].item())


def test_parquet_string_timestamps_and_absent_columns(tmp_path: Path) -> None:
    directory = copy_fixture("prototype_parquet", tmp_path)
    stamps = ["2025-11-03T14:00:00.123456789Z", "2025-11-03T15:00:00+01:00"]
    _write_events_parquet(directory, stamps, ["web_mobile", None])

    events = read_dataset(directory).events()

    assert events["event_timestamp"].tolist() == [
        utc("2025-11-03T14:00:00Z"),
        utc("2025-11-03T14:00:00.123Z"),
    ]
    assert events["device"].tolist() == ["", "mobile"]
    assert events["session_id"].tolist() == ["", ""]  # absent from the file
    assert events["country"].tolist() == ["UK", "UK"]


# --------------------------------------------------------------------------- round trip


def test_generated_dataset_reads_back(tmp_path: Path) -> None:
    from data_gen.generate import generate
    from data_gen.params import GenParams

    out = tmp_path / "generated"
    generate(out, GenParams(scale=0.02))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))

    dataset = read_dataset(out)

    assert dataset.layout == "kivendtout"
    assert dataset.labelled is True
    assert_all_canonical(dataset)
    events = dataset.events()
    assert_canonical(events, schema.EVENTS)
    files = manifest["files"]
    for file in schema.TABLES:
        assert len(getattr(dataset, file.removesuffix(".csv"))) == files[file]["rows"], file
    assert len(events) == files[schema.EVENTS_FILE]["rows"]
    payments = dataset.payments
    assert (payments["result"] == "success").sum() == manifest["payments"]["success"]
    assert int(payments["is_fraud"].sum()) == manifest["fraud"]["payments"]
    assert payments["is_fraud"].notna().all()
    assert sum(len(chunk) for chunk in dataset.iter_events(chunk_rows=1_000)) == len(events)
