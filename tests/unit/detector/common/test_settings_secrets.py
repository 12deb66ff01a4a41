"""Credentials come from .streamlit/secrets.toml or the environment, reach every client that
needs them, and never show: not in the settings' repr, not in CLI output, logs, the pipeline
status or archive errors (URL passwords are masked, archive addresses name the host only)."""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url

from detector.common.settings import ROOT, Settings, SettingsError, load_settings

EXAMPLE = ROOT / ".streamlit" / "secrets.toml.example"
PG_SECRET, MONGO_SECRET, KAFKA_SECRET = "pg-s3cret-pw", "mongo-s3cret-pw", "kafka-s3cret-pw"
SECRETS = (PG_SECRET, MONGO_SECRET, KAFKA_SECRET)
CA = "/etc/ssl/certs/ca-certificates.crt"  # a real file: librdkafka opens it when built

SECRETS_TOML = f"""
[kvt]
database_url = "postgresql+psycopg2://kvt:{PG_SECRET}@127.0.0.1:1/kvt"
mongo_url = "mongodb://kvt:{MONGO_SECRET}@127.0.0.1:1/?authSource=admin"
mongo_db = "archive"
kafka_bootstrap = "127.0.0.1:1"
session_idle_min = 15

[kvt.kafka_options]
"security.protocol" = "SASL_SSL"
"sasl.mechanism" = "SCRAM-SHA-512"
"sasl.username" = "detector"
"sasl.password" = "{KAFKA_SECRET}"
"ssl.ca.location" = "{CA}"
"""
SASL = {
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "SCRAM-SHA-512",
    "sasl.username": "detector",
    "sasl.password": KAFKA_SECRET,
    "ssl.ca.location": CA,
}


@pytest.fixture
def secrets_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(SECRETS_TOML)
    return path


@pytest.fixture
def settings(secrets_file: Path) -> Settings:
    return load_settings(env={}, secrets_file=secrets_file)


