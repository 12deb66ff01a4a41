"""Read a dataset directory, in our layout or as a KiVendTout prototype export.

Both layouts end up in one canonical in-memory form (the columns of :mod:`data_gen.schema`), so
the detector never has to know where a dataset came from.  The layout is detected per file from
its header.  Tables are read eagerly by :func:`read_dataset`; the events, by far the largest
file, are read on demand by :meth:`Dataset.events` or streamed by :meth:`Dataset.iter_events`.

Validation is vectorised: each column is checked with a mask and only the first offending row is
reported, as a :class:`DatasetError` naming the file, the physical line and the column.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from data_gen import countries, schema
from data_gen import normalize as nz
from data_gen.countries import ZoneChoice
from data_gen.errors import DataGenError
from data_gen.normalize import Problem
from detector.common.i18n import text as _text

OWN = "kivendtout"
PROTOTYPE = "prototype"
# The file name of a missing events file: either will do (check.file_in says it in French).
EVENTS_EITHER = f"{schema.EVENTS_FILE} or {schema.EVENTS_PARQUET}"
_JSON_BLOCK_BYTES = 1 << 22


class DatasetError(DataGenError):
    """A dataset that cannot be read, located as precisely as the file format allows.

    ``line`` is the 1-based physical line (CSV header and first JSON line are line 1);
    Parquet has no lines, so ``row`` (1-based) is given instead.  ``why`` is the catalogue
    key of the reason (``chk.why.*``) and ``fields`` its values, for saying it in French or
    English; ``message`` is the English one.  A ``message`` without ``why`` stays as given.
    """

    def __init__(
        self,
        file: str,
        message: str = "",
        *,
        line: int | None = None,
        column: str | None = None,
        row: int | None = None,
        value: str | None = None,
        why: str = "",
        fields: Mapping[str, str] | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.row = row
        self.value = value
        self.why = why
        self.fields = dict(fields or {})
        self.message = message or _text(why, "en", **self.fields)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" line {self.line}"
        elif self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


@dataclass
class Zoneless:
    """Timestamps written without a zone (read as UTC), per (file, column), with a few ids."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    keep: int = 3

    def add(self, file: str, column: str, values: pd.Series, ids: pd.Series) -> None:
        mask = nz.zoneless(values)
        n = int(mask.sum())
        if not n:
            return
        key = (file, column)
        self.counts[key] = self.counts.get(key, 0) + n
        shown = self.examples.setdefault(key, [])
        if len(shown) < self.keep:
            shown.extend(nz.text(ids[mask].iloc[: self.keep - len(shown)]).tolist())


@dataclass(frozen=True)
class _Column:
    name: str
    kind: str  # text | ts | date | float | int | bool | label | device | country | zone | result
    required: bool = False


def _cols(*specs: tuple[str, str] | tuple[str, str, bool]) -> tuple[_Column, ...]:
    return tuple(_Column(*spec) for spec in specs)


