"""Dataset studio service: generation, listing, preview, import validation, export, load."""

from __future__ import annotations

import ast
import inspect
import io
import re
import shutil
import stat
import zipfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from data_gen.generate import generate
from data_gen.params import GenParams
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from db.models import PaymentRow
from desk import check_cache, studio
from desk.runtime import Runtime
from detector.common.i18n import CATALOGUE
from tests.unit.desk.zips import dataset_files, zip_of

FIXTURES = Path(__file__).resolve().parents[1] / "data_gen" / "fixtures"
TINY = GenParams(scale=0.02, seed=3)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "ds"
    generate(out, TINY)
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return studio.datasets_root(tmp_path / "data")


def assert_untouched(root: Path) -> None:
    """Nothing imported, nothing half-written, no scratch directory left."""
    assert list(root.iterdir()) == []


# --------------------------------------------------------------------------- generation


def test_generate_writes_a_complete_dataset_and_lists_it(root: Path) -> None:
    seen: list[float] = []
    out = studio.generate_dataset(root, "small", TINY, lambda f, _m: seen.append(f))
    assert out == root / "small"
    for name in ("payments.csv", "customers.csv", "events.jsonl", "manifest.json"):
        assert (out / name).is_file()
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert [p.name for p in root.iterdir()] == ["small"]  # no scratch dir left
    (info,) = studio.list_datasets(root)
    assert info.name == "small" and info.params is not None and info.params["seed"] == 3
    assert info.payments == sum(1 for _ in (out / "payments.csv").open()) - 1


def test_generate_refuses_existing_name_and_bad_names(root: Path) -> None:
    studio.generate_dataset(root, "a", TINY)
    with pytest.raises(studio.StudioError, match="already exists"):
        studio.generate_dataset(root, "a", TINY)
    for bad in ("../evil", "a/b", "", ".hidden", "x" * 81, "live", "Live"):
        with pytest.raises(studio.StudioError, match="dataset name"):
            studio.check_name(root, bad)
    assert sorted(p.name for p in root.iterdir()) == ["a"]


def test_generate_overwrite_replaces_the_dataset(root: Path) -> None:
    studio.generate_dataset(root, "a", TINY)
    studio.generate_dataset(root, "a", replace(TINY, seed=4), overwrite=True)
    (info,) = studio.list_datasets(root)
    assert info.params is not None and info.params["seed"] == 4
    assert [p.name for p in root.iterdir()] == ["a"]


def test_default_name_reflects_the_parameters() -> None:
    assert studio.default_name(TINY) == "seed3-scale0.02-fraud0.02-2025-11-01-61d"


# --------------------------------------------------------------------------- preview, summary


def test_preview_and_summary(tiny: Path) -> None:
    heads = studio.preview(tiny, rows=3)
    assert set(heads) == {*studio.schema.TABLES, "events.jsonl"}
    assert len(heads["payments.csv"]) == 3 and "payment_id" in heads["payments.csv"]
    assert len(heads["events.jsonl"]) == 3
    s = studio.summary(tiny)
    assert s.labelled
    assert s.per_day["payments"].sum() == s.counts["payments"]
    assert s.per_day["frauds"].sum() == s.by_scenario["payments"].sum()


# --------------------------------------------------------------------------- import


def test_import_zip_with_top_folder_round_trips(tiny: Path, root: Path) -> None:
    files = dataset_files(tiny, "export/")
    files["export/README.txt.json"] = "{}"  # an allowed type but not a dataset file: skipped
    res = studio.import_zip(zip_of(files), root, "imported")
    assert res.path == root / "imported" and res.layout == "kivendtout"
    assert res.skipped == ("export/README.txt.json",)
    assert (res.path / "payments.csv").read_bytes() == (tiny / "payments.csv").read_bytes()
    assert [p.name for p in root.iterdir()] == ["imported"]


def test_export_zip_imports_back(tiny: Path, root: Path) -> None:
    data = studio.zip_dataset(tiny)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert "payments.csv" in zf.namelist()
    res = studio.import_zip(data, root, "back")
    assert res.payments == studio.summary(tiny).counts["payments"]


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("../payments.csv", "'..'"),
        ("ok/../../payments.csv", "'..'"),
        ("/etc/payments.csv", "absolute"),
        ("C:/payments.csv", "absolute"),
        ("dir\\payments.csv", "backslash"),
    ],
)
def test_zip_slip_entries_are_rejected(tiny: Path, root: Path, entry: str, why: str) -> None:
    files = dataset_files(tiny)
    files[entry] = b"x"
    with pytest.raises(studio.StudioError, match=why):
        studio.import_zip(zip_of(files), root, "slip")
    assert_untouched(root)
    assert not (root.parent / "payments.csv").exists()


