"""The one settings object: defaults are embedded mode; env beats secrets; errors name the var."""

from __future__ import annotations

from pathlib import Path

import pytest

from detector.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_mode(tmp_path: Path) -> None:
    s = load_settings(env={}, secrets_file=tmp_path / "none.toml")
    assert s.embedded
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith("data/kvt.db")
    assert s.topics.payments == "payments"


def test_env_overrides_secrets_and_passes_kafka_options(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[kvt]\ndatabase_url = "postgresql+psycopg2://u:p@db/kvt"\n'
        'kafka_bootstrap = "k1:9092"\n[kvt.kafka_options]\n"security.protocol" = "SASL_SSL"\n'
    )
    env = {
        "KVT_KAFKA_BOOTSTRAP": "k2:9092",
        "KVT_KAFKA_OPT_SASL_MECHANISM": "PLAIN",
        "KVT_TOPIC_PREFIX": "t1-",
        "KVT_BATCH_MAX": "500",
    }
    s = load_settings(env=env, secrets_file=secrets)
    assert s.database_url == "postgresql+psycopg2://u:p@db/kvt"
    assert s.kafka_config()["bootstrap.servers"] == "k2:9092"
    assert s.kafka_options == {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}
    assert s.topics.payments == "t1-payments" and s.batch_max == 500


def test_bad_values_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="KVT_BATCH_MAX: expected int, got 'lots'"):
        load_settings(env={"KVT_BATCH_MAX": "lots"}, secrets_file=tmp_path / "x.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[kvt\n")
    with pytest.raises(SettingsError, match=r"bad\.toml"):
        load_settings(env={}, secrets_file=bad)
