"""Dataset studio page, headless: generate, preview, import (good and bad zips), load, replay."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from data_gen.generate import generate
from data_gen.params import GenParams
from db.models import PaymentRow
from tests.unit.desk.zips import dataset_files, zip_of
from tests.unit.pages.conftest import app_test


def new_app() -> AppTest:
    return app_test("pages/4_dataset_studio.py")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("studio") / "tiny"
    generate(out, GenParams(scale=0.02, seed=5))
    return out


@pytest.fixture
def with_dataset(data_dir: Path, tiny: Path) -> Path:
    shutil.copytree(tiny, data_dir / "datasets" / "tiny")
    return data_dir / "datasets" / "tiny"


def page() -> AppTest:
    at = new_app()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, name: str, data: bytes, dataset_name: str) -> AppTest:
    at.file_uploader(key="st_upload").upload(name, data, "application/zip")
    at.text_input(key="st_zip_name").input(dataset_name)
    at.run()
    at.button(key="st_import_zip_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_empty_studio_renders(data_dir: Path) -> None:
    at = page()
    assert at.title[0].value == "Atelier de données"
    assert any("Aucun jeu de données" in i.value for i in at.info)
    assert at.file_uploader(key="st_upload").allowed_type == [".zip"]


def test_generate_a_tiny_dataset_then_preview_it(data_dir: Path) -> None:
    at = page()
    at.number_input(key="st_customers").set_value(50)  # scale 0.02
    at.text_input(key="st_name").input("tiny")
    next(b for b in at.button if b.label == "Générer").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    out = data_dir / "datasets" / "tiny"
    for name in ("payments.csv", "events.jsonl", "manifest.json"):
        assert (out / name).is_file()
    assert [p.name for p in (data_dir / "datasets").iterdir()] == ["tiny"]
    assert any("tiny" in s.value for s in at.success)
    assert at.selectbox(key="st_selected").value == "tiny"
    tabs = [t.label for t in at.tabs]
    assert {"customers.csv", "payments.csv", "events.jsonl"} <= set(tabs)
    # Seven file previews, then the import check's findings and per-rule tables.
    assert len(at.dataframe) == 9 and all(len(d.value) > 0 for d in at.dataframe)
    assert {c.key for c in at.get("plotly_chart")} >= {"st_per_day"}
    assert at.download_button(key="st_download")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda f: zip_of({**f, "../payments.csv": b"x"}), "« .. »"),
        (lambda f: zip_of({**f, "/abs/customers.csv": b"x"}), "chemin absolu"),
        (lambda f: b"this is not a zip", "pas une archive zip"),
        (lambda f: zip_of({k: v for k, v in f.items() if k != "payments.csv"}), "payments.csv"),
        (lambda f: zip_of({**f, "tool.sh": b"rm -rf /"}), "type de fichier .sh non autorisé"),
    ],
    ids=["zip-slip", "absolute", "not-a-zip", "missing-file", "wrong-type"],
)
def test_bad_zip_gives_a_clear_message_and_leaves_nothing(
    data_dir: Path, tiny: Path, make, expected: str
) -> None:  # type: ignore[no-untyped-def]
    at = page()
    upload(at, "upload.zip", make(dataset_files(tiny)), "bad")
    assert at.error and "rien n'a été écrit" in at.error[0].value
    shown = [c.value for c in at.main.code] + [t.value for t in at.main.text]
    assert any(expected in x for x in shown), shown
    assert list((data_dir / "datasets").iterdir()) == []
    assert not (data_dir / "payments.csv").exists()


def test_bad_row_in_zip_is_located(data_dir: Path, tiny: Path) -> None:
    files = dataset_files(tiny)
    lines = files["payments.csv"].decode().splitlines()
    header = lines[0].split(",")
    row = lines[2].split(",")
    row[header.index("attempt_ts")] = "yesterday"
    lines[2] = ",".join(row)
    files["payments.csv"] = ("\n".join(lines) + "\n").encode()
    at = page()
    upload(at, "upload.zip", zip_of(files), "bad")
    where = [t.value for t in at.main.text]
    assert where == ["fichier payments.csv · ligne 3 · colonne attempt_ts"]
    assert list((data_dir / "datasets").iterdir()) == []


def test_good_zip_is_imported_and_selected(data_dir: Path, tiny: Path) -> None:
    at = page()
    upload(at, "export.zip", zip_of(dataset_files(tiny)), "")
    assert not at.error
    assert (data_dir / "datasets" / "export" / "payments.csv").is_file()
    assert at.selectbox(key="st_selected").value == "export"
    assert any("export" in s.value for s in at.success)


def test_load_into_database(with_dataset: Path) -> None:
    at = page()
    at.button(key="st_load").click().run()
    assert not at.exception and not at.error
    from pages._ui import runtime

    with runtime().sessions() as s:
        stored = s.scalar(select(func.count()).select_from(PaymentRow))
    lines = (with_dataset / "payments.csv").read_text().count("\n") - 1
    assert stored == lines > 0
    assert any("lignes lues" in s.value for s in at.success)


def test_embedded_replay_starts_and_counters_move(with_dataset: Path) -> None:
    at = page()
    at.selectbox(key="st_speed").set_value(0.0)  # as fast as possible
    at.button(key="st_stream").click().run()
    assert not at.exception and not at.error
    from pages._ui import runtime

    rt = runtime()
    assert rt.replay_dir == with_dataset
    deadline = time.monotonic() + 20
    while rt.snapshot().payments_total == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    counters = {m.label: m.value for m in at.metric}
    assert int(counters["Paiements évalués"].replace(",", "")) > 0


def test_the_page_changes_data_only_through_the_guarded_services() -> None:
    """Writes go through desk.data_ops (permission check + audit), never straight to the
    unguarded studio functions or the runtime."""
    from tests.unit.pages.conftest import ROOT

    source = (ROOT / "pages" / "4_dataset_studio.py").read_text()
    unguarded = (
        "studio.generate_dataset",
        "studio.load_into_db",
        "studio.start_stream",
        "studio.import_zip",
        "studio.import_directory",
        "start_replay",
        "job.stop",
    )
    for name in unguarded:
        assert name not in source, name


def test_an_analyst_cannot_open_the_studio(data_dir: Path) -> None:
    at = app_test("pages/4_dataset_studio.py", role="analyst")
    at.run()
    assert not at.exception
    # Only the account menu's own buttons: nothing of the studio was drawn.
    assert all(b.key == "me_sign_out" or b.key.startswith("FormSubmitter:me_") for b in at.button)
    assert at.tabs == []
    assert any("n'a pas le droit de générer" in e.value for e in at.error)


def test_the_selected_dataset_shows_its_import_check(with_dataset: Path) -> None:
    at = page()
    assert any(s.value == "Contrôle d'import" for s in at.subheader)
    frames = [d.value for d in at.dataframe]
    findings = next(f for f in frames if "Gravité" in f.columns)
    assert "info" in findings["Gravité"].tolist()  # the labels line, at least
    rules = next(f for f in frames if "Règle" in f.columns)
    assert "💳 Premier paiement" in rules["Règle"].tolist()