# Canonical columns, in schema order, with how each is parsed and whether it may be empty.
_SPECS: Mapping[str, tuple[_Column, ...]] = {
    "customers.csv": _cols(
        ("customer_id", "text", True),
        ("signup_ts", "ts", True),
        ("country", "country", True),
        ("timezone", "zone"),
        ("preferred_device", "device"),
        ("preferred_source", "text"),
        ("spend_level", "text"),
        ("segment", "text"),
        ("birthdate", "date"),
        ("is_minor", "bool"),
    ),
    "products.csv": _cols(
        ("product_id", "text", True),
        ("name", "text"),
        ("category", "text"),
        ("is_adult_restricted", "bool"),
        ("unit_price", "float", True),
        ("created_at", "ts"),
    ),
    "sessions.csv": _cols(
        ("session_id", "text", True),
        ("customer_id", "text"),
        ("start_ts", "ts", True),
        ("end_ts", "ts"),
        ("device", "device"),
        ("device_id", "text"),
        ("ip_hash", "text"),
        ("country", "country"),
        ("utm_source", "text"),
        ("utm_campaign", "text"),
    ),
    "orders.csv": _cols(
        ("order_id", "text", True),
        ("customer_id", "text", True),
        ("session_id", "text"),
        ("payment_id", "text"),
        ("order_ts", "ts", True),
        ("total_amount", "float", True),
        ("currency", "text"),
        ("shipping_method", "text"),
        ("status", "text"),
    ),
    "order_items.csv": _cols(
        ("order_id", "text", True),
        ("product_id", "text", True),
        ("qty", "int", True),
        ("unit_price", "float", True),
    ),
    "payments.csv": _cols(
        ("payment_id", "text", True),
        ("customer_id", "text", True),
        ("session_id", "text"),
        ("order_id", "text"),
        ("attempt_ts", "ts", True),
        ("method", "text"),
        ("card_bin", "text"),
        ("payment_country", "country"),
        ("ip_hash", "text"),
        ("device", "device"),
        ("device_id", "text"),
        ("utm_source", "text"),
        ("amount", "float", True),
        ("currency", "text"),
        ("result", "result", True),
        ("decline_reason", "text"),
        ("is_fraud", "label"),
        ("fraud_scenario", "text"),
        ("fraud_incident_id", "text"),
    ),
    schema.EVENTS_FILE: _cols(
        ("event_id", "text", True),
        ("customer_id", "text"),
        ("session_id", "text"),
        ("event_type", "text", True),
        ("event_timestamp", "ts", True),
        ("device", "device"),
        ("device_id", "text"),
        ("utm_source", "text"),
        ("country", "country"),
        ("product_id", "text"),
        ("amount", "float"),
        ("payment_id", "text"),
        ("order_id", "text"),
    ),
}
_PRIMARY_KEYS: Mapping[str, str] = {
    "customers.csv": "customer_id",
    "products.csv": "product_id",
    "sessions.csv": "session_id",
    "orders.csv": "order_id",
    "payments.csv": "payment_id",
}
# The column that names a row in a finding's examples.
_ID_COLUMNS: Mapping[str, str] = {
    **_PRIMARY_KEYS,
    "order_items.csv": "order_id",
    schema.EVENTS_FILE: "event_id",
}
# Labels may be missing from either layout: the dataset is then unlabelled.
_OPTIONAL_HEADERS = frozenset({"is_fraud", "is_fraud_label", "fraud_scenario", "fraud_incident_id"})
_PROTOTYPE_HEADERS: Mapping[str, tuple[str, ...]] = {
    "customers.csv": (
        "customer_id",
        "signup_ts",
        "country",
        "preferred_device",
        "birthdate",
        "is_minor",
    ),
    "products.csv": schema.PRODUCTS,
    "sessions.csv": (
        "session_id",
        "customer_id",
        "start_ts",
        "end_ts",
        "device",
        "ip_hash",
        "utm_source",
        "utm_campaign",
    ),
    "orders.csv": schema.ORDERS,
    "order_items.csv": ("order_id", "product_id", "qty"),
    "payments.csv": (
        "payment_id",
        "customer_id",
        "session_id",
        "attempt_ts",
        "method",
        "card_bin",
        "payment_country",
        "ip_hash",
        "device_id",
        "amount",
        "result",
    ),
}
# JSON objects are self-describing (an absent key reads as null), so events need only these.
_EVENT_HEADERS: Mapping[str, tuple[str, ...]] = {
    OWN: ("event_id", "event_type", "event_timestamp"),
    PROTOTYPE: ("event_id", "event_type", "ts"),
}
_RENAMES: Mapping[str, Mapping[str, str]] = {
    OWN: {},
    PROTOTYPE: {
        "is_fraud_label": "is_fraud",
        "ts": "event_timestamp",
        "cart_value": "amount",
        "time_zone": "timezone",
    },
}
# Canonical event column → prototype source key; absent ones are derived.
_PROTOTYPE_EVENT_SOURCES: Mapping[str, str] = {
    "event_id": "event_id",
    "customer_id": "customer_id",
    "session_id": "session_id",
    "event_type": "event_type",
    "event_timestamp": "ts",
    "device": "device",
    "utm_source": "utm_source",
    "product_id": "product_id",
    "amount": "cart_value",
    "payment_id": "payment_id",
    "order_id": "order_id",
}
_NUMERIC_SOURCES = frozenset({"amount", "cart_value"})


