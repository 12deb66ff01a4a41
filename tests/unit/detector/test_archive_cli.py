"""`python -m detector archive` refuses to start without what it needs, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.__main__ import EXIT_INPUT, main


@pytest.fixture(autouse=True)
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KVT_SECRETS_FILE", str(tmp_path / "none.toml"))
    for name in ("KVT_KAFKA_BOOTSTRAP", "KVT_MONGO_URL", "KVT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_without_a_broker(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["archive"]) == EXIT_INPUT
    assert "KVT_KAFKA_BOOTSTRAP" in capsys.readouterr().err


def test_without_an_archive(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KVT_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    assert main(["archive"]) == EXIT_INPUT
    assert "KVT_MONGO_URL" in capsys.readouterr().err