def test_symlink_entry_is_rejected(tiny: Path, root: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in dataset_files(tiny).items():
            zf.writestr(name, data)
        link = zipfile.ZipInfo("customers2.csv")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(studio.StudioError, match="symbolic link"):
        studio.import_zip(buf.getvalue(), root, "link")
    assert_untouched(root)


def test_not_a_zip_wrong_type_and_too_big_are_rejected(tiny: Path, root: Path) -> None:
    with pytest.raises(studio.StudioError, match="not a zip"):
        studio.import_zip(b"payment_id,amount\n1,2\n", root, "x")
    files = dataset_files(tiny)
    files["run.exe"] = b"MZ"
    with pytest.raises(studio.StudioError, match=r"file type \.exe not allowed"):
        studio.import_zip(zip_of(files), root, "x")
    with pytest.raises(studio.StudioError, match="over the"):
        studio.import_zip(zip_of(dataset_files(tiny)), root, "x", max_bytes=1000)
    with pytest.raises(studio.StudioError, match="expand"):
        studio.import_zip(zip_of(dataset_files(tiny)), root, "x", max_uncompressed=10_000)
    assert_untouched(root)


def test_zip_without_payments_names_the_missing_file(tiny: Path, root: Path) -> None:
    files = dataset_files(tiny)
    del files["payments.csv"]
    with pytest.raises(studio.StudioError) as info:
        studio.import_zip(zip_of(files), root, "x")
    assert info.value.file == "payments.csv" and "not found" in info.value.message
    assert_untouched(root)


def test_bad_row_is_located_by_file_line_and_column(tiny: Path, root: Path) -> None:
    files = dataset_files(tiny)
    lines = (tiny / "payments.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    row[header.index("amount")] = "abc"
    lines[3] = ",".join(row)
    files["payments.csv"] = "\n".join(lines) + "\n"
    with pytest.raises(studio.StudioError) as info:
        studio.import_zip(zip_of(files), root, "x")
    err = info.value
    assert (err.file, err.line, err.column) == ("payments.csv", 4, "amount")
    assert_untouched(root)


def test_import_directory_accepts_a_prototype_export(root: Path) -> None:
    res = studio.import_directory(FIXTURES / "prototype", root, "proto")
    assert res.layout == "prototype" and res.payments > 0
    assert (root / "proto" / "payments.csv").is_file()
    with pytest.raises(studio.StudioError, match="not a directory"):
        studio.import_directory(root / "nope", root, "y")


def test_import_directory_with_a_bad_file_leaves_nothing(tiny: Path, tmp_path: Path) -> None:
    root = studio.datasets_root(tmp_path / "data")
    src = tmp_path / "src"
    shutil.copytree(tiny, src)
    (src / "customers.csv").write_text("nothing,useful\n1,2\n")
    with pytest.raises(studio.StudioError) as info:
        studio.import_directory(src, root, "bad")
    assert info.value.file == "customers.csv"
    assert_untouched(root)


# --------------------------------------------------------------------------- database, stream


def test_load_into_db_reports_progress_and_rows(tiny: Path, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'kvt.db'}")
    upgrade(engine)
    seen: list[int] = []
    report = studio.load_into_db(engine, tiny, lambda p: seen.append(p.done))
    with session_factory(engine)() as s:
        stored = s.scalar(select(func.count()).select_from(PaymentRow))
    assert stored == studio.summary(tiny).counts["payments"] > 0
    assert report.inserted == report.rows and seen and seen[-1] == report.rows
    engine.dispose()


def test_stream_needs_a_broker(tiny: Path, rt: Runtime) -> None:
    with pytest.raises(studio.StudioError, match="no Kafka broker"):
        studio.start_stream(rt, tiny, 60.0)
    assert studio.current_stream(rt) is None or not studio.current_stream(rt).running


# --------------------------------------------------------------------------- hostile uploads


def central_record(data: bytes | bytearray, name: str) -> int:
    """Where the central-directory record of entry ``name`` starts (its name is at +46)."""
    at = data.find(name.encode(), data.find(b"PK\x01\x02")) - 46
    assert data[at : at + 4] == b"PK\x01\x02"
    return at


def test_encrypted_entry_is_rejected(tiny: Path, root: Path) -> None:
    data = bytearray(zip_of(dataset_files(tiny)))
    data[central_record(data, "payments.csv") + 8] |= 0x1  # "encrypted" (general flag bit 0)
    with pytest.raises(studio.StudioError, match=r"'payments\.csv' rejected: encrypted"):
        studio.import_zip(bytes(data), root, "enc")
    assert_untouched(root)


def test_too_many_entries_are_refused_before_the_directory_is_read(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: dict[str, bytes | str] = {f"junk/{i}.json": b"" for i in range(studio.MAX_ENTRIES + 1)}
    data = zip_of(files)
    opened: list[object] = []
    monkeypatch.setattr(studio.zipfile, "ZipFile", lambda *a, **k: opened.append(a))
    with pytest.raises(studio.StudioError, match=r"1,001 entries, over the limit of 1,000"):
        studio.import_zip(data, root, "many")
    assert opened == []  # refused from the end record alone
    assert_untouched(root)


def test_the_entry_count_is_read_from_zip64_end_records() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(0xFFFF + 1):  # one more than a plain end record can count
            zf.writestr(f"{i}.json", b"")
    assert studio._declared_entries(buf.getvalue()) == 0xFFFF + 1
    assert studio._declared_entries(zip_of({"a.json": "{}"})) == 1
    assert studio._declared_entries(b"payment_id\n1\n") is None


def test_a_zip_bomb_is_refused_by_its_compression_ratio(tiny: Path, root: Path) -> None:
    files = dataset_files(tiny)
    files["events.jsonl"] = b"\n" * (4 << 20)  # 4 MB deflating to a few KB
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    with pytest.raises(studio.StudioError, match=r"'events.jsonl' rejected: compressed .*:1, over"):
        studio.import_zip(buf.getvalue(), root, "bomb", max_uncompressed=1 << 30)
    assert_untouched(root)


def test_a_zip_bomb_within_the_ratio_is_refused_by_its_total_size(tiny: Path, root: Path) -> None:
    files = dataset_files(tiny)
    files["events.jsonl"] = bytes(range(256)) * 40_000  # 10 MB, barely compressible
    with pytest.raises(studio.StudioError, match=r"expand to 10\.\d MB, over the 5 MB limit"):
        studio.import_zip(zip_of(files), root, "big", max_uncompressed=5_000_000)
    assert_untouched(root)


def test_a_size_header_that_lies_is_caught_while_extracting(tiny: Path, root: Path) -> None:
    data = bytearray(zip_of(dataset_files(tiny)))
    # The central directory (what the size checks read) claims 10 bytes for payments.csv.
    at = central_record(data, "payments.csv")
    data[at + 24 : at + 28] = (10).to_bytes(4, "little")
    with pytest.raises(studio.StudioError, match="damaged"):
        studio.import_zip(bytes(data), root, "liar")
    assert_untouched(root)


def test_a_stream_is_read_only_one_byte_past_the_limit(root: Path) -> None:
    asked: list[int] = []

    class Upload(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            asked.append(-1 if size is None else size)
            return super().read(size)

    upload = Upload(b"x" * 5000)
    with pytest.raises(studio.StudioError, match="upload is over the 0 MB limit"):
        studio.import_zip(upload, root, "x", max_bytes=1000)
    assert asked == [1001]
    assert_untouched(root)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "not a zip"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a zip"),
        (b"PK\x05\x06" + b"\x00" * 18, "not a zip|no dataset files"),  # an empty zip
    ],
)
def test_things_that_are_not_a_dataset_zip(root: Path, data: bytes, why: str) -> None:
    with pytest.raises(studio.StudioError, match=why):
        studio.import_zip(data, root, "x")
    assert_untouched(root)


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("nested.zip", r"file type \.zip not allowed"),
        ("payments.csv.exe", r"file type \.exe not allowed"),
        ("payments", r"file type \(none\) not allowed"),
        ("x/.htaccess", r"file type \(none\) not allowed"),
    ],
)
def test_entries_of_other_types_are_named(tiny: Path, root: Path, entry: str, why: str) -> None:
    files = dataset_files(tiny)
    files[entry] = b"PK\x03\x04"
    with pytest.raises(studio.StudioError, match=f"zip entry '{re.escape(entry)}' rejected: {why}"):
        studio.import_zip(zip_of(files), root, "x")
    assert_untouched(root)


