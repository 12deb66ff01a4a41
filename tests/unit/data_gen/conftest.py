"""Datasets generated once per test session."""

from __future__ import annotations

import pytest

from data_gen import GenParams, generate
from tests.unit.data_gen.datagen_support import Dataset, load


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The default dataset (scale 1, seed 42), as the app would generate it."""
    out = tmp_path_factory.mktemp("reference")
    return load(out, generate(out, GenParams()))


@pytest.fixture(scope="session")
def fraud_heavy(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """Many incidents of every scenario, for statements about shares within a scenario."""
    out = tmp_path_factory.mktemp("fraud_heavy")
    return load(out, generate(out, GenParams(scale=0.5, fraud_rate=0.4, seed=11)))
