"""Shared by the page tests: a Runtime pointed at a temporary SQLite database (through
``KVT_DATA_DIR``; settings are read when the Runtime is created), optionally seeded by
replaying a tiny generated dataset through the real detector service.  Process-wide caches
(``st.cache_resource`` holds the Runtime) are cleared around each test.  Pages run signed in
(an admin unless a test asks for another role), as every page requires an account.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import streamlit as st
from streamlit.components.v2.component_manager import BidiComponentManager
from streamlit.testing.v1 import AppTest

from data_gen.feed import dataset_messages
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from desk.auth import Principal
from detector.common.settings import Settings, load_settings
from detector.service import DetectorService
from detector.sources import ReplaySource
from tests.unit.db.builders import signed_in

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_S = 60


@functools.cache
def _components() -> BidiComponentManager:
    manager = BidiComponentManager()
    manager.discover_and_register_components(start_file_watching=False)
    return manager


def app_test(path: str, role: str | None = "admin", username: str | None = None) -> AppTest:
    """An AppTest signed in as ``username`` (default: the role's name) with ``role``, or
    signed out with ``role=None``.  It reuses one component registry: each new AppTest
    otherwise scans every installed package for custom components (~0.4 s; these pages use
    none)."""
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT_S)
    at._bidi_component_manager = _components()
    if role is not None:
        at.session_state["principal"] = add_user(username or role, role)
    return at


def add_user(username: str, role: str) -> Principal:
    """Store (or re-role) an account in the settings' database; return its fresh sign-in."""
    engine = make_engine(load_settings().db_url)
    try:
        upgrade(engine)
        return signed_in(session_factory(engine), username, role)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose kvt.db holds the alerts of a replayed tiny dataset (built once)."""
    root = tmp_path_factory.mktemp("kvt_seed")
    generate(root / "ds", GenParams(scale=0.05, seed=7))
    settings = replace(Settings(), data_dir=root)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    messages = dataset_messages(read_dataset(root / "ds"), with_orders=False)
    source = ReplaySource(messages, settings, "replay:test")
    DetectorService(settings, source, session_factory(engine)).run(until_idle=True)
    engine.dispose()
    return root


def _fresh_process_state() -> None:
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data dir; the app's Runtime (created at the first run) uses it."""
    for key in ("KVT_DATABASE_URL", "KVT_KAFKA_BOOTSTRAP", "KVT_MONGO_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("KVT_DATA_DIR", str(tmp_path))
    _fresh_process_state()
    yield tmp_path
    _stop_runtime()
    _fresh_process_state()


@pytest.fixture
def seeded_dir(data_dir: Path, seeded_template: Path) -> Path:
    shutil.copy(seeded_template / "kvt.db", data_dir / "kvt.db")
    return data_dir


def _stop_runtime() -> None:
    from pages._ui import runtime

    try:
        rt = runtime()
    except Exception:
        return
    rt.stop()
    rt.engine.dispose()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