def test_wrongly_named_dataset_files_say_which_file_is_missing(tiny: Path, root: Path) -> None:
    files = {
        ("Payments.CSV" if k == "payments.csv" else k): v for k, v in dataset_files(tiny).items()
    }
    with pytest.raises(studio.StudioError) as info:
        studio.import_zip(zip_of(files), root, "x")
    assert info.value.file == "payments.csv" and "not found" in info.value.message
    only_others = {"notes.json": "{}", "data/export.csv": "a,b\n1,2\n"}
    with pytest.raises(studio.StudioError, match="no dataset files"):
        studio.import_zip(zip_of(only_others), root, "x")
    assert_untouched(root)


@pytest.mark.parametrize(
    ("file", "garbage"),
    [
        ("payments.csv", bytes(range(256)) * 8),
        ("customers.csv", b"\x00\xff\xfe" * 300),
        ("events.jsonl", b"\x1f\x8b\x08\x00" + bytes(range(256))),
        ("manifest.json", b"\xff\xd8\xff\xe0 not json"),
        ("manifest.json", b"[1, 2, 3]"),
    ],
)
def test_binary_garbage_in_a_dataset_file_is_located(
    tiny: Path, root: Path, file: str, garbage: bytes
) -> None:
    files = dataset_files(tiny)
    files[file] = garbage
    with pytest.raises(studio.StudioError) as info:
        studio.import_zip(zip_of(files), root, "x")
    assert info.value.file == file and file in info.value.message
    assert_untouched(root)