def _layout_of(file: str, header: Collection[str], line: int | None) -> str:
    """Own layout when every own column is there, else prototype, else name what is missing."""
    if file in _PROTOTYPE_HEADERS:
        required = {
            OWN: tuple(c for c in schema.TABLES[file] if c not in _OPTIONAL_HEADERS),
            PROTOTYPE: _PROTOTYPE_HEADERS[file],
        }
        known = {OWN: schema.TABLES[file], PROTOTYPE: (*_PROTOTYPE_HEADERS[file], "is_fraud_label")}
    else:
        required = dict(_EVENT_HEADERS)
        known = {OWN: schema.EVENTS, PROTOTYPE: (*_PROTOTYPE_EVENT_SOURCES.values(), "ip_hash")}
    present = set(header)
    missing = {name: [c for c in cols if c not in present] for name, cols in required.items()}
    for name in (OWN, PROTOTYPE):
        if not missing[name]:
            return name

    # Name the gap of the layout the file most resembles: fewest missing, then most recognised.
    def distance(name: str) -> tuple[int, int]:
        return len(missing[name]), -len(present.intersection(known[name]))

    closest = min((OWN, PROTOTYPE), key=distance)
    raise DatasetError(file, why="chk.why.missing_column", line=line, column=missing[closest][0])


# --------------------------------------------------------------------------- CSV tables


def _csv_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, fields) of every non-blank CSV record, header included."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle)
        end = 0
        for fields in reader:
            start, end = end + 1, reader.line_num
            if fields:
                yield start, fields


def _csv_line(path: Path, row: int) -> int | None:
    """Physical line of data row ``row`` (0-based); a second pass, taken only to report."""
    for index, (line, _) in enumerate(_csv_records(path)):
        if index == row + 1:
            return line
    return None


def _read_csv(path: Path) -> tuple[str, pd.DataFrame]:
    """(layout, frame of canonical columns as strings) for one table file."""
    file = path.name
    header = next((fields for _, fields in _csv_records(path)), None)
    if header is None:
        raise DatasetError(file, why="chk.why.empty_csv", line=1)
    layout = _layout_of(file, header, line=1)
    renames = _RENAMES[layout]
    known = {c.name for c in _SPECS[file]}
    used = [h for h in dict.fromkeys(header) if renames.get(h, h) in known]
    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in used},
                include_columns=used,
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise _diagnose_csv(path, len(header), exc) from None
    frame = table.to_pandas().rename(columns=dict(renames))
    return layout, frame


def _diagnose_csv(path: Path, width: int, exc: Exception) -> DatasetError:
    """Find the record pyarrow choked on; its own message has no reliable line number."""
    for line, fields in _csv_records(path):
        if len(fields) != width:
            return DatasetError(
                path.name,
                why="chk.why.field_count",
                fields={"expected": str(width), "found": str(len(fields))},
                line=line,
            )
    return DatasetError(path.name, why="chk.why.unreadable_csv", fields={"error": str(exc)})


def _convert(kind: str, values: pd.Series, column: _Column) -> tuple[pd.Series, Problem | None]:
    name, required = column.name, column.required
    if kind == "text":
        out = nz.text(values)
        return out, nz.check_required(out, name) if required else None
    if kind in ("ts", "date"):
        return nz.timestamp(values, name, required=required)
    if kind == "float":
        return nz.number(values, name, required=required)
    if kind == "int":
        return nz.integer(values, name)
    if kind == "bool":
        return nz.boolean(values, name)
    if kind == "label":
        return nz.label(values, name)
    if kind == "device":
        return nz.device(values, name, required=required)
    if kind == "country":
        return nz.country(values, name, required=required)
    if kind == "zone":
        return nz.zone(values, name)
    if kind == "result":
        out = nz.text(values)
        allowed = schema.PAYMENT_RESULTS
        return out, nz.check_in(
            out, name, allowed, required=True, why="chk.why.not_one_of", names=", ".join(allowed)
        )
    raise AssertionError(f"unknown column kind {kind}")


def _default(kind: str, index: pd.Index) -> pd.Series:
    """The value of a column the file does not have, before any derivation."""
    if kind in ("ts", "date"):
        return pd.Series(pd.NaT, index=index, dtype=nz.TIMESTAMP)
    if kind == "float":
        return pd.Series(float("nan"), index=index, dtype="float64")
    if kind == "int":
        return pd.Series(0, index=index, dtype="int64")
    if kind == "bool":
        return pd.Series(False, index=index, dtype="bool")
    if kind == "label":
        return pd.Series(pd.NA, index=index, dtype=nz.LABEL)
    return nz.empty_text(len(index), index)