def _no_secret_in(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, (secret, text)


# --------------------------------------------------------------------------- sources


def test_every_credential_comes_from_the_secrets_file(settings: Settings) -> None:
    assert settings.db_url == f"postgresql+psycopg2://kvt:{PG_SECRET}@127.0.0.1:1/kvt"
    assert settings.mongo_url.startswith(f"mongodb://kvt:{MONGO_SECRET}@")
    assert settings.mongo_db == "archive" and settings.session_idle_min == 15
    assert dict(settings.kafka_options) == SASL


def test_the_environment_wins_over_the_file_key_by_key(secrets_file: Path) -> None:
    env = {
        "KVT_DATABASE_URL": "postgresql+psycopg2://other:pw@db.internal/kvt",
        "KVT_MONGO_URL": "mongodb://m.internal:27017/",
        "KVT_KAFKA_OPT_SASL_PASSWORD": "from-env",
        "KVT_KAFKA_OPT_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM": "https",
        "KVT_SESSION_IDLE_MIN": "5",
    }
    s = load_settings(env=env, secrets_file=secrets_file)
    assert s.database_url == env["KVT_DATABASE_URL"] and s.mongo_url == env["KVT_MONGO_URL"]
    assert s.session_idle_min == 5 and s.mongo_db == "archive"  # the latter from the file
    assert s.kafka_options["sasl.password"] == "from-env"  # this option from the environment
    assert s.kafka_options["sasl.username"] == "detector"  # the others still from the file
    assert s.kafka_options["ssl.endpoint.identification.algorithm"] == "https"


def test_flink_options_pass_through_like_kafkas(tmp_path: Path) -> None:
    """An s3:// checkpoint directory on an S3-compatible store: the S3 file system's options."""
    env = {
        "KVT_FLINK_OPT_S3_ENDPOINT": "http://minio:9000",
        "KVT_FLINK_OPT_S3_PATH_STYLE_ACCESS": "true",
        "KVT_FLINK_OPT_S3_SECRET_KEY": KAFKA_SECRET,
    }
    s = load_settings(env=env, secrets_file=tmp_path / "absent.toml")
    assert dict(s.flink_options) == {
        "s3.endpoint": "http://minio:9000",
        "s3.path.style.access": "true",
        "s3.secret.key": KAFKA_SECRET,
    }
    assert s.kafka_options == {}
    _no_secret_in(repr(s))


def test_credentials_can_come_from_the_environment_alone(tmp_path: Path) -> None:
    env = {
        "KVT_DATABASE_URL": f"postgresql+psycopg2://kvt:{PG_SECRET}@db/kvt",
        "KVT_MONGO_URL": f"mongodb://kvt:{MONGO_SECRET}@mongo/",
        "KVT_KAFKA_BOOTSTRAP": "k:9093",
        "KVT_KAFKA_OPT_SECURITY_PROTOCOL": "SASL_SSL",
        "KVT_KAFKA_OPT_SASL_USERNAME": "detector",
        "KVT_KAFKA_OPT_SASL_PASSWORD": KAFKA_SECRET,
        "KVT_KAFKA_OPT_SSL_CA_LOCATION": CA,
        "KAFKA_OPT_SASL_PASSWORD": "no prefix: ignored",
    }
    s = load_settings(env=env, secrets_file=tmp_path / "absent.toml")
    assert PG_SECRET in s.db_url and MONGO_SECRET in s.mongo_url
    assert s.kafka_config() == {
        "bootstrap.servers": "k:9093",
        "security.protocol": "SASL_SSL",
        "sasl.username": "detector",
        "sasl.password": KAFKA_SECRET,
        "ssl.ca.location": CA,
    }


def test_kvt_secrets_file_points_to_another_file(secrets_file: Path, tmp_path: Path) -> None:
    s = load_settings(env={"KVT_SECRETS_FILE": str(secrets_file)})
    assert PG_SECRET in s.db_url and s.kafka_options["sasl.password"] == KAFKA_SECRET
    s = load_settings(env={"KVT_SECRETS_FILE": str(tmp_path / "absent.toml")})
    assert s.db_url.startswith("sqlite:///") and not s.kafka_options


def test_a_malformed_options_table_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "secrets.toml"
    bad.write_text('[kvt]\nkafka_options = "sasl.password=x"\n')
    with pytest.raises(SettingsError, match=r"\[kvt\.kafka_options\] must be a table"):
        load_settings(env={}, secrets_file=bad)


# --------------------------------------------------------------------------- Kafka clients


class _Capture:
    """Stands in for a confluent-kafka client class and keeps the config it was given."""

    def __init__(self) -> None:
        self.configs: list[dict[str, Any]] = []

    def __call__(self, conf: dict[str, Any], **_: Any) -> _Capture:
        self.configs.append(dict(conf))
        return self

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: 0  # subscribe, poll, flush, ...: nothing to do here


def test_options_reach_the_consumer_the_producers_and_the_admin_client(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:

    from data_gen import kafka_admin, stream
    from detector import sink, sources

    consumer, producer, admin = _Capture(), _Capture(), _Capture()
    monkeypatch.setattr(sources, "Consumer", consumer)
    monkeypatch.setattr(sink, "Producer", producer)
    monkeypatch.setattr(stream, "Producer", producer)
    monkeypatch.setattr(kafka_admin, "AdminClient", admin)
    monkeypatch.setattr(stream, "check_broker", lambda s: 1)
    monkeypatch.setattr(stream, "ensure_topics", lambda s: [])

    sources.KafkaSource(settings).start(lambda tps: {}, lambda s: None, lambda s: None)
    sink.AlertSink(settings)  # the detector's producer of alerts and dead letters
    stream.stream_messages([], settings)  # the dataset streamer's producer
    kafka_admin.admin(settings)

    built = [*consumer.configs, *producer.configs, *admin.configs]
    assert len(built) == 4
    for conf in built:
        assert SASL.items() <= conf.items(), conf
        assert conf["bootstrap.servers"] == "127.0.0.1:1"
    assert consumer.configs[0]["group.id"] == "fraud-detector"


def test_librdkafka_accepts_the_passed_options(settings: Settings) -> None:
    """The real clients are built (no connection is made before the first call): a misspelt
    or unsupported option would fail here, not in production."""
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient

    quiet = {"log_level": 0}  # they do try to connect in the background: no noise
    Producer(settings.kafka_config(**quiet))
    Consumer(settings.kafka_config(**{"group.id": "g"}, **quiet)).close()
    AdminClient(settings.kafka_config(**quiet))
    typo = {**settings.kafka_options, "sasl.pasword": "x"}
    with pytest.raises(Exception, match=r"sasl\.pasword"):
        Producer({"bootstrap.servers": "127.0.0.1:1", **typo})


# --------------------------------------------------------------------------- never shown


def test_no_credential_in_the_settings_repr(settings: Settings) -> None:
    _no_secret_in(repr(settings) + str(settings))
    assert "127.0.0.1:1" in repr(settings)  # the rest is still there to read


def test_database_urls_are_shown_with_the_password_masked(settings: Settings) -> None:
    from db.__main__ import _where

    url = make_url(settings.db_url)
    shown = _where(url)
    assert shown == "postgresql+psycopg2://kvt:***@127.0.0.1:1/kvt"
    # The pipeline page shows the engine's URL the same way.
    assert url.render_as_string(hide_password=True) == shown
    _no_secret_in(repr(url) + str(url))


def test_an_unreachable_database_is_reported_without_its_password(settings: Settings) -> None:
    from db.engine import make_engine
    from desk.pipeline import database_reachable

    engine = make_engine(settings.db_url, connect_args={"connect_timeout": 2})
    try:
        ok, error = database_reachable(engine)
    finally:
        engine.dispose()
    assert not ok and "127.0.0.1" in error
    _no_secret_in(error)


def test_the_detector_logs_database_retries_without_the_password(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.exc import OperationalError

    from detector.runner import open_database

    with caplog.at_level(logging.WARNING), pytest.raises(OperationalError) as info:
        open_database(settings, wait_s=0.4)
    assert "not reachable yet" in caplog.text
    _no_secret_in(caplog.text)
    _no_secret_in(str(info.value))


def test_the_archive_names_the_host_only(settings: Settings) -> None:
    from db.archive import ArchiveError, EventArchive, redact

    assert redact(settings.mongo_url) == "mongodb://127.0.0.1:1"
    archive = EventArchive(settings.mongo_url, "x", timeout_ms=50)
    _no_secret_in(repr(archive) + archive.address)
    archive.close()
    for bad in (f"mongodb://kvt:{MONGO_SECRET}@h:port/", f"mongodb+srv://kvt:{MONGO_SECRET}@h:1/"):
        with pytest.raises(ArchiveError, match="invalid MongoDB URL mongodb") as info:
            EventArchive(bad, "x")
        _no_secret_in(str(info.value))


def test_a_broker_error_does_not_show_the_sasl_password(settings: Settings) -> None:
    from data_gen.kafka_admin import BrokerUnavailable, check_broker

    with pytest.raises(BrokerUnavailable, match=r"cannot reach Kafka at 127\.0\.0\.1:1") as info:
        check_broker(settings, timeout_s=0.5)
    _no_secret_in(str(info.value))


# --------------------------------------------------------------------------- the example file


def _documented_keys(text: str) -> set[str]:
    """Keys set or shown commented out (``# key = value``) in the [kvt] table."""
    table = text.split("[kvt.kafka_options]")[0]
    return set(re.findall(r"^(?:# )?([a-z_]+) = ", table, flags=re.MULTILINE))


def test_the_example_documents_every_setting_with_placeholders_only() -> None:
    text = EXAMPLE.read_text()
    options = {"kafka_options", "flink_options"}  # tables of their own
    assert _documented_keys(text) == {f.name for f in fields(Settings)} - options
    assert all(f"[kvt.{name}]" in text for name in options)
    parsed = tomllib.loads(text)["kvt"]
    assert make_url(parsed["database_url"]).password == "CHANGE-ME"
    assert ":CHANGE-ME@" in parsed["mongo_url"]
    assert parsed["kafka_options"]["sasl.password"] == "CHANGE-ME"
    # Every uncommented value parses into settings, so a copy is a working starting point.
    s = load_settings(env={}, secrets_file=EXAMPLE)
    assert s.kafka_options["security.protocol"] == "SASL_SSL" and not s.embedded


def test_the_real_secrets_and_env_files_are_git_and_docker_ignored() -> None:
    for ignore in (".gitignore", ".dockerignore"):
        lines = (ROOT / ignore).read_text().split()
        assert ".streamlit/secrets.toml" in lines and ".env" in lines, ignore


# Where the shipped application and its deployment live (tests, benchmarks and scripts/ use
# the local throw-away cluster of scripts/services, documented in scripts/SERVICES.md).
SHIPPED = ("app.py", "pages", "detector", "db", "data_gen", "deploy", ".streamlit",
           "docker-compose.yml", "Dockerfile", "Makefile", ".env.example")  # fmt: skip
_INLINE_PASSWORD = re.compile(r"://[^/\s\"'@:]+:([^/\s\"'@]+)@")
_PLACEHOLDERS = {"CHANGE-ME", "***"}


def _shipped_files() -> list[Path]:
    out: list[Path] = []
    for name in SHIPPED:
        path = ROOT / name
        if path.is_file():
            out.append(path)
        else:
            out += [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return out


def test_no_credential_is_written_into_the_shipped_files() -> None:
    files = _shipped_files()
    assert len(files) > 50 and ROOT / "docker-compose.yml" in files
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for password in _INLINE_PASSWORD.findall(text):
            assert password in _PLACEHOLDERS or password.startswith("${"), (path, password)


def test_compose_requires_every_password_from_the_environment() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    assigned = re.findall(r"^\s*[A-Z_]*PASSWORD[A-Z_]*: *(.+)$", compose, flags=re.MULTILINE)
    assert len(assigned) >= 4
    for value in assigned:  # "${VAR:?message}": compose refuses to start without it
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", value.strip()), value
    for url in re.findall(r"KVT_\w+_URL: *(.+)$", compose, flags=re.MULTILINE):
        assert re.search(r":\$\{[A-Z_]*PASSWORD:\?[^}]+\}@", url), url
    example = (ROOT / ".env.example").read_text()
    values = dict(re.findall(r"^([A-Z_]*PASSWORD)=(.*)$", example, flags=re.MULTILINE))
    assert values and all(v.startswith("change-me") for v in values.values()), values
