"""The dataset studio's service layer: generate, list, preview, import, export, load, stream.

No Streamlit here.  Datasets live in ``<data_dir>/datasets/<name>``.  Anything that writes a
dataset (generation, import) builds it in a hidden temporary directory next to its
destination and renames it into place only once it is complete and readable, so a failure or
a rejected upload never leaves a half-written dataset behind.

Uploaded zips are validated before a byte is written: size, number of entries (read from the
archive's end record before the directory is parsed), entry names (no absolute paths, no
``..``, no links, no backslashes or drive letters, no encryption), file types (the known
dataset files only), compression ratio and total uncompressed size (declared, and counted
again while extracting); files are then written under their base name only, into a scratch
directory, so an entry cannot escape it whatever it is called.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import stat
import struct
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

import pandas as pd
import pyarrow.parquet as pq
from sqlalchemy import Engine

from data_gen import schema
from data_gen.check import CheckReport, Finding, check_dataset, file_in, read_failure
from data_gen.errors import DataGenError
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import DatasetError, read_dataset
from db.loader import LoadProgress, LoadReport, load_dataset
from db.models import LIVE_DATASET
from desk import check_cache, formats
from detector.common.datasets import DATASET_NAME
from detector.common.i18n import text
from detector.common.settings import Settings
from detector.rules import default_ruleset

if TYPE_CHECKING:
    from desk.runtime import Runtime

DATASETS_DIR = "datasets"
DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024
UNCOMPRESSED_FACTOR = 20  # a zip may inflate to 20x its size, no more (zip bombs)
# A dataset is at most nine files; a zip with thousands of entries is an attack on the parser
# (each central-directory entry costs memory before anything is checked).
MAX_ENTRIES = 1000
# Deflate tops out near 1032:1 and real CSV/JSONL stays under ~20:1, so 200:1 only catches
# bombs; tiny entries are exempt (a few zeros compress absurdly well and cost nothing).
MAX_RATIO = 200
RATIO_MIN_BYTES = 1 << 20
DATASET_FILES: frozenset[str] = frozenset(
    {*schema.TABLES, schema.EVENTS_FILE, schema.EVENTS_PARQUET, schema.MANIFEST_FILE}
)
ALLOWED_SUFFIXES = (".csv", ".jsonl", ".parquet", ".json")
_IGNORED = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$)")
_NAME = DATASET_NAME  # the detector reads a streamed dataset's name from its messages
_COPY_CHUNK = 1 << 20

Progress = Callable[[float, str], None]


class StudioError(Exception):
    """A dataset operation refused or failed; ``file``/``line``/``column`` locate a bad row.

    ``key`` is the catalogue key of why (``st.why.*``) and ``fields`` its values (numbers stay
    numbers: :meth:`message_in` writes them the reader's way), so a page says it in the
    session's language; ``findings``: the import check's errors behind it (a dataset that
    could not be read, or was refused), which say themselves in either language.
    ``message`` (and ``str()``) is the English text, for logs and the command line."""

    def __init__(
        self,
        key: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        findings: tuple[Finding, ...] = (),
        **fields: object,
    ) -> None:
        self.key = key
        self.fields = fields
        self.file = file
        self.line = line
        self.column = column
        self.findings = findings
        self.message = self.message_in("en")
        super().__init__(self.message)

    def message_in(self, lang: str) -> str:
        """Why, in ``lang``: the findings' own words when there are, else the key's."""
        if self.findings:
            return "\n".join(f.message_in(lang) for f in self.findings)
        return text(self.key, lang, **{k: _field(v, lang) for k, v in self.fields.items()})

    @classmethod
    def from_dataset(cls, exc: DatasetError) -> StudioError:
        return cls(
            "st.why.unreadable",
            file=exc.file,
            line=exc.line or exc.row,
            column=exc.column,
            findings=(read_failure(exc),),
        )


def _field(value: object, lang: str) -> str:
    """A field of an error's text: whole numbers grouped and others with one decimal, the
    language's way (10 000 / 10,000; 1,5 / 1.5), names as they are."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return formats.number(value, lang, 0 if isinstance(value, int) else 1)


def file_words(file: str, lang: str) -> str:
    """A file an error names, as the reader says it ("events.jsonl ou events.parquet")."""
    return file_in(file, lang)


def error_text(exc: BaseException, lang: str) -> str:
    """What a studio or dataset error says, in ``lang``: a :class:`StudioError` by its key,
    a :class:`DatasetError` (a dataset the tuning page could not read) by its reason's key;
    anything else in its own words."""
    if isinstance(exc, StudioError):
        return exc.message_in(lang)
    if isinstance(exc, DatasetError):
        return read_failure(exc).message_in(lang)
    return str(exc)


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    path: Path
    modified: datetime
    size_bytes: int
    params: dict[str, Any] | None  # generator parameters (manifest), None for imports without
    payments: int | None
    frauds: int | None


def datasets_root(data_dir: Path) -> Path:
    root = Path(data_dir) / DATASETS_DIR
    root.mkdir(parents=True, exist_ok=True)
    return root


def manifest_counts(path: Path) -> tuple[int | None, int | None, dict[str, Any] | None]:
    """(payments, frauds, generator parameters) as the dataset's manifest states them; None
    where it does not (an import's own manifest may differ, or there is none)."""
    manifest = path / schema.MANIFEST_FILE
    params = payments = frauds = None
    if not manifest.is_file():
        return None, None, None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        params = data.get("params") if isinstance(data, dict) else None
        payments = int(data["files"]["payments.csv"]["rows"])
        frauds = int(data["fraud"]["payments"])
    except (ValueError, KeyError, AttributeError, TypeError):
        pass  # the figures stay unknown
    return payments, frauds, params


def _info(path: Path) -> DatasetInfo:
    files = [p for p in path.iterdir() if p.is_file()]
    payments, frauds, params = manifest_counts(path)
    mtime = max((p.stat().st_mtime for p in files), default=path.stat().st_mtime)
    return DatasetInfo(
        name=path.name,
        path=path,
        modified=datetime.fromtimestamp(mtime, UTC),
        size_bytes=sum(p.stat().st_size for p in files),
        params=params,
        payments=payments,
        frauds=frauds,
    )


def list_datasets(root: Path) -> list[DatasetInfo]:
    """Complete datasets under ``root`` (a payments file present), newest first; hidden
    (temporary) directories are skipped."""
    if not root.is_dir():
        return []
    out = [
        _info(p)
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / "payments.csv").is_file()
    ]
    return sorted(out, key=lambda d: (d.modified, d.name), reverse=True)


