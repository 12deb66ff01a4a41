from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from data_gen import GenParams, OutputDirError, generate
from data_gen.schema import EVENTS, EVENTS_FILE, MANIFEST_FILE, TABLES
from tests.unit.data_gen.datagen_support import Dataset, load, ts

DATA_FILES = sorted([*TABLES, EVENTS_FILE])
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# The reference KiVendTout export (scale 1).
REFERENCE = {
    "customers.csv": 2_500,
    "products.csv": 100,
    "payments.csv": 7_563,
    "events.jsonl": 71_694,
}


def _files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    params = GenParams(seed=7, scale=0.05)
    generate(tmp_path / "a", params)
    generate(tmp_path / "b", params)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(a) == sorted([*DATA_FILES, MANIFEST_FILE])
    assert a == b


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    generate(tmp_path / "a", GenParams(seed=7, scale=0.05))
    generate(tmp_path / "b", GenParams(seed=8, scale=0.05))
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    for name in ("customers.csv", "payments.csv", EVENTS_FILE, MANIFEST_FILE):
        assert a[name] != b[name], name


def test_output_does_not_depend_on_hash_randomisation(tmp_path: Path) -> None:
    manifests = []
    for hash_seed in ("0", "4242"):
        out = tmp_path / hash_seed
        cmd = [sys.executable, "-m", "data_gen", "generate", "--out", str(out), "--scale", "0.02"]
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        manifests.append((out / MANIFEST_FILE).read_bytes())
    assert manifests[0] == manifests[1]


def test_many_chunks_stay_ordered_and_consistent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module("data_gen.generate")
    monkeypatch.setattr(module, "CHUNK_CUSTOMERS", 60)  # 300 customers -> 5 chunks, 5 runs
    params = GenParams(scale=0.12, fraud_rate=0.1)
    m = generate(tmp_path / "a", params)
    assert m.rows("customers.csv") >= 300
    ds = load(tmp_path / "a", m)
    pay_keys = [(p["attempt_ts"], p["payment_id"]) for p in ds.payments]
    assert pay_keys == sorted(pay_keys)
    ev_keys = [(e["event_timestamp"], e["event_id"]) for e in ds.events]
    assert ev_keys == sorted(ev_keys)
    for name, rows in (("C", ds.customers), ("S", ds.sessions), ("O", ds.orders)):
        numbers = sorted(int(k[1:]) for k in rows)
        assert numbers == list(range(1, len(rows) + 1)), name  # dense across chunks
    assert all(p["customer_id"] in ds.customers for p in ds.payments)
    assert m.fraud_payments / m.rows("payments.csv") == pytest.approx(0.1, abs=0.02)
    generate(tmp_path / "b", params)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_regenerating_into_the_same_dir_is_identical(tmp_path: Path) -> None:
    params = GenParams(seed=3, scale=0.02)
    generate(tmp_path, params)
    first = _files(tmp_path)
    generate(tmp_path, params)
    assert _files(tmp_path) == first  # temp files cleaned up, nothing appended


def test_reference_counts_within_5_percent(reference: Dataset) -> None:
    m = reference.manifest
    for name, expected in REFERENCE.items():
        assert abs(m.rows(name) - expected) <= 0.05 * expected, (name, m.rows(name))
    assert len(reference.customers) == m.rows("customers.csv")
    assert len(reference.payments) == m.rows("payments.csv")
    assert len(reference.events) == m.rows("events.jsonl")


def test_reference_success_share_is_85_percent(reference: Dataset) -> None:
    results = [p["result"] for p in reference.payments]
    assert set(results) == {"success", "failed"}
    share = results.count("success") / len(results)
    assert 0.82 <= share <= 0.88
    assert reference.manifest.payments_by_result["success"] == results.count("success")


def test_reference_window_and_vocabularies(reference: Dataset) -> None:
    first, last = reference.events[0], reference.events[-1]
    assert ts(first["event_timestamp"]) >= ts("2025-11-01T00:00:00.000Z")
    assert ts(last["event_timestamp"]) < ts("2026-01-01T00:00:00.000Z")
    span = ts(last["event_timestamp"]) - ts(first["event_timestamp"])
    assert span.days >= 59
    assert {c["country"] for c in reference.customers.values()} == {
        "FR", "US", "UK", "DE", "ES", "IT", "CA", "BE", "CH", "NL"
    }  # fmt: skip
    assert {e["device"] for e in reference.events} == {"desktop", "mobile", "ios", "android"}
    assert {e["utm_source"] for e in reference.events} == {
        "google", "facebook", "email", "seo", "direct"
    }  # fmt: skip
    assert {e["event_type"] for e in reference.events} == {
        "page_view", "product_view", "search", "add_to_cart", "remove_from_cart", "view_cart",
        "checkout_start", "add_payment_method", "payment_attempt", "payment_success",
        "payment_failed",
    }  # fmt: skip


