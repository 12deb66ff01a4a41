"""The one place that reads configuration.

Values come from, in order of precedence: environment variables prefixed ``KVT_``, then the
``[kvt]`` table of ``.streamlit/secrets.toml`` (credentials belong there or in the
environment, never in code), then the defaults below.  The defaults are the embedded mode:
SQLite under ``./data`` and no broker, so a fresh clone runs with nothing else installed.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import astuple, dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "KVT_"


class SettingsError(Exception):
    """A configuration value is invalid; the message names the variable."""


@dataclass(frozen=True)
class Topics:
    user_events: str = "user-events"
    payments: str = "payments"
    orders: str = "orders"
    alerts: str = "fraud-alerts"
    dead_letter: str = "dead-letter"

    @property
    def inputs(self) -> tuple[str, str]:
        return (self.user_events, self.payments)

    @property
    def all(self) -> tuple[str, ...]:
        return (self.user_events, self.payments, self.orders, self.alerts, self.dead_letter)


# (field, lowest, highest): values outside would fail later and further from their cause.
_BOUNDS: tuple[tuple[str, float, float], ...] = (
    ("topic_partitions", 1, 10_000),
    ("topic_replication", 1, 100),
    ("batch_max", 1, 100_000),  # a batch is one JSON statement on PostgreSQL
    ("poll_timeout_s", 0, 60),
    ("max_message_bytes", 1024, 100 * 1024 * 1024),
    ("metrics_port", 0, 65_535),
    ("app_detector", 0, 1),
    # 0 would release at every momentary end of a partition: a fast stream's events late
    ("order_idle_ms", 100, 3_600_000),
    ("max_ahead_ms", 60_000, 365 * 86_400_000),
    ("max_ahead_clock_ms", 1_000, 365 * 86_400_000),
    ("dedup_window_ms", 3_600_000, 365 * 86_400_000),
    ("session_idle_min", 1, 24 * 60),
    ("session_max_h", 1, 24 * 30),
    ("flink_parallelism", 1, 1024),
    ("flink_checkpoint_interval_s", 0.05, 86_400),
    ("flink_out_of_orderness_ms", 0, 3_600_000),
    ("flink_idle_timeout_ms", 0, 3_600_000),
)
FLINK_STATE_BACKENDS = ("hashmap", "rocksdb")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = ROOT / "data"
    # repr=False: these carry credentials, and a logged or displayed Settings must not.
    database_url: str = field(default="", repr=False)  # empty: SQLite file in data_dir
    # The role that owns the schema and runs the migrations; the app and the detector use
    # database_url, a role that may not alter tables nor rewrite the audit trail.  Empty:
    # database_url does both (SQLite, or a single-role PostgreSQL).
    database_owner_url: str = field(default="", repr=False)
    kafka_bootstrap: str = ""  # empty: embedded mode, no broker
    kafka_options: Mapping[str, str] = field(default_factory=dict, repr=False)  # SASL/SSL
    mongo_url: str = field(default="", repr=False)  # empty: timelines read the relational store
    mongo_db: str = "kivendtout"
    topic_partitions: int = 3
    topic_replication: int = 1
    consumer_group: str = "fraud-detector"
    # Static group membership (Kafka's group.instance.id): a detector restarted under the same
    # name gets its partitions back at once instead of after the session timeout.  One name per
    # running detector (two live ones with one name fence each other); empty: dynamic member.
    consumer_instance: str = ""
    batch_max: int = 10000  # a backlog is scored in batches this big; caught up, batches are small
    poll_timeout_s: float = 0.005  # a busy loop's poll waits at most this (ends at a message)
    max_message_bytes: int = 64 * 1024
    metrics_port: int = 0  # 0: no Prometheus endpoint
    topic_prefix: str = ""  # isolates test runs or tenants sharing one cluster
    app_detector: int = 1  # 0: the app only reads (a separate detector service consumes)
    # detector.ordering: a partition read to its end and silent this long stops holding back
    # the other topic's events (the end of a stream, a topic nobody writes).
    order_idle_ms: int = 5000
    # An event further ahead than this of its partition's event time, or (live) of the wall
    # clock, is dead-lettered as future_timestamp: it moves no watermark and no state.
    max_ahead_ms: int = 7 * 86_400_000
    max_ahead_clock_ms: int = 3_600_000
    # A payment or event id a customer's state has applied is remembered this long behind the
    # customer's latest event (a repeat inside it changes nothing; an event older than it is
    # ignored as stale).  Longer: older replays are caught, at the cost of every id of the
    # window in each customer's stored state.  Never shorter than max_ahead_ms: an accepted
    # event that far ahead would make the customer's next ordinary events stale.
    dedup_window_ms: int = 7 * 86_400_000
    # A payment of a customer the customers table does not list (when it lists anyone):
    # "flag" scores it and marks its alert message, "dead_letter" refuses it.
    unknown_customers: str = "flag"
    session_idle_min: int = 30  # sign-in expires after this long without activity
    display_tz: str = "Europe/Paris"  # the shop's zone: charts' hours and days
    session_max_h: int = 12  # ... and this long after signing in, active or not
    # Signs the session cookie; empty: a random key kept in data_dir/session.key (0600).
    session_secret: str = field(default="", repr=False)
    # The Flink job (detector.flink): same engine, Flink's keyed state and checkpoints.
    flink_parallelism: int = 2
    flink_checkpoint_interval_s: float = 60.0
    flink_checkpoint_dir: str = ""  # local path or URL (s3://...); empty: data_dir/flink
    flink_state_backend: str = "hashmap"  # or "rocksdb" (incremental checkpoints)
    flink_out_of_orderness_ms: int = 500  # how far behind its partition an event may arrive
    flink_idle_timeout_ms: int = 2000  # a partition this quiet no longer holds the watermark
    # Flink configuration passed through to the job, e.g. the S3 file system's for an s3://
    # checkpoint directory (s3.endpoint, s3.path.style.access, s3.access.key, s3.secret.key).
    flink_options: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for name, low, high in _BOUNDS:
            value = getattr(self, name)
            if not low <= value <= high:
                raise SettingsError(
                    f"{PREFIX}{name.upper()}: must be between {low:,} and {high:,}, got {value!r}"
                )
        if self.dedup_window_ms < self.max_ahead_ms:
            raise SettingsError(
                f"{PREFIX}DEDUP_WINDOW_MS: must be at least {PREFIX}MAX_AHEAD_MS "
                f"({self.max_ahead_ms:,}), got {self.dedup_window_ms:,}"
            )
        if self.unknown_customers not in ("flag", "dead_letter"):
            raise SettingsError(
                f"{PREFIX}UNKNOWN_CUSTOMERS: must be 'flag' or 'dead_letter', "
                f"got {self.unknown_customers!r}"
            )
        if self.flink_state_backend not in FLINK_STATE_BACKENDS:
            raise SettingsError(
                f"{PREFIX}FLINK_STATE_BACKEND: must be one of {', '.join(FLINK_STATE_BACKENDS)}, "
                f"got {self.flink_state_backend!r}"
            )
        try:
            ZoneInfo(self.display_tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"{PREFIX}DISPLAY_TZ: {self.display_tz!r} is not an IANA time zone "
                "(e.g. Europe/Paris, UTC)"
            ) from None

    @cached_property
    def topics(self) -> Topics:
        p = self.topic_prefix
        return Topics(*(p + name for name in astuple(Topics())))

    @property
    def flink_checkpoints(self) -> str:
        """Where the Flink job keeps checkpoints and savepoints, as a URI."""
        where = self.flink_checkpoint_dir or str(self.data_dir / "flink")
        return where if "://" in where else Path(where).resolve().as_uri()

    @property
    def embedded(self) -> bool:
        return not self.kafka_bootstrap

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kvt.db'}"

    @property
    def owner_db_url(self) -> str:
        """Where migrations run: the owner role's URL, else the app's own."""
        return self.database_owner_url or self.db_url

    def kafka_config(self, **extra: Any) -> dict[str, Any]:
        """confluent-kafka client config: bootstrap servers plus the passthrough options."""
        if not self.kafka_bootstrap:
            raise SettingsError("KVT_KAFKA_BOOTSTRAP is not set (embedded mode has no broker)")
        return {"bootstrap.servers": self.kafka_bootstrap, **self.kafka_options, **extra}


_OPTIONS = ("kafka_options", "flink_options")
_SIMPLE = {f.name for f in fields(Settings)} - set(_OPTIONS)


def load_settings(
    env: Mapping[str, str] | None = None, secrets_file: Path | None = None
) -> Settings:
    env = os.environ if env is None else env
    # KVT_SECRETS_FILE points elsewhere, e.g. a test run away from a developer's real file.
    default = env.get(PREFIX + "SECRETS_FILE") or ROOT / ".streamlit" / "secrets.toml"
    secrets = _read_secrets(secrets_file or Path(default))
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name not in _SIMPLE:
            continue
        raw = env.get(PREFIX + f.name.upper(), secrets.get(f.name))
        if raw is not None:
            values[f.name] = _convert(f.name, f.type, raw)
    for name in _OPTIONS:
        values[name] = _options(name, env, secrets)
    return Settings(**values)


def _options(name: str, env: Mapping[str, str], secrets: Mapping[str, Any]) -> dict[str, str]:
    """Passthrough options: the file's [kvt.NAME] table, then the environment's, key by key:
    KVT_KAFKA_OPT_SASL_MECHANISM=PLAIN  ->  kafka_options sasl.mechanism=PLAIN."""
    found = secrets.get(name, {})
    if not isinstance(found, dict):
        raise SettingsError(f"secrets [kvt.{name}] must be a table of options")
    out = dict(found)
    prefix = f"{PREFIX}{name.split('_')[0].upper()}_OPT_"
    for key, value in env.items():
        if key.startswith(prefix):
            out[key[len(prefix) :].lower().replace("_", ".")] = value
    return out


def _read_secrets(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    table = data.get("kvt", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [kvt] must be a table")
    return table


def _convert(name: str, type_name: object, raw: object) -> Any:
    where = PREFIX + name.upper()
    kind = str(type_name)
    try:
        if kind == "int":
            return int(raw)  # type: ignore[call-overload]
        if kind == "float":
            return float(raw)  # type: ignore[arg-type]
        if kind == "Path":
            return Path(str(raw))
    except (TypeError, ValueError):
        raise SettingsError(f"{where}: expected {kind}, got {raw!r}") from None
    return str(raw)
