"""Column checks whose fast paths must agree with the plain pandas answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_gen import normalize as nz


@pytest.mark.parametrize(
    ("values", "row"),
    [
        (["E01", "E02", "E03"], None),  # one length: sorted as fixed-width bytes
        (["E01", "E02", "E01"], 2),
        (["A\x00", "A\x01", "A\x00"], 2),  # a trailing NUL is part of the value
        (["A\x00", "A\x01"], None),
        (["a", "bb", "a"], 2),  # lengths differ: hashed
        (["a", "bb", "ccc"], None),
        (["", "x", ""], 2),
        ([], None),
    ],
)
def test_check_unique_reports_the_second_occurrence(values: list[str], row: int | None) -> None:
    problem = nz.check_unique(pd.Series(values, dtype=nz.TEXT), "id")
    assert (problem.row if problem else None) == row
    if problem is not None:
        assert problem.message == f"{nz.show(values[row])} is a duplicate"


def test_check_unique_on_a_slice_and_many_chunks() -> None:
    ids = pd.Series([f"E{i:06d}" for i in range(50_000)], dtype=nz.TEXT)
    chunked = pd.concat([ids.iloc[:20_000], ids.iloc[20_000:]], ignore_index=True)
    assert nz.check_unique(chunked, "id") is None
    assert nz.check_unique(ids.iloc[7:30_000].reset_index(drop=True), "id") is None
    again = pd.concat([ids.iloc[10:40_000], ids.iloc[[39_999]]], ignore_index=True)
    problem = nz.check_unique(again, "id")
    assert problem is not None and (problem.row, problem.value) == (39_990, "E039999")


@pytest.mark.parametrize(
    "values",
    [
        ["1.5", "", "2", "-3e2", "12.30"],  # Arrow's cast takes them all
        ["1.5", " 2 ", "x", ""],  # Arrow refuses: pandas' parser decides
        ["inf", "nan", "1e400", "4"],
    ],
)
def test_numbers_parse_as_pandas_does(values: list[str]) -> None:
    raw = pd.Series(values, dtype=nz.TEXT)
    out, problem = nz.number(raw, "amount", required=False)
    expected = pd.to_numeric(raw.where(raw != "", None), errors="coerce").astype("float64")
    assert out.dtype == "float64"
    np.testing.assert_array_equal(out.to_numpy(), expected.to_numpy())
    finite = np.isfinite(expected.to_numpy()) | (raw == "").to_numpy()
    first_bad = None if finite.all() else int(np.argmin(finite))
    assert (problem.row if problem else None) == first_bad


def test_equal_hashes_are_decided_on_the_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nz, "_FNV_PRIME", np.uint64(0))  # every value hashes alike
    distinct = pd.Series([f"K{i:04d}" for i in range(1_000)], dtype=nz.TEXT)
    assert nz.check_unique(distinct, "id") is None
    twice = pd.concat([distinct, distinct.iloc[[500]]], ignore_index=True)
    problem = nz.check_unique(twice, "id")
    assert problem is not None and (problem.row, problem.value) == (1_000, "K0500")
