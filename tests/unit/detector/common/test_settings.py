"""The one settings object: defaults are embedded mode; env beats secrets; errors name the var."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detector.common.settings import Settings, SettingsError, load_settings
from detector.state import DEDUP_WINDOW_MS


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


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        (
            "KVT_DISPLAY_TZ",
            "Mars/Olympus",
            "KVT_DISPLAY_TZ: 'Mars/Olympus' is not an IANA time zone",
        ),
        ("KVT_DISPLAY_TZ", "../../etc/passwd", "is not an IANA time zone"),
        ("KVT_BATCH_MAX", "0", "KVT_BATCH_MAX: must be between 1 and 100,000, got 0"),
        ("KVT_POLL_TIMEOUT_S", "-1", "KVT_POLL_TIMEOUT_S: must be between 0 and 60"),
        ("KVT_METRICS_PORT", "70000", "KVT_METRICS_PORT: must be between 0 and 65,535"),
        ("KVT_SESSION_IDLE_MIN", "0", "KVT_SESSION_IDLE_MIN: must be between 1"),
        ("KVT_TOPIC_PARTITIONS", "0", "KVT_TOPIC_PARTITIONS: must be between 1"),
        ("KVT_UNKNOWN_CUSTOMERS", "ignore", "KVT_UNKNOWN_CUSTOMERS: must be 'flag' or"),
        ("KVT_MAX_AHEAD_MS", "10", "KVT_MAX_AHEAD_MS: must be between 60,000"),
        ("KVT_MAX_AHEAD_CLOCK_MS", "0", "KVT_MAX_AHEAD_CLOCK_MS: must be between 1,000"),
        ("KVT_DEDUP_WINDOW_MS", "60000", "KVT_DEDUP_WINDOW_MS: must be between 3,600,000"),
        (
            "KVT_DEDUP_WINDOW_MS",
            str(86_400_000),
            "KVT_DEDUP_WINDOW_MS: must be at least KVT_MAX_AHEAD_MS (604,800,000), got 86,400,000",
        ),
    ],
)
def test_out_of_range_values_name_the_variable(
    tmp_path: Path, var: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(env={var: value}, secrets_file=tmp_path / "x.toml")


def test_any_iana_zone_is_accepted(tmp_path: Path) -> None:
    for zone in ("UTC", "Asia/Kathmandu", "America/St_Johns", "Europe/Paris"):
        s = load_settings(env={"KVT_DISPLAY_TZ": zone}, secrets_file=tmp_path / "x.toml")
        assert s.display_tz == zone


def test_the_shipped_example_loads_and_reaches_every_kafka_client(tmp_path: Path) -> None:
    from data_gen.stream import producer_config

    example = Path(__file__).resolve().parents[4] / ".streamlit" / "secrets.toml.example"
    s = load_settings(env={}, secrets_file=example)
    assert s.database_url.startswith("postgresql+psycopg2://") and s.mongo_url
    secret = {"sasl.username": "kvt-detector", "sasl.password": "CHANGE-ME"}
    assert secret.items() <= s.kafka_options.items()
    # The consumer and the admin client use kafka_config(); the producer adds its own options.
    for conf in (s.kafka_config(), s.kafka_config(**{"group.id": "g"}), producer_config(s)):
        assert secret.items() <= conf.items()
        assert conf["security.protocol"] == "SASL_SSL"
    # Only placeholders ship: nothing that looks like a real password.
    text = example.read_text()
    # database_url, mongo_url, sasl.password; commented: database_owner_url, session_secret,
    # s3.secret.key
    assert text.count("CHANGE-ME") == 6 and 'password = "' not in text.replace("CHANGE-ME", "")


def test_credentials_never_show_in_the_settings_repr(tmp_path: Path) -> None:
    env = {
        "KVT_DATABASE_URL": "postgresql+psycopg2://u:pg-secret@db/kvt",
        "KVT_MONGO_URL": "mongodb://u:mongo-secret@m:27017/",
        "KVT_KAFKA_OPT_SASL_PASSWORD": "kafka-secret",
    }
    s = load_settings(env=env, secrets_file=tmp_path / "none.toml")
    assert s.kafka_options["sasl.password"] == "kafka-secret"
    shown = repr(s) + str(s)
    assert not any(x in shown for x in ("pg-secret", "mongo-secret", "kafka-secret"))


def test_the_real_secrets_file_is_git_ignored() -> None:
    ignored = (Path(__file__).resolve().parents[4] / ".gitignore").read_text().split()
    assert ".streamlit/secrets.toml" in ignored


def test_the_dedup_window_is_a_bounded_setting_whose_default_is_the_engines(
    tmp_path: Path,
) -> None:
    assert Settings().dedup_window_ms == DEDUP_WINDOW_MS
    env = {"KVT_DEDUP_WINDOW_MS": str(2 * 86_400_000), "KVT_MAX_AHEAD_MS": str(86_400_000)}
    assert load_settings(env=env, secrets_file=tmp_path / "x.toml").dedup_window_ms == (
        2 * 86_400_000
    )
