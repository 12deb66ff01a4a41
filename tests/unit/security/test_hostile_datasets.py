"""Datasets are free text too: an uploaded zip's entry names, its manifest and its values, and
a stream's error reach the dataset studio and the rule-tuning page.  None of it may render as
markup; what is shown as an error's detail stays plain text."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from desk import studio
from tests.unit.desk.zips import dataset_files, zip_of
from tests.unit.pages.conftest import app_test
from tests.unit.security.payloads import MARKUP
from tests.unit.security.rendering import (
    EVIL,
    assert_charts_inert,
    assert_inert,
    chart_texts,
    plain_text,
)

# Markup usable in a zip entry's name (a backslash alone would get the entry refused).
NAMEABLE = tuple(m for m in MARKUP if "\\" not in m)
LINK_IMAGE = MARKUP[3]  # "![x](http://evil.example/x.png)": no comma, fits a CSV cell
HTML_LINK = MARKUP[-1]  # '<a href="https://evil.example/">update</a>'


def _with_amount(files: dict[str, bytes], value: str) -> dict[str, bytes]:
    """The dataset with ``value`` as the amount of its second payment."""
    lines = files["payments.csv"].decode().splitlines()
    header, row = lines[0].split(","), lines[2].split(",")
    row[header.index("amount")] = value
    lines[2] = ",".join(row)
    return {**files, "payments.csv": ("\n".join(lines) + "\n").encode()}


def _studio() -> AppTest:
    at = app_test("pages/4_dataset_studio.py")
    at.run()
    return at


def _upload(at: AppTest, data: bytes, name: str) -> None:
    at.file_uploader(key="st_upload").upload("upload.zip", data, "application/zip")
    at.text_input(key="st_zip_name").input(name)
    at.run()
    at.button(key="st_import_zip_btn").click().run()


@pytest.fixture
def evil_dataset(data_dir: Path, seeded_template: Path) -> Path:
    """A dataset whose manifest (shown as the generator's parameters) and fraud scenario
    names (chart labels) are hostile."""
    dest = data_dir / "datasets" / "evil"
    shutil.copytree(seeded_template / "ds", dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    manifest["params"] = {MARKUP[0]: EVIL, "seed": LINK_IMAGE}
    (dest / "manifest.json").write_text(json.dumps(manifest))
    with (dest / "payments.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("fraud_scenario")
    for row in rows[1:]:
        if row[col]:
            row[col] = HTML_LINK
    with (dest / "payments.csv").open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return dest


def test_studio_shows_a_hostile_manifest_and_scenarios_inert(evil_dataset: Path) -> None:
    at = _studio()
    assert_inert(at)
    assert any("onerror" in c.value and "evil" in c.value for c in at.caption)  # escaped
    assert_charts_inert(at)
    assert any("evil.example" in label for label in chart_texts(at))  # escaped, not dropped


def test_studio_import_message_names_hostile_entries_inert(
    data_dir: Path, seeded_template: Path
) -> None:
    files = dataset_files(seeded_template / "ds")
    for i, markup in enumerate(NAMEABLE):
        files[f"notes/{i} {markup}.json"] = b"{}"  # allowed type, not a dataset file: skipped
    at = _studio()
    _upload(at, zip_of(files), "imported")
    assert (data_dir / "datasets" / "imported" / "payments.csv").is_file()
    assert_inert(at)
    (message,) = [s.value for s in at.success]
    assert "onerror" in message and "javascript" in message  # named, escaped


def test_studio_shows_a_bad_value_as_plain_text(data_dir: Path, seeded_template: Path) -> None:
    at = _studio()
    _upload(at, zip_of(_with_amount(dataset_files(seeded_template / "ds"), LINK_IMAGE)), "bad")
    assert_inert(at)
    assert at.error and LINK_IMAGE in plain_text(at)  # the detail, verbatim, as code
    assert list((data_dir / "datasets").iterdir()) == []


def test_studio_shows_a_hostile_stream_error_inert(
    evil_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = studio.StreamJob(evil_dataset, None, error=EVIL, finished=True)
    monkeypatch.setattr(studio, "current_stream", lambda rt: job)
    at = _studio()
    assert_inert(at)
    assert any("onerror" in e.value for e in at.error)


def test_insights_charts_show_hostile_categories_inert(hostile: str) -> None:
    at = app_test("pages/2_insights.py")
    at.run()
    assert chart_texts(at)
    assert_charts_inert(at)


def test_tuning_history_shows_hostile_authors_inert(
    hostile: str, seeded_template: Path, seeded_dir: Path
) -> None:
    shutil.copytree(seeded_template / "ds", seeded_dir / "datasets" / "ds")
    at = app_test("pages/3_rule_tuning.py")
    at.run()
    assert len(at.expander) >= 2  # the history is shown
    assert_inert(at)


def test_tuning_shows_an_unreadable_dataset_inert(data_dir: Path, seeded_template: Path) -> None:
    dest = data_dir / "datasets" / "bad"
    dest.mkdir(parents=True)
    for name, data in _with_amount(dataset_files(seeded_template / "ds"), LINK_IMAGE).items():
        (dest / name).write_bytes(data)
    at = app_test("pages/3_rule_tuning.py")
    at.run()
    assert at.error  # the page says the dataset is unreadable...
    assert_inert(at)  # ...without rendering the bad value as an image