def test_nothing_is_written_outside_the_scratch_directory(
    tiny: Path, root: Path, tmp_path: Path
) -> None:
    target = tmp_path / "outside" / "payments.csv"
    for entry in (str(target), f"../../outside/{target.name}", f"a/../../../{target.name}"):
        files = dataset_files(tiny)
        files[entry] = b"owned"
        with pytest.raises(studio.StudioError, match="rejected"):
            studio.import_zip(zip_of(files), root, "x")
    assert not target.exists() and not (tmp_path / "payments.csv").exists()
    assert_untouched(root)
    # A good import writes its files under their base names in the new dataset only (and
    # its check report, named after the dataset, in the check cache).
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    studio.import_zip(zip_of(dataset_files(tiny, "deep/er/")), root, "ok")
    added = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    report = root.parent / check_cache.CACHE_DIR / "ok.json"
    assert report in added
    assert added - {report} and all(p.parent == root / "ok" for p in added - {report})


def test_import_directory_refuses_symbolic_links(tiny: Path, tmp_path: Path) -> None:
    root = studio.datasets_root(tmp_path / "data")
    src = tmp_path / "src"
    shutil.copytree(tiny, src)
    (src / "customers.csv").unlink()
    (src / "customers.csv").symlink_to(tiny / "customers.csv")
    with pytest.raises(studio.StudioError, match="symbolic link") as info:
        studio.import_directory(src, root, "linked")
    assert info.value.file == "customers.csv"
    assert_untouched(root)


def test_import_runs_the_check_warnings_travel_errors_refuse(root: Path, tmp_path: Path) -> None:
    from tests.unit.data_gen.exports import PROTOTYPE, clean_export, write

    export = clean_export()
    res = studio.import_directory(write(export, tmp_path / "ok", PROTOTYPE), root, "ok")
    assert res.check is not None and res.check.ok
    assert {"zone_guessed", "few_frauds"} <= res.check.codes()
    findings, rules = studio.check_tables(res.check, "fr")
    assert list(findings.columns) == ["Gravité", "Constat", "Lignes", "Exemples", "Règles touchées"]
    assert "🌙 Horaire suspect (2h-6h) (sans objet)" in findings["Règles touchées"].tolist()
    assert len(rules) == len(res.check.rules)

    export.events[3]["event_id"] = export.events[0]["event_id"]
    bad = write(export, tmp_path / "bad", PROTOTYPE)
    with pytest.raises(studio.StudioError, match=r"events.jsonl line 4, column event_id"):
        studio.import_directory(bad, root, "bad")
    with pytest.raises(studio.StudioError, match=r"is a duplicate"):
        studio.import_zip(zip_of(dataset_files(bad)), root, "bad_zip")
    assert sorted(p.name for p in root.iterdir()) == ["ok"]