def check_name(root: Path, name: str, *, overwrite: bool = False) -> Path:
    """The destination for dataset ``name``; a plain name only (no path separators)."""
    if not _NAME.match(name or "") or name in {".", ".."}:
        raise StudioError("st.why.bad_name", name=repr(name))
    if name.lower() == LIVE_DATASET:
        # Alerts name their dataset, and "live" names the Kafka topics' alerts.
        raise StudioError("st.why.reserved_name", name=repr(name))
    dest = root / name
    if dest.exists() and not overwrite:
        raise StudioError("st.why.exists", name=repr(name))
    return dest


def default_name(params: GenParams) -> str:
    return (
        f"seed{params.seed}-scale{params.scale:g}-fraud{params.fraud_rate:g}-"
        f"{params.start.isoformat()}-{params.days}d"
    )


def _scratch(root: Path, purpose: str, name: str) -> Path:
    return root / f".{purpose}-{name}-{uuid.uuid4().hex[:8]}"


def _install(tmp: Path, dest: Path) -> Path:
    """Move a complete dataset into place (replacing an older one of the same name)."""
    if dest.exists():
        old = dest.with_name(f".old-{dest.name}-{uuid.uuid4().hex[:8]}")
        dest.rename(old)
        tmp.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(dest)
    return dest


# --------------------------------------------------------------------------- generation