def test_device_and_traffic_mix_is_moderate(reference: Dataset) -> None:
    n = len(reference.payments)
    desktop = sum(p["device"] == "desktop" for p in reference.payments) / n
    direct = sum(p["utm_source"] == "direct" for p in reference.payments) / n
    assert 0.38 <= desktop <= 0.55
    assert 0.13 <= direct <= 0.22


def test_files_are_sorted_by_time_then_id(reference: Dataset) -> None:
    pay_keys = [(p["attempt_ts"], p["payment_id"]) for p in reference.payments]
    assert pay_keys == sorted(pay_keys)
    ev_keys = [(e["event_timestamp"], e["event_id"]) for e in reference.events]
    assert ev_keys == sorted(ev_keys)
    assert len(set(ev_keys)) == len(ev_keys)


def test_timestamps_are_utc_iso_with_milliseconds(reference: Dataset) -> None:
    stamps = [e["event_timestamp"] for e in reference.events[:2000]]
    stamps += [p["attempt_ts"] for p in reference.payments[:500]]
    stamps += [c["signup_ts"] for c in list(reference.customers.values())[:500]]
    stamps += [s["start_ts"] for s in list(reference.sessions.values())[:500]]
    bad = [s for s in stamps if not ISO_MS.match(s)]
    assert not bad


def test_event_lines_have_schema_keys_in_order_and_json_nulls(reference: Dataset) -> None:
    with (reference.path / EVENTS_FILE).open(encoding="utf-8") as f:
        lines = [next(f) for _ in range(500)]
    for line in lines:
        record = json.loads(line)
        assert tuple(record) == EVENTS
    page_view = next(json.loads(x) for x in lines if '"page_view"' in x)
    assert page_view["product_id"] is None and page_view["amount"] is None
    cart = next(e for e in reference.events if e["event_type"] == "add_to_cart")
    assert isinstance(cart["amount"], float) and cart["amount"] > 0


def test_csv_headers_follow_schema(reference: Dataset) -> None:
    for name, columns in TABLES.items():
        header = (reference.path / name).read_text(encoding="utf-8").split("\n", 1)[0]
        assert tuple(header.split(",")) == columns, name


def test_manifest_describes_the_files(reference: Dataset) -> None:
    doc = json.loads((reference.path / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert doc == reference.manifest.to_dict()
    assert doc["format_version"] == 1
    assert doc["params"] == GenParams().to_dict()
    assert sorted(doc["files"]) == DATA_FILES
    for name, info in doc["files"].items():
        data = (reference.path / name).read_bytes()
        assert info["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert info["bytes"] == len(data)
        header = 0 if name == EVENTS_FILE else 1
        assert info["rows"] == data.count(b"\n") - header, name
    fraud = doc["fraud"]
    assert fraud["payments"] == sum(p["is_fraud"] == "1" for p in reference.payments)
    for scenario, counts in fraud["by_scenario"].items():
        rows = reference.fraud(scenario)
        assert counts["payments"] == len(rows)
        assert counts["incidents"] == len({p["fraud_incident_id"] for p in rows})


def test_progress_rises_to_one(tmp_path: Path) -> None:
    calls: list[tuple[float, str]] = []
    generate(tmp_path, GenParams(scale=0.05), progress=lambda f, m: calls.append((f, m)))
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(isinstance(m, str) and m for _, m in calls)


def test_output_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("keep me")
    with pytest.raises(OutputDirError, match="not a directory"):
        generate(target, GenParams(scale=0.01))
    assert target.read_text() == "keep me"


def test_stale_manifest_is_removed_when_generation_fails(tmp_path: Path) -> None:
    generate(tmp_path, GenParams(scale=0.01))
    assert (tmp_path / MANIFEST_FILE).exists()

    def cancel(fraction: float, message: str) -> None:
        if fraction > 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path, GenParams(scale=0.01, seed=5), progress=cancel)
    # The data files are half-rewritten, so no manifest may claim they are complete.
    assert not (tmp_path / MANIFEST_FILE).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_window_length_scales_activity(tmp_path: Path) -> None:
    short = generate(tmp_path / "short", GenParams(scale=0.1, days=10))
    full = generate(tmp_path / "full", GenParams(scale=0.1))
    ratio = short.rows("payments.csv") / full.rows("payments.csv")
    assert 0.10 <= ratio <= 0.23  # 10/61 = 0.16
    assert short.window_end == "2025-11-11T00:00:00.000Z"
