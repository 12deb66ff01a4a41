"""Vectorised parsing and checking of raw dataset columns.

Every function takes a column as read from a file (pandas ``str`` values, ``""`` for empty, or
already-typed values from Parquet/JSON) and returns the canonical column plus the first
offending row, if any.  Nothing here knows about files or line numbers: the reader maps a
:class:`Problem`'s row position back to a physical location only when it has to report one,
because that mapping costs a second pass over the file.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_gen import countries, schema
from detector.common.i18n import text as _text

TEXT = "str"  # pandas 3 string dtype: comparisons give plain bool arrays, never <NA>
TIMESTAMP = "datetime64[ms, UTC]"
LABEL = "Int8"

DEVICE_ALIASES: Mapping[str, str] = {"web_desktop": "desktop", "web_mobile": "mobile"}
_TRUE = ("true", "1", "yes", "t", "y")
_FALSE = ("false", "0", "no", "f", "n", "")
_LABEL_TRUE = ("1", "true", "1.0")
_LABEL_FALSE = ("0", "false", "0.0")
_MAX_SHOWN = 50


@dataclass(frozen=True)
class Problem:
    """The first bad value of one column: ``row`` is its 0-based position in the frame.

    ``why`` is the catalogue key of the reason (``chk.why.*``) and ``fields`` its values
    (the quoted value, the allowed names...), so the import check can say it in French or
    English; :attr:`message` is the English one (errors and logs)."""

    row: int
    column: str
    value: str | None
    why: str
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return _text(self.why, "en", **self.fields)


def show(value: object) -> str:
    """Quote a value for an error message, truncated so a huge cell cannot flood a log."""
    text = str(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "…"
    return repr(text)


def first_problem(problems: Iterable[Problem | None]) -> Problem | None:
    """The problem on the earliest row; ties go to the earlier check (column order)."""
    best: Problem | None = None
    for problem in problems:
        if problem is not None and (best is None or problem.row < best.row):
            best = problem
    return best


def _first(mask: np.ndarray | pd.Series) -> int | None:
    values = np.asarray(mask, dtype=bool)
    if not values.any():
        return None
    return int(values.argmax())


def _problem(
    raw: pd.Series, mask: np.ndarray | pd.Series, column: str, why: str, **fields: str
) -> Problem | None:
    """Build the problem for the first True in ``mask``: the reason ``why`` (a catalogue
    key) gets ``{value}``, the value quoted, besides ``fields``."""
    row = _first(mask)
    if row is None:
        return None
    value = raw.iloc[row]
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    return Problem(row, column, text, why, {"value": show(text), **fields})


def _empty(values: pd.Series) -> np.ndarray:
    """``values == ""`` compared in Arrow; calling to_numpy() first would box every string."""
    return (values == "").to_numpy(dtype=bool, na_value=False)


def _alias(values: pd.Series, aliases: Mapping[str, str]) -> pd.Series:
    # where() stays vectorised; Series.replace(dict) walks string arrays in Python.
    for old, new in aliases.items():
        values = values.where(values != old, new)
    return values


def text(values: pd.Series) -> pd.Series:
    """Any column as strings with ``""`` for missing (ids read as numbers included)."""
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(
        values.dtype
    ):
        return values.fillna("").astype(TEXT)
    missing = values.isna().to_numpy()
    out = values.astype(object).where(~missing, "")
    return out.map(str).astype(TEXT)


def empty_text(length: int, index: pd.Index | None = None) -> pd.Series:
    return pd.Series([""] * length, index=index, dtype=TEXT)


def check_required(values: pd.Series, column: str) -> Problem | None:
    return _problem(values, _empty(values), column, "chk.why.empty")


def check_unique(values: pd.Series, column: str) -> Problem | None:
    """A repeated primary key, reported on its second occurrence."""
    if _is_text(values) and _all_distinct(_one_array(values)):
        return None  # the common case, decided without materialising a mask
    dup = values.duplicated(keep="first").to_numpy()
    row = _first(dup)
    if row is None:
        return None
    value = values.iloc[row]
    return Problem(row, column, value, "chk.why.duplicate", {"value": show(value)})


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def _all_distinct(array: pa.Array) -> bool:
    """No value twice.  Ids of one length (most exports' are) are read straight from Arrow's
    buffer as fixed-width rows, hashed (FNV-1a, one numpy pass per byte) and the 64-bit
    hashes sorted: 10x cheaper than hashing 7 million distinct strings in Arrow, whose table
    outgrows the caches.  Equal hashes are decided on the bytes; other columns go to Arrow."""
    n = len(array)
    if n < 2:
        return True
    if array.null_count or not (
        pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
    ):
        return bool(pc.count_distinct(array).as_py() == n)
    low, high = pc.min_max(pc.binary_length(array)).values()
    width = low.as_py()
    if width != high.as_py() or not width:
        return bool(len(pc.unique(array)) == n)
    offsets = np.frombuffer(
        array.buffers()[1], dtype=np.int64 if pa.types.is_large_string(array.type) else np.int32
    )
    start = int(offsets[array.offset])
    data = array.buffers()[2]
    rows = np.frombuffer(data, dtype=np.uint8, count=n * width, offset=start).reshape(n, width)
    digest = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    for column in range(width):
        digest ^= rows[:, column]
        digest *= _FNV_PRIME  # wraps modulo 2**64, as FNV means to
    hashed = np.sort(digest)
    if not (hashed[1:] == hashed[:-1]).any():
        return True
    # A duplicate, or two values with one hash: the bytes decide (equal lengths, so a
    # trailing NUL cannot make two values equal in numpy's comparison).
    fixed = np.sort(np.frombuffer(data, dtype=f"S{width}", count=n, offset=start))
    return not bool((fixed[1:] == fixed[:-1]).any())


def check_in(
    values: pd.Series,
    column: str,
    allowed: Collection[str],
    *,
    required: bool,
    why: str,
    **fields: str,
) -> Problem | None:
    """Values outside ``allowed``; ``""`` passes unless the column is required.  ``why``:
    the reason's catalogue key, ``fields`` its values besides ``{value}``."""
    bad = ~values.isin(list(allowed)).to_numpy()
    if not required:
        bad &= ~_empty(values)
    return _problem(values, bad, column, why, **fields)


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(
        values.dtype
    )


def _arrow(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """The column in Arrow: zero-copy for Arrow-backed strings (chunks are kept as they are;
    compute functions take them, and joining them would copy the data)."""
    return pa.array(values.array)


def _one_array(values: pd.Series) -> pa.Array:
    array = _arrow(values)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def positions(keys: pd.Series, table_keys: pd.Series) -> np.ndarray:
    """Row of ``table_keys`` holding each key (its first), -1 when absent; hashed in Arrow,
    as ``Series.isin`` on strings walks Python objects (100x slower on millions of ids)."""
    found = pc.index_in(_arrow(keys), value_set=_one_array(table_keys))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def member(values: pd.Series, pool: pd.Series) -> np.ndarray:
    return positions(values, pool) >= 0


def check_ref(values: pd.Series, column: str, known: pd.Series, target_file: str) -> Problem | None:
    """A non-empty reference to an id that ``target_file`` does not define."""
    bad = ~_empty(values) & ~member(values, known)
    return _problem(values, bad, column, "chk.why.unknown_ref", target=target_file)


def device(values: pd.Series, column: str, *, required: bool) -> tuple[pd.Series, Problem | None]:
    out = _alias(text(values), DEVICE_ALIASES)
    names = ", ".join(schema.DEVICES)
    return out, check_in(
        out, column, schema.DEVICES, required=required, why="chk.why.not_device", names=names
    )


def country(values: pd.Series, column: str, *, required: bool) -> tuple[pd.Series, Problem | None]:
    """Any ISO 3166-1 alpha-2 code, any case; GB is written UK (the shop's spelling)."""
    raw = text(values)
    out = _alias(raw.str.strip().str.upper(), countries.UK_ALIAS)
    bad = ~out.isin(list(countries.known_codes())).to_numpy()
    if not required:
        bad &= ~_empty(out)
    return out, _problem(raw, bad, column, "chk.why.not_country")


def zone(values: pd.Series, column: str) -> tuple[pd.Series, Problem | None]:
    """An IANA time zone name (Europe/Paris), or empty: then it comes from the country."""
    out = text(values).str.strip()
    return out, check_in(
        out, column, countries.known_zones(), required=False, why="chk.why.not_zone"
    )


def timestamp(
    values: pd.Series, column: str, *, required: bool
) -> tuple[pd.Series, Problem | None]:
    """ISO-8601 with any sub-second precision and zone; no zone means UTC. Floored to ms."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values
        if getattr(values.dtype, "tz", None) is None:
            parsed = parsed.dt.tz_localize("UTC")
        parsed = parsed.dt.tz_convert("UTC")
        raw = values
        bad = parsed.isna().to_numpy() if required else np.zeros(len(values), dtype=bool)
        why = "chk.why.empty"
    else:
        raw = text(values)
        parsed = _arrow_timestamps(raw)
        if parsed is None:
            parsed = pd.to_datetime(raw, format="ISO8601", utc=True, errors="coerce")
        empty = _empty(raw)
        bad = parsed.isna().to_numpy() & (~empty | required)
        why = "chk.why.not_timestamp"
        if required:
            # An empty required cell deserves the plainer message.
            empty_row, bad_row = _first(empty), _first(bad & ~empty)
            if empty_row is not None and (bad_row is None or empty_row < bad_row):
                why = "chk.why.empty"
    # Floor rather than round: rounding could push an event past the next one's second.
    out = parsed.dt.floor("ms").dt.as_unit("ms")
    return out.astype(TIMESTAMP), _problem(raw, bad, column, why)


def _arrow_timestamps(raw: pd.Series) -> pd.Series | None:
    """Arrow's ISO-8601 parser, several times faster than pandas', when it takes every value:
    it refuses what it cannot read exactly (no zone, sub-millisecond digits, odd spacing),
    and then pandas parses the whole column as before."""
    array = _arrow(raw)
    kind = pa.timestamp("ms", tz="UTC")
    try:
        parsed = pc.cast(array, kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Perhaps only empty cells (optional columns): as nulls, then once more.
        array = pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)
        try:
            parsed = pc.cast(array, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return pd.Series(parsed.to_pandas().array, index=raw.index)


def zoneless(values: pd.Series) -> np.ndarray:
    """Which timestamps name no zone (so were read as UTC); typed columns by their dtype."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        if getattr(values.dtype, "tz", None) is not None:
            return np.zeros(len(values), dtype=bool)
        return values.notna().to_numpy()
    array = _arrow(text(values))
    if pc.all(pc.ends_with(array, "Z")).as_py() is not False:
        return np.zeros(len(values), dtype=bool)  # the usual case, without a regex
    zoned = pc.match_substring_regex(
        array, r"(?:T\d\d|:\d\d(?:[.,]\d+)?)(?:[Zz]|[+-]\d\d(?::?\d\d)?)\s*$"
    )
    blank = pc.equal(pc.utf8_trim_whitespace(array), "")
    return ~(zoned.to_numpy(zero_copy_only=False) | blank.to_numpy(zero_copy_only=False))


def number(values: pd.Series, column: str, *, required: bool) -> tuple[pd.Series, Problem | None]:
    """A finite float64; ``""``/null becomes NaN unless the column is required.

    NaN and infinities are refused wherever they come from (the text "NaN", JSON's ``NaN``
    literal, a Parquet float NaN): a rule comparing an amount with NaN is silently false, so
    an unreadable amount would look like an ordinary one.  Readers hand a stored NaN over as
    the text "nan" (see ``readers._arrow_frame``), so that here an empty value is only ever
    a null or ``""``."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        out = values.astype("float64")
        raw = values
        empty = out.isna().to_numpy()
    else:
        raw = text(values)
        out = _arrow_floats(raw)
        if out is None:
            out = pd.to_numeric(raw.where(raw != "", None), errors="coerce").astype("float64")
        empty = _empty(raw)
    parsed = out.to_numpy()
    infinite = np.isinf(parsed)
    bad = np.isnan(parsed) & ~empty
    problems = [
        _problem(raw, bad, column, "chk.why.not_number"),
        _problem(raw, infinite, column, "chk.why.not_finite"),
    ]
    if required:
        problems.append(_problem(raw, empty, column, "chk.why.empty"))
    return out, first_problem(problems)


def _arrow_floats(raw: pd.Series) -> pd.Series | None:
    """Text to float64 by Arrow's cast (5x cheaper than pandas' parser), ``""`` as NaN; None
    when Arrow refuses a value (spaces, a word): pandas then finds which one."""
    array = _arrow(raw)
    try:
        cast = pc.cast(
            pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array), "float64"
        )
    except pa.ArrowInvalid:
        return None
    values = cast.to_numpy(zero_copy_only=False) if len(raw) else np.empty(0)
    return pd.Series(values, index=raw.index, dtype="float64")


def integer(values: pd.Series, column: str) -> tuple[pd.Series, Problem | None]:
    """A required whole number (order_items.qty)."""
    raw = text(values)
    ok = raw.str.fullmatch(r"-?\d{1,18}").to_numpy(dtype=bool, na_value=False)
    problem = _problem(raw, ~ok, column, "chk.why.not_integer")
    out = pd.to_numeric(raw.where(ok, "0")).astype("int64")
    return out, problem


def boolean(values: pd.Series, column: str) -> tuple[pd.Series, Problem | None]:
    """true/false, 1/0, yes/no in any case; empty means False (an unset flag)."""
    raw = text(values)
    lowered = raw.str.lower()
    truthy = lowered.isin(_TRUE).to_numpy()
    bad = ~truthy & ~lowered.isin(_FALSE).to_numpy()
    out = pd.Series(truthy, index=raw.index, dtype="bool")
    return out, _problem(raw, bad, column, "chk.why.not_boolean")


def label(values: pd.Series, column: str) -> tuple[pd.Series, Problem | None]:
    """Fraud label 1/0 (or true/false) as nullable Int8; empty is unknown (<NA>)."""
    raw = text(values)
    lowered = raw.str.lower()
    truthy = lowered.isin(_LABEL_TRUE).to_numpy()
    falsy = lowered.isin(_LABEL_FALSE).to_numpy()
    empty = _empty(raw)
    out = pd.Series(pd.array(truthy.astype("int8"), dtype=LABEL), index=raw.index)
    out[empty] = pd.NA
    return out, _problem(raw, ~(truthy | falsy | empty), column, "chk.why.not_label")


def lookup(
    keys: pd.Series,
    index_keys: pd.Series,
    values: pd.Series,
    default: object,
    rows: np.ndarray | None = None,
) -> pd.Series:
    """``values`` of the row whose ``index_keys`` equals each key (first match wins);
    ``rows``: those positions already found, for a second column of the same table."""
    if rows is None:
        rows = positions(keys, index_keys)
    found = (rows >= 0) & ~_empty(keys)
    if not len(values):
        return pd.Series([default] * len(keys), index=keys.index, dtype=values.dtype)
    out = values.to_numpy()[np.where(found, rows, 0)]
    result = pd.Series(out, index=keys.index).astype(values.dtype)
    return result.where(found, default)
