"""A replay answers at once: the dataset is read on a thread while the status says so."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk import runtime as rt_module
from desk.runtime import Runtime
from detector.common.settings import load_settings


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    for key in ("KVT_DATABASE_URL", "KVT_KAFKA_BOOTSTRAP", "KVT_MONGO_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("KVT_DATA_DIR", str(tmp_path))
    runtime = Runtime.create(load_settings())
    yield runtime
    runtime.stop()
    runtime.engine.dispose()


def test_start_replay_returns_before_the_dataset_is_read(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    release = threading.Event()

    def slow(dataset_dir: object) -> list[object]:
        release.wait(5)
        raise OSError("payments.csv: no such file")

    monkeypatch.setattr(rt_module, "replay_messages", slow)
    t0 = time.monotonic()
    rt.start_replay(tmp_path / "ds", None)
    assert time.monotonic() - t0 < 0.5
    assert rt.snapshot().state == "starting" and rt.replay_dir == tmp_path / "ds"
    release.set()
    deadline = time.monotonic() + 5
    while rt.snapshot().state == "starting" and time.monotonic() < deadline:
        time.sleep(0.02)
    snap = rt.snapshot()
    assert snap.state == "stopped" and "ds: payments.csv: no such file" in snap.last_error
    assert not rt.detector_running


def test_a_stop_while_reading_keeps_the_replay_from_starting(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    release, done = threading.Event(), threading.Event()

    def slow(dataset_dir: object) -> list[object]:
        release.wait(5)
        done.set()
        return []

    monkeypatch.setattr(rt_module, "replay_messages", slow)
    rt.start_replay(tmp_path / "ds", None)
    rt.stop()
    release.set()
    assert done.wait(5)
    time.sleep(0.1)
    assert rt._service is None and not rt.detector_running
