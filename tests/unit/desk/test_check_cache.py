"""The studio's import check is kept per dataset: computed once, reused until a file changes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from data_gen.check import CheckReport
from data_gen.generate import generate
from data_gen.params import GenParams
from desk import check_cache, studio
from detector.rules import default_ruleset


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "ds"
    generate(out, GenParams(scale=0.02, seed=3))
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return studio.datasets_root(tmp_path / "data")


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths the real check ran on (each call is a full check)."""
    ran: list[Path] = []
    real = studio.check_dataset

    def counted(path: Path, *args: object, **kwargs: object) -> CheckReport:
        ran.append(Path(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(studio, "check_dataset", counted)
    return ran


def test_a_second_view_reuses_the_stored_report_until_a_file_changes(
    tiny: Path, root: Path, checks: list[Path]
) -> None:
    path = root / "ds"
    shutil.copytree(tiny, path)
    first = studio.dataset_check(path)
    assert checks == [path]
    assert (root.parent / check_cache.CACHE_DIR / "ds.json").is_file()
    assert [p.name for p in root.iterdir()] == ["ds"]  # the root still lists datasets only
    again = studio.dataset_check(path)
    assert checks == [path] and again == first  # read back, not checked again

    payments = path / "payments.csv"
    st = payments.stat()
    os.utime(payments, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    studio.dataset_check(path)
    assert checks == [path, path]  # a touched file: checked again
    studio.dataset_check(path)
    assert len(checks) == 2

    with payments.open("a", encoding="utf-8") as fh:
        fh.write(payments.read_text(encoding="utf-8").splitlines()[1] + "\n")  # a duplicate
    changed = studio.dataset_check(path)
    assert len(checks) == 3 and not changed.ok  # the new content's report, not the old one


def test_an_import_stores_its_check_so_the_first_view_runs_none(
    tiny: Path, root: Path, checks: list[Path]
) -> None:
    res = studio.import_directory(tiny, root, "imported")
    assert res.check is not None and len(checks) == 1  # the import's own check
    shown = studio.dataset_check(res.path)
    assert len(checks) == 1
    assert shown.dataset == str(res.path)  # not the scratch folder it was checked in
    assert shown.codes() == res.check.codes() and shown.payments == res.check.payments


def test_a_damaged_or_foreign_entry_is_ignored_and_replaced(
    tiny: Path, root: Path, checks: list[Path]
) -> None:
    path = root / "ds"
    shutil.copytree(tiny, path)
    entry = root.parent / check_cache.CACHE_DIR / "ds.json"
    entry.parent.mkdir()
    entry.write_text("{not json", encoding="utf-8")
    report = studio.dataset_check(path)
    assert len(checks) == 1 and report.ok
    stamp = check_cache.fingerprint(path, studio.DATASET_FILES, default_ruleset())
    assert check_cache.load(path, stamp) == report  # rewritten whole
    assert check_cache.load(path, "another fingerprint") is None
    other_rules = default_ruleset().with_points({"NEW_DEVICE": 1})
    assert check_cache.fingerprint(path, studio.DATASET_FILES, other_rules) != stamp