def test_an_import_without_manifest_shows_the_counts_its_summary_knows(
    tiny: Path, root: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "export"
    shutil.copytree(tiny, bare)
    (bare / "manifest.json").unlink()
    studio.import_directory(bare, root, "export")
    (info,) = studio.list_datasets(root)
    assert (info.payments, info.frauds) == (None, None)  # no manifest to say
    summ = studio.summary(info.path)
    payments, frauds = studio.known_counts(info, summ)
    labels = pd.read_csv(bare / "payments.csv", usecols=["is_fraud"])["is_fraud"]
    assert payments == len(labels) > 0
    assert frauds == int(labels.astype(bool).sum()) > 0
    assert studio.known_counts(info, None) == (None, None)


# --------------------------------------------------------------------------- one language


def _raised_keys() -> list[ast.expr]:
    """The first argument of every ``StudioError(...)`` in desk/studio.py."""
    tree = ast.parse(Path(studio.__file__).read_text())
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "StudioError"
    ]
    assert len(calls) > 20
    return [call.args[0] for call in calls]


def test_every_studio_error_is_a_catalogue_key_said_in_both_languages() -> None:
    """An error the studio page shows is a key of the catalogue, never English words: a
    literal key, a choice of two, or the entry problem's key (``_entry_problem``)."""
    keys: set[str] = set()
    for arg in _raised_keys():
        if isinstance(arg, ast.Constant):
            keys.add(arg.value)
        elif isinstance(arg, ast.IfExp):
            assert isinstance(arg.body, ast.Constant) and isinstance(arg.orelse, ast.Constant)
            keys |= {arg.body.value, arg.orelse.value}
        else:
            assert isinstance(arg, ast.Name) and arg.id == "problem", ast.dump(arg)
    body = inspect.getsource(studio._entry_problem)
    keys |= set(re.findall(r'"(st\.why\.[a-z_]+)"', body))
    assert len(keys) >= 25
    for key in sorted(keys):
        assert key.startswith("st.why.") and key in CATALOGUE, key
        fr, en = CATALOGUE[key]
        assert fr != en, key


def test_a_studio_error_speaks_the_readers_language_and_logs_english(
    tiny: Path, root: Path
) -> None:
    files = dataset_files(tiny)
    with pytest.raises(studio.StudioError) as info:
        studio.import_zip(zip_of({**files, "/abs/customers.csv": b"x"}), root, "abs")
    exc = info.value
    assert str(exc) == exc.message == "zip entry '/abs/customers.csv' rejected: absolute path"
    assert exc.message_in("fr") == "entrée '/abs/customers.csv' du zip refusée : chemin absolu"
    assert studio.error_text(exc, "fr") == exc.message_in("fr")
    # Numbers the language's way: grouped with Babel's narrow no-break space in French.
    many = studio.StudioError("st.why.entries", count=1001, limit=studio.MAX_ENTRIES)
    assert many.message == "zip holds 1,001 entries, over the limit of 1,000"
    assert many.message_in("fr") == (
        "le zip contient 1\u202f001 entrées, au-delà de la limite de 1\u202f000"
    )
    big = studio.StudioError("st.why.upload_size", mb=10.25, limit=5)
    assert big.message_in("fr") == "le fichier envoyé fait 10,2 Mo, au-delà de la limite de 5 Mo"


def test_a_missing_events_file_is_named_in_the_readers_language(tiny: Path, root: Path) -> None:
    files = {k: v for k, v in dataset_files(tiny).items() if k != "events.jsonl"}
    with pytest.raises(studio.StudioError) as info:
        studio.import_zip(zip_of(files), root, "no-events")
    exc = info.value
    assert exc.file is not None
    assert studio.file_words(exc.file, "fr") == "events.jsonl ou events.parquet"
    assert studio.file_words(exc.file, "en") == "events.jsonl or events.parquet"
    assert exc.message_in("fr").startswith("events.jsonl ou events.parquet : fichier absent de")
    assert " or " not in exc.message_in("fr")
    assert exc.message_in("en").startswith("events.jsonl or events.parquet: file not found in")