def _canonical(
    file: str,
    raw: pd.DataFrame,
    wanted: Collection[str] | None = None,
    zoneless: Zoneless | None = None,
) -> tuple[dict[str, pd.Series], list[Problem | None]]:
    """Parse every canonical column (or just ``wanted``) of ``raw``; absent ones get defaults."""
    out: dict[str, pd.Series] = {}
    problems: list[Problem | None] = []
    key = _ID_COLUMNS[file]
    for column in _SPECS[file]:
        if wanted is not None and column.name not in wanted:
            continue
        if column.name in raw.columns:
            out[column.name], problem = _convert(column.kind, raw[column.name], column)
            problems.append(problem)
            if zoneless is not None and column.kind == "ts" and key in raw.columns:
                zoneless.add(file, column.name, raw[column.name], raw[key])
        else:
            out[column.name] = _default(column.kind, raw.index)
    return out, problems


# Prototype names only its events file uses: its payments.csv calls the amount "amount".
_EVENT_SOURCES = frozenset({"ts", "cart_value"})


def _source_name(layout: str, column: str, *, events: bool = False) -> str:
    """The name a canonical column has in the file, so errors point at what the user sees."""
    for source, canonical in _RENAMES[layout].items():
        if canonical == column and (source in _EVENT_SOURCES) == events:
            return source
    return column


def _raise_csv(path: Path, problem: Problem | None, layout: str = OWN) -> None:
    if problem is not None:
        raise DatasetError(
            path.name,
            why=problem.why,
            fields=problem.fields,
            line=_csv_line(path, problem.row),
            column=_source_name(layout, problem.column),
            value=problem.value,
        )


def _read_table(directory: Path, file: str, zoneless: Zoneless) -> tuple[str, dict[str, pd.Series]]:
    path = directory / file
    layout, raw = _read_csv(path)
    columns, problems = _canonical(file, raw, zoneless=zoneless)
    key = _PRIMARY_KEYS.get(file)
    if key is not None and key in raw.columns:
        problems.append(nz.check_unique(columns[key], key))
    _raise_csv(path, nz.first_problem(problems), layout)
    return layout, columns


def _frame(file: str, columns: Mapping[str, pd.Series]) -> pd.DataFrame:
    names = schema.TABLES.get(file, schema.EVENTS)
    return pd.DataFrame({name: columns[name] for name in names}).reset_index(drop=True)


# --------------------------------------------------------------------------- events


def _first_json_record(path: Path) -> tuple[int, dict[str, object]] | None:
    with _open_text(path) as handle:
        for line, raw in enumerate(handle, start=1):
            if raw.strip():
                return line, _parse_json_line(path.name, line, raw)
    return None


def _open_text(path: Path) -> TextIO:
    # Undecodable bytes become U+FFFD so that the JSON parser, not the codec, reports the line.
    return path.open(encoding="utf-8", errors="replace", newline="\n")


def _parse_json_line(file: str, line: int, raw: str) -> dict[str, object]:
    try:
        # NaN and Infinity are no JSON, but Python writes them: kept as their text, the
        # number check refuses them instead of taking NaN for an absent value.
        record = json.loads(raw, parse_constant=str)
    except ValueError as exc:
        reason = getattr(exc, "msg", str(exc))
        text = raw.strip()
        raise DatasetError(
            file,
            why="chk.why.bad_json",
            fields={"value": nz.show(text), "error": reason},
            line=line,
            value=text,
        ) from None
    if not isinstance(record, dict):
        raise DatasetError(file, why="chk.why.not_object", line=line)
    return record


def _events_layout(path: Path) -> str:
    if path.suffix == ".parquet":
        try:
            names = pq.ParquetFile(path).schema_arrow.names
        except (pa.ArrowException, OSError) as exc:
            raise _unreadable_parquet(path, exc) from None
        return _layout_of(path.name, names, line=None)
    first = _first_json_record(path)
    if first is None:
        raise DatasetError(path.name, why="chk.why.empty_file", line=1)
    line, record = first
    return _layout_of(path.name, record.keys(), line=line)


def _arrow_frame(data: pa.Table | pa.RecordBatch) -> pd.DataFrame:
    """Arrow → pandas, with ids written as integers or dictionaries turned into text first."""
    columns: dict[str, pd.Series] = {}
    for name, column in zip(data.column_names, data.columns, strict=True):
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
            column = column.cast(pa.string())
        elif pa.types.is_floating(kind) and pc.any(pc.is_nan(column)).as_py():
            # pandas reads a stored NaN and a null alike, as NaN; as text ("nan" and None)
            # the number check can refuse the one and take the other as absent.
            column = column.cast(pa.string())
        columns[name] = column.to_pandas()
    return pd.DataFrame(columns)