def generate_dataset(
    root: Path,
    name: str,
    params: GenParams,
    progress: Progress | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    dest = check_name(root, name, overwrite=overwrite)
    tmp = _scratch(root, "gen", name)
    try:
        generate(tmp, params, progress)
        return _install(tmp, dest)
    except DataGenError as exc:
        raise StudioError("st.why.generate_failed", error=str(exc)) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- preview & summary


def preview(path: Path, rows: int = 10) -> dict[str, pd.DataFrame]:
    """The first ``rows`` rows of every file, as stored (text, no conversion)."""
    out: dict[str, pd.DataFrame] = {}
    for file in schema.TABLES:
        p = path / file
        if p.is_file():
            out[file] = pd.read_csv(p, nrows=rows, dtype=str, keep_default_na=False)
    jsonl, parquet = path / schema.EVENTS_FILE, path / schema.EVENTS_PARQUET
    if parquet.is_file():
        batch = next(pq.ParquetFile(parquet).iter_batches(batch_size=rows), None)
        out[schema.EVENTS_PARQUET] = batch.to_pandas() if batch is not None else pd.DataFrame()
    elif jsonl.is_file():
        records: list[dict[str, Any]] = []
        with jsonl.open(encoding="utf-8") as fh:
            for line in fh:
                if len(records) >= rows:
                    break
                if line.strip():
                    records.append(json.loads(line))
        out[schema.EVENTS_FILE] = pd.DataFrame.from_records(records)
    return out


@dataclass(frozen=True, eq=False)
class Summary:
    layout: str
    labelled: bool
    counts: dict[str, int]  # rows per table
    per_day: pd.DataFrame  # day, payments, frauds
    by_scenario: pd.DataFrame  # scenario, payments, incidents


def summary(path: Path) -> Summary:
    """Validated read of the dataset (any layout): row counts and the two summary charts."""
    try:
        ds = read_dataset(path)
    except DatasetError as exc:
        raise StudioError.from_dataset(exc) from exc
    pay = ds.payments
    fraud = pay["is_fraud"].fillna(False).astype(bool) if ds.labelled else None
    day = pd.to_datetime(pay["attempt_ts"], utc=True).dt.strftime("%Y-%m-%d")
    per_day = (
        pd.DataFrame({"day": day, "frauds": fraud if fraud is not None else False})
        .groupby("day", sort=True)
        .agg(payments=("frauds", "size"), frauds=("frauds", "sum"))
        .reset_index()
    )
    if fraud is not None and fraud.any():
        f = pay[fraud]
        by_scenario = (
            f.assign(scenario=f["fraud_scenario"].replace("", "(none)"))
            .groupby("scenario", sort=True)
            .agg(payments=("payment_id", "size"), incidents=("fraud_incident_id", "nunique"))
            .reset_index()
        )
    else:
        by_scenario = pd.DataFrame(columns=["scenario", "payments", "incidents"])
    counts = {
        "customers": len(ds.customers),
        "products": len(ds.products),
        "sessions": len(ds.sessions),
        "orders": len(ds.orders),
        "order_items": len(ds.order_items),
        "payments": len(pay),
    }
    return Summary(ds.layout, ds.labelled, counts, per_day, by_scenario)


def known_counts(info: DatasetInfo, summ: Summary | None) -> tuple[int | None, int | None]:
    """(payments, frauds) to show for a dataset: its manifest's, else what the summary
    counted (frauds only when the dataset is labelled); None where neither knows."""
    payments, frauds = info.payments, info.frauds
    if summ is not None:
        if payments is None:
            payments = summ.counts["payments"]
        if frauds is None and summ.labelled:
            frauds = int(summ.per_day["frauds"].sum())
    return payments, frauds


# --------------------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportResult:
    path: Path
    layout: str
    payments: int
    skipped: tuple[str, ...] = field(default_factory=tuple)  # archive entries ignored
    check: CheckReport | None = None  # the import check's findings (warnings: imported anyway)


def _validate_in_place(directory: Path, check: bool = False) -> tuple[str, int, CheckReport | None]:
    """Read the dataset (a bad row: StudioError with its place); with ``check``, run the
    import check too: its errors refuse the import, its warnings travel with the result."""
    try:
        ds = read_dataset(directory)
    except DatasetError as exc:
        raise StudioError.from_dataset(exc) from exc
    report = check_dataset(directory, dataset=ds) if check else None
    if report is not None and not report.ok:
        raise StudioError("st.why.refused", findings=report.errors)
    return ds.layout, len(ds.payments), report


def dataset_check(path: Path) -> CheckReport:
    """The import check of a stored dataset, for the studio to show: the stored report while
    the dataset's files are unchanged (see :mod:`desk.check_cache`), else a fresh one."""
    return check_cache.cached(path, DATASET_FILES, default_ruleset(), lambda: check_dataset(path))


def _keep_check(dest: Path, report: CheckReport | None) -> None:
    """Store the check an import has just run, so the dataset's first view shows it at once."""
    if report is not None:
        stamp = check_cache.fingerprint(dest, DATASET_FILES, default_ruleset())
        check_cache.store(dest, stamp, replace(report, dataset=str(dest)))


def check_tables(report: CheckReport, lang: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The check's findings and per-rule figures as two display tables."""

    def tr(key: str) -> str:
        return text(key, lang)

    findings = pd.DataFrame(
        {
            tr("report.severity"): [f.severity for f in report.findings],
            tr("st.check.finding"): [f.message_in(lang) for f in report.findings],
            tr("st.check.rows"): [f.rows for f in report.findings],
            tr("st.check.examples"): [", ".join(f.examples) for f in report.findings],
            tr("st.check.rules"): [
                ", ".join(tr(f"rule.{r}") for r in f.rules)
                + (f" ({tr('st.check.' + f.effect)})" if f.effect else "")
                for f in report.findings
            ],
        }
    )
    rules = pd.DataFrame(
        {
            tr("ax.rule"): [tr(f"rule.{r.rule_id}") for r in report.rules],
            tr("st.check.inputs"): [
                ", ".join(f"{k} {formats.percent(v, lang, 0)}" for k, v in r.inputs.items()) or "–"
                for r in report.rules
            ],
            tr("st.check.fires"): [
                "–"
                if r.fire_rate is None
                else f"{formats.percent(r.fire_rate, lang)} / {formats.number(r.sampled, lang)}"
                for r in report.rules
            ],
        }
    )
    return findings, rules


def import_directory(src: str | Path, root: Path, name: str | None = None) -> ImportResult:
    """Copy a readable dataset directory (own layout or prototype export) into the studio."""
    source = Path(str(src)).expanduser()
    if not source.is_dir():
        raise StudioError("st.why.not_directory", path=str(source))
    dest = check_name(root, name or source.name)
    _validate_in_place(source)
    tmp = _scratch(root, "import", dest.name)
    try:
        tmp.mkdir(parents=True)
        for p in sorted(source.iterdir()):
            if p.name in DATASET_FILES and p.is_symlink():
                # A link could point anywhere on the server; copy only what is really there.
                raise StudioError("st.why.link", file=p.name, path=str(p))
            if p.is_file() and p.name in DATASET_FILES:
                shutil.copy2(p, tmp / p.name)
        _check_manifest(tmp / schema.MANIFEST_FILE)
        layout, payments, report = _validate_in_place(tmp, check=True)
        _install(tmp, dest)
        _keep_check(dest, report)
        return ImportResult(dest, layout, payments, check=report)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    """The catalogue key of why an entry is refused, or None."""
    name = info.filename
    if "\\" in name:
        return "st.why.entry_backslash"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "st.why.entry_absolute"
    if ".." in PurePosixPath(name).parts:
        return "st.why.entry_dotdot"
    mode = info.external_attr >> 16
    if mode and stat.S_ISLNK(mode):
        return "st.why.entry_link"
    if info.flag_bits & 0x1:
        return "st.why.entry_encrypted"
    return None


_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"


def _declared_entries(data: bytes) -> int | None:
    """The entry count from the zip's end-of-central-directory record (zip64 aware), read
    without parsing the directory itself; None when there is no such record (not a zip)."""
    at = data.rfind(_EOCD, max(0, len(data) - 22 - 0xFFFF))
    if at < 0 or len(data) - at < 22:
        return None
    count = struct.unpack_from("<H", data, at + 10)[0]
    if count == 0xFFFF:  # zip64: the real count is in the zip64 end record before it
        at64 = data.rfind(_EOCD64, 0, at)
        if at64 >= 0 and len(data) - at64 >= 56:
            count = struct.unpack_from("<Q", data, at64 + 32)[0]
    return int(count)


def _plan_zip(
    zf: zipfile.ZipFile, max_uncompressed: int
) -> tuple[dict[str, zipfile.ZipInfo], list[str]]:
    """Which entries to extract (by base name) and which to skip; raises on anything unsafe."""
    keep: dict[str, zipfile.ZipInfo] = {}
    skipped: list[str] = []
    folders: set[str] = set()
    total = 0
    entries = zf.infolist()
    if len(entries) > MAX_ENTRIES:
        raise StudioError("st.why.entries", count=len(entries), limit=MAX_ENTRIES)
    for info in entries:
        problem = _entry_problem(info)
        if problem:
            raise StudioError(problem, entry=repr(info.filename))
        if info.is_dir() or _IGNORED.search(info.filename):
            continue
        path = PurePosixPath(info.filename)
        if path.suffix.lower() not in ALLOWED_SUFFIXES:
            raise StudioError(
                "st.why.entry_type" if path.suffix else "st.why.entry_no_type",
                entry=repr(info.filename),
                suffix=path.suffix,
                allowed=", ".join(ALLOWED_SUFFIXES),
            )
        if path.name not in DATASET_FILES:
            skipped.append(info.filename)
            continue
        if path.name in keep:
            raise StudioError(
                "st.why.twice",
                name=path.name,
                first=repr(keep[path.name].filename),
                second=repr(info.filename),
            )
        if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise StudioError(
                "st.why.entry_ratio",
                entry=repr(info.filename),
                ratio=round(info.file_size / max(info.compress_size, 1)),
                limit=MAX_RATIO,
            )
        folders.add(str(path.parent))
        keep[path.name] = info
        total += info.file_size
    if len(folders) > 1:
        raise StudioError("st.why.folders", folders=", ".join(repr(f) for f in sorted(folders)))
    if total > max_uncompressed:
        raise StudioError("st.why.expands", mb=total / 1e6, limit=round(max_uncompressed / 1e6))
    if not keep:
        raise StudioError("st.why.no_files")
    return keep, skipped


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, budget: list[int]) -> None:
    """Copy one entry, counting real bytes (a header may lie about the size)."""
    with zf.open(info) as src, dest.open("wb") as out:
        while chunk := src.read(_COPY_CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise StudioError("st.why.expands_beyond")
            out.write(chunk)


def import_zip(
    upload: bytes | IO[bytes],
    root: Path,
    name: str,
    *,
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_uncompressed: int | None = None,
) -> ImportResult:
    """Validate an uploaded zip, extract it into a scratch directory, read the dataset there
    (any :class:`DatasetError` becomes a :class:`StudioError` with file, line and column), and
    only then move it into place.  On any failure nothing is left behind."""
    # A stream is read one byte past the limit only: enough to know it is too big.
    data = upload if isinstance(upload, bytes) else upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        limit = round(max_bytes / 1e6)
        if isinstance(upload, bytes):
            raise StudioError("st.why.upload_size", mb=len(data) / 1e6, limit=limit)
        raise StudioError("st.why.upload_over", limit=limit)
    dest = check_name(root, name)
    limit = max_uncompressed if max_uncompressed is not None else max_bytes * UNCOMPRESSED_FACTOR
    buffer = io.BytesIO(data)
    declared = _declared_entries(data)
    if declared is None or not zipfile.is_zipfile(buffer):
        raise StudioError("st.why.not_zip")
    if declared > MAX_ENTRIES:
        raise StudioError("st.why.entries", count=declared, limit=MAX_ENTRIES)
    tmp = _scratch(root, "import", dest.name)
    try:
        with zipfile.ZipFile(buffer) as zf:
            keep, skipped = _plan_zip(zf, limit)
            tmp.mkdir(parents=True)
            budget = [limit]
            for base, info in sorted(keep.items()):
                _extract(zf, info, tmp / base, budget)
        _check_manifest(tmp / schema.MANIFEST_FILE)
        layout, payments, report = _validate_in_place(tmp, check=True)
        _install(tmp, dest)
        _keep_check(dest, report)
        return ImportResult(dest, layout, payments, tuple(skipped), report)
    except zipfile.BadZipFile as exc:
        raise StudioError("st.why.damaged", error=str(exc)) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_manifest(path: Path) -> None:
    """The dataset reader ignores the manifest, but the studio shows its parameters: keep
    only one that is a JSON object."""
    if not path.is_file():
        return
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise StudioError(
            "st.why.manifest_json", file=path.name, name=path.name, error=str(exc)
        ) from None
    if not isinstance(data, dict):
        raise StudioError("st.why.manifest_object", file=path.name, name=path.name)


# --------------------------------------------------------------------------- export


def zip_dataset(path: Path) -> bytes:
    """The dataset's files as a zip (files at the archive root, deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for p in sorted(path.iterdir()):
            if p.is_file() and p.name in DATASET_FILES:
                zf.write(p, arcname=p.name)
    return buffer.getvalue()


# --------------------------------------------------------------------------- database load


def load_into_db(
    engine: Engine, path: Path, progress: Callable[[LoadProgress], None] | None = None
) -> LoadReport:
    try:
        return load_dataset(engine, path, progress=progress)
    except DatasetError as exc:
        raise StudioError.from_dataset(exc) from exc


# --------------------------------------------------------------------------- Kafka stream


@dataclass
class StreamJob:
    """A replay of a dataset into Kafka on a background thread; pages read its counters."""

    dataset: Path
    speed: float | None
    done: int = 0
    total: int = 0
    seconds: float = 0.0
    error: str = ""  # in English (logs); ``failure`` says it in either language
    failure: Exception | None = None
    summary: str = ""
    started_at: float = field(default_factory=time.time)
    finished: bool = False
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()

    def _progress(self, done: int, total: int, seconds: float) -> None:
        self.done, self.total, self.seconds = done, total, seconds

    def _run(self, settings: Settings) -> None:
        from data_gen.feed import dataset_messages
        from data_gen.stream import stream_messages

        try:
            messages = dataset_messages(read_dataset(self.dataset))
            self.total = len(messages)
            stats = stream_messages(
                messages, settings, self.speed, self._progress, self._stop.is_set,
                dataset=self.dataset.name,  # its alerts name it, not the live stream
            )  # fmt: skip
            self.summary = stats.summary()
            self.seconds = stats.seconds
            if stats.failed:
                failed = StudioError(
                    "st.why.stream_failed",
                    count=sum(stats.failed.values()),
                    error=str(stats.first_error),
                )
                self.failure, self.error = failed, failed.message
        except Exception as exc:  # reported on the page; the thread must not die silently
            self.failure, self.error = exc, str(exc) or type(exc).__name__
        finally:
            self.finished = True


def current_stream(rt: Runtime) -> StreamJob | None:
    return rt.stream


def start_stream(rt: Runtime, dataset: Path, speed: float | None) -> StreamJob:
    """Start streaming ``dataset`` into the configured broker; one stream per process."""
    if rt.settings.embedded:
        raise StudioError("st.why.no_broker")
    with rt.stream_lock:
        if rt.stream is not None and rt.stream.running:
            raise StudioError("st.why.streaming", name=rt.stream.dataset.name)
        job = StreamJob(dataset, speed)
        job._thread = threading.Thread(
            target=job._run, args=(rt.settings,), name="kvt-stream", daemon=True
        )
        job._thread.start()
        rt.stream = job
        return job