def _jsonl_batches(
    path: Path, sources: Sequence[str], chunk_rows: int
) -> Iterator[tuple[int, pd.DataFrame]]:
    """(first row, raw frame) chunks: pyarrow while it copes, Python json for the rest.

    pyarrow's reader rejects a key whose JSON type varies (a number here, ``""`` there), which
    prototype exports do; the Python path accepts that and pinpoints genuinely bad lines.
    """
    fields = [(s, pa.float64() if s in _NUMERIC_SOURCES else pa.string()) for s in sources]
    emitted = 0
    try:
        reader = pajson.open_json(
            path,
            read_options=pajson.ReadOptions(block_size=_JSON_BLOCK_BYTES),
            parse_options=pajson.ParseOptions(
                explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore"
            ),
        )
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in reader:
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= chunk_rows:
                table = pa.Table.from_batches(pending, schema=reader.schema)
                head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
                yield emitted, _arrow_frame(head)
                emitted += head.num_rows
                pending, pending_rows = rest.to_batches(), rest.num_rows
        if pending_rows:
            yield emitted, _arrow_frame(pa.Table.from_batches(pending, schema=reader.schema))
        return
    except pa.ArrowException:
        pass
    yield from _jsonl_python_batches(path, sources, chunk_rows, skip=emitted)


def _jsonl_python_batches(
    path: Path, sources: Sequence[str], chunk_rows: int, skip: int
) -> Iterator[tuple[int, pd.DataFrame]]:
    values: dict[str, list[object]] = {s: [] for s in sources}
    row = start = skip
    seen = 0
    with _open_text(path) as handle:
        for line, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            seen += 1
            if seen <= skip:
                continue
            record = _parse_json_line(path.name, line, raw)
            for source in sources:
                values[source].append(record.get(source))
            row += 1
            if row - start == chunk_rows:
                yield start, _object_frame(values)
                values = {s: [] for s in sources}
                start = row
    if row > start:
        yield start, _object_frame(values)


def _object_frame(values: Mapping[str, list[object]]) -> pd.DataFrame:
    # Everything becomes text (numbers too); normalisation parses it the same way as CSV.
    return pd.DataFrame(
        {name: pd.Series(v, dtype=nz.TEXT).fillna("") for name, v in values.items()}
    )


def _parquet_batches(
    path: Path, sources: Sequence[str], chunk_rows: int
) -> Iterator[tuple[int, pd.DataFrame]]:
    try:
        parquet = pq.ParquetFile(path)
        present = [s for s in sources if s in parquet.schema_arrow.names]
        start = 0
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=present):
            yield start, _arrow_frame(batch)
            start += batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable_parquet(path, exc) from None


def _unreadable_parquet(path: Path, exc: Exception) -> DatasetError:
    return DatasetError(path.name, why="chk.why.unreadable_parquet", fields={"error": str(exc)})


def _jsonl_line(path: Path, row: int) -> int | None:
    with _open_text(path) as handle:
        seen = -1
        for line, raw in enumerate(handle, start=1):
            if raw.strip():
                seen += 1
                if seen == row:
                    return line
    return None


@dataclass(frozen=True, eq=False)
class _EventReader:
    """Reads and normalises one events file; ``country`` needs the customers table."""

    path: Path
    layout: str
    customers: pd.DataFrame

    def sources(self, wanted: Collection[str]) -> dict[str, str]:
        """Canonical column → source key for every wanted column the file can supply."""
        if self.layout == OWN:
            return {c: c for c in schema.EVENTS if c in wanted}
        needed = set(wanted)
        if "country" in needed:
            needed.add("customer_id")
        return {c: s for c, s in _PROTOTYPE_EVENT_SOURCES.items() if c in needed}

    def chunks(
        self,
        wanted: Collection[str],
        chunk_rows: int,
        event_types: Collection[str] | None = None,
        zoneless: Zoneless | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Normalised chunks indexed by row position in the file."""
        extra = {"event_type"} if event_types is not None else set()
        if zoneless is not None:
            extra.add("event_id")
        sources = self.sources(set(wanted) | extra)
        names = list(dict.fromkeys(sources.values()))
        if self.path.suffix == ".parquet":
            batches = _parquet_batches(self.path, names, chunk_rows)
        else:
            batches = _jsonl_batches(self.path, names, chunk_rows)
        renames = {s: c for c, s in sources.items()}
        for start, raw in batches:
            raw = raw.rename(columns=renames)
            raw.index = pd.RangeIndex(start, start + len(raw))
            if event_types is not None:
                # Filter before parsing: rows of other types cost neither memory nor time.
                raw = raw[nz.text(raw["event_type"]).isin(list(event_types)).to_numpy()]
            yield self.normalise(raw, wanted, zoneless)

    def normalise(
        self, raw: pd.DataFrame, wanted: Collection[str], zoneless: Zoneless | None = None
    ) -> pd.DataFrame:
        columns, problems = _canonical(schema.EVENTS_FILE, raw, wanted, zoneless)
        if "country" in wanted and self.layout == PROTOTYPE:
            customers = self.customers
            ids = nz.text(raw["customer_id"]) if "customer_id" in raw else columns["country"]
            columns["country"] = nz.lookup(ids, customers["customer_id"], customers["country"], "")
        self.raise_problem(raw.index, nz.first_problem(problems))
        return pd.DataFrame({c: columns[c] for c in schema.EVENTS if c in wanted})

    def raise_problem(self, index: pd.Index, problem: Problem | None) -> None:
        if problem is None:
            return
        row = int(index[problem.row])
        line = None if self.path.suffix == ".parquet" else _jsonl_line(self.path, row)
        raise DatasetError(
            self.path.name,
            why=problem.why,
            fields=problem.fields,
            line=line,
            row=row + 1 if line is None else None,
            column=_source_name(self.layout, problem.column, events=True),
            value=problem.value,
        )


# --------------------------------------------------------------------------- dataset


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset in canonical form; ``eq=False`` because frames have no useful equality."""

    path: Path
    layout: str
    customers: pd.DataFrame
    products: pd.DataFrame
    sessions: pd.DataFrame
    orders: pd.DataFrame
    order_items: pd.DataFrame
    payments: pd.DataFrame
    labelled: bool
    events_path: Path
    events_layout: str
    derived_zones: int = 0  # customers whose zone came from their country
    zone_choices: tuple[ZoneChoice, ...] = ()  # ... from a country with several zones, or none
    zoneless: Zoneless = field(default_factory=Zoneless)  # in the tables (events: on request)

    def _reader(self) -> _EventReader:
        return _EventReader(self.events_path, self.events_layout, self.customers)

    def events(
        self,
        columns: Sequence[str] | None = None,
        event_types: Collection[str] | None = None,
    ) -> pd.DataFrame:
        """Events sorted by (event_timestamp, event_id); only the rows and columns asked for
        are parsed and validated, the rest are skipped while reading."""
        wanted = list(schema.EVENTS if columns is None else columns)
        unknown = [c for c in wanted if c not in schema.EVENTS]
        if unknown:
            raise ValueError(f"unknown event columns: {unknown}")
        needed = set(wanted) | {"event_id", "event_timestamp"}
        reader = self._reader()
        chunks = list(reader.chunks(needed, 200_000, event_types))
        if chunks:
            frame = pd.concat(chunks)
        else:
            frame = reader.normalise(pd.DataFrame(index=pd.RangeIndex(0)), needed)
        reader.raise_problem(frame.index, nz.check_unique(frame["event_id"], "event_id"))
        frame = frame.sort_values(["event_timestamp", "event_id"], kind="stable")
        return frame[wanted].reset_index(drop=True)

    def event_columns(
        self, columns: Sequence[str], zoneless: Zoneless | None = None
    ) -> pd.DataFrame:
        """Some columns of every event in file order (no sort: the import check needs none);
        event ids are checked unique, zone-less timestamps counted into ``zoneless``."""
        wanted = set(columns) | {"event_id"}
        reader = self._reader()
        chunks = list(reader.chunks(wanted, 500_000, zoneless=zoneless))
        if chunks:
            frame = pd.concat(chunks)
        else:
            frame = reader.normalise(pd.DataFrame(index=pd.RangeIndex(0)), wanted)
        reader.raise_problem(frame.index, nz.check_unique(frame["event_id"], "event_id"))
        return frame[list(columns)].reset_index(drop=True)

    def iter_events(self, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """All columns, file order, ``chunk_rows`` at a time; the index is the file row."""
        if chunk_rows < 1:  # checked here, not at the first next(), to fail where it is called
            raise ValueError("chunk_rows must be positive")
        return self._reader().chunks(schema.EVENTS, chunk_rows)


def _events_file(directory: Path) -> Path:
    # Parquet wins when both exist: same content, several times faster to read.
    for name in (schema.EVENTS_PARQUET, schema.EVENTS_FILE):
        if (directory / name).is_file():
            return directory / name
    raise DatasetError(EVENTS_EITHER, why="chk.why.not_found", fields={"directory": str(directory)})


def read_dataset(path: str | Path) -> Dataset:
    """Read and validate every table of the dataset at ``path``; events are read on demand."""
    directory = Path(path)
    if not directory.is_dir():
        raise DatasetError(str(directory), why="chk.why.no_directory")
    for file in schema.TABLES:
        if not (directory / file).is_file():
            raise DatasetError(file, why="chk.why.not_found", fields={"directory": str(directory)})
    events_path = _events_file(directory)

    layouts: dict[str, str] = {}
    tables: dict[str, dict[str, pd.Series]] = {}
    zoneless = Zoneless()
    for file in schema.TABLES:
        layouts[file], tables[file] = _read_table(directory, file, zoneless)
    customers, products = tables["customers.csv"], tables["products.csv"]
    sessions, orders = tables["sessions.csv"], tables["orders.csv"]
    items, payments = tables["order_items.csv"], tables["payments.csv"]

    # Derivations fill what a prototype export lacks; own-layout values are kept as written.
    missing_tz = (customers["timezone"] == "").to_numpy()
    derived_tz, zone_choices = countries.derive_zones(
        customers["country"][missing_tz], customers["customer_id"][missing_tz]
    )
    customers["timezone"] = customers["timezone"].copy()
    customers["timezone"][missing_tz] = derived_tz.to_numpy()

    _raise_csv(
        directory / "order_items.csv",
        nz.check_ref(items["product_id"], "product_id", products["product_id"], "products.csv"),
    )
    missing_price = items["unit_price"].isna()
    price = nz.lookup(items["product_id"], products["product_id"], products["unit_price"], 0.0)
    items["unit_price"] = items["unit_price"].where(~missing_price, price)

    pay_path = directory / "payments.csv"
    _raise_csv(
        pay_path,
        nz.check_ref(
            payments["customer_id"], "customer_id", customers["customer_id"], "customers.csv"
        ),
    )
    pay_ids, sess_ids = payments["payment_id"], payments["session_id"]
    _fill(payments, "order_id", nz.lookup(pay_ids, orders["payment_id"], orders["order_id"], ""))
    in_session = nz.positions(sess_ids, sessions["session_id"])  # one join, two columns
    for column in ("device", "utm_source"):
        derived = nz.lookup(sess_ids, sessions["session_id"], sessions[column], "", in_session)
        _fill(payments, column, derived)
    _fill(
        payments,
        "currency",
        nz.lookup(payments["order_id"], orders["order_id"], orders["currency"], ""),
    )
    labelled = bool(payments["is_fraud"].notna().any())

    payment_frame = (
        _frame("payments.csv", payments)
        .sort_values(["attempt_ts", "payment_id"], kind="stable")
        .reset_index(drop=True)
    )
    events_layout = _events_layout(events_path)
    everything = [*layouts.values(), events_layout]
    return Dataset(
        path=directory,
        layout=PROTOTYPE if PROTOTYPE in everything else OWN,
        customers=_frame("customers.csv", customers),
        products=_frame("products.csv", products),
        sessions=_frame("sessions.csv", sessions),
        orders=_frame("orders.csv", orders),
        order_items=_frame("order_items.csv", items),
        payments=payment_frame,
        labelled=labelled,
        events_path=events_path,
        events_layout=events_layout,
        derived_zones=int(missing_tz.sum()),
        zone_choices=zone_choices,
        zoneless=zoneless,
    )


def _fill(columns: dict[str, pd.Series], name: str, derived: pd.Series) -> None:
    """Replace empty text in ``columns[name]`` by the derived value."""
    current = columns[name]
    columns[name] = current.where(current != "", derived)
