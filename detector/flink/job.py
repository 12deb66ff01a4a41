"""The Flink job graph: Kafka tables in and out, the Python functions in between.

The input topics are read through Flink SQL's Kafka connector in `raw` format, which gives
each message's key and bytes with its topic, partition and offset (a dead letter keeps and
names them) and lets the watermark come from the payload's own event time, per Kafka
partition inside the source: a partition read ahead of another cannot make the other's
events late.  The event time there is only a lower bound for ordering: absent, unparsable
and implausible times (outside 2000-2100, or too far ahead of the partition or the clock:
the service's `future_timestamp`) count as 1970, so they never move a watermark; the
`ahead` column says why a time was too far ahead, and scoring reads times through
`detector.codec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyflink.common import Configuration, Duration, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.common.typeinfo import Types
from pyflink.datastream import DataStream, StreamExecutionEnvironment
from pyflink.datastream.connectors.kafka import KafkaOffsetsInitializer, KafkaSource
from pyflink.java_gateway import get_gateway
from pyflink.table import StreamTableEnvironment

from db.models import LIVE_DATASET
from detector.common.datasets import DATASET_HEADER, DATASET_NAME
from detector.common.settings import Settings
from detector.flink.bridge import ruleset_topic
from detector.flink.functions import (
    ALERT_ROW,
    DEAD_TAG,
    RULESETS,
    Decode,
    Score,
)

JOB_NAME = "kvt-fraud-detector"
# The event-time functions (detector/flink/java/kvt/flink/FutureTime.java).
TIME_FN = "kvt_event_time"
AHEAD_FN = "kvt_time_ahead"
# Kafka brokers refuse transactions longer than transaction.max.timeout.ms (15 min default).
TRANSACTION_TIMEOUT_MS = 900_000


@dataclass(frozen=True)
class JobOptions:
    parallelism: int
    bounded: bool = False  # read to the end offsets found at start, then finish (tests, backfills)
    restore_from: str | None = None  # a checkpoint or savepoint directory
    rest_port: int = 0
    python: str = ""  # the interpreter of the Python workers
    connector_jar: str = ""
    order_jar: str = ""  # detector/flink/java, built by scripts/flink-setup
    ship_code: tuple[str, ...] = ()  # package directories sent to a remote cluster's workers


def configuration(settings: Settings, opts: JobOptions) -> Configuration:
    where = settings.flink_checkpoints.rstrip("/")
    interval_ms = settings.flink_checkpoint_interval_s * 1000
    conf = {
        "pipeline.name": JOB_NAME,
        "parallelism.default": str(opts.parallelism),
        "execution.checkpointing.interval": f"{round(interval_ms)} ms",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.dir": f"{where}/checkpoints",
        "execution.checkpointing.savepoint-dir": f"{where}/savepoints",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "3",
        "state.backend.type": settings.flink_state_backend,
        "execution.checkpointing.incremental": str(settings.flink_state_backend == "rocksdb"),
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.initial-backoff": "500 ms",
        "restart-strategy.exponential-delay.max-backoff": "30 s",
        # Python operators hand results back per bundle: this bounds the added latency.
        "python.fn-execution.bundle.time": "100",
    }
    if opts.rest_port:  # the local mini-cluster's REST endpoint, for the run's summary
        conf["rest.port"] = conf["rest.bind-port"] = str(opts.rest_port)
        conf["rest.address"] = conf["rest.bind-address"] = "127.0.0.1"
    if opts.python:
        conf["python.executable"] = conf["python.client.executable"] = opts.python
    jars = [Path(j).resolve().as_uri() for j in (opts.connector_jar, opts.order_jar) if j]
    if jars:
        conf["pipeline.jars"] = ";".join(jars)
    if opts.restore_from:
        conf["execution.state-recovery.path"] = opts.restore_from
    conf.update(settings.flink_options)  # e.g. the S3 file system's (scripts/flink-setup)
    out = Configuration()
    for key, value in conf.items():
        out.set_string(key, value)
    return out


def _kafka_options(settings: Settings) -> dict[str, str]:
    extra = {f"properties.{k}": str(v) for k, v in settings.kafka_options.items()}
    return {"connector": "kafka", "properties.bootstrap.servers": settings.kafka_bootstrap, **extra}


def _with(options: dict[str, str]) -> str:
    return ", ".join(f"'{k}' = '{v}'" for k, v in options.items())


def _time_args(settings: Settings, fields: tuple[str, ...]) -> str:
    """The arguments of the time functions (detector/flink/java FutureTime): the payload's
    time text, where it comes from, and how far ahead of its partition or the clock it may be."""
    raw = ", ".join(f"JSON_VALUE(CAST(`value` AS STRING), '$.{f}')" for f in fields)
    raw = f"COALESCE({raw})" if len(fields) > 1 else raw
    return (
        f"{raw}, `topic`, `partition`, CAST({settings.max_ahead_ms} AS BIGINT), "
        f"CAST({settings.max_ahead_clock_ms} AS BIGINT)"
    )


def _source_sql(
    name: str, topic: str, time_fields: tuple[str, ...], settings: Settings, bounded: bool
) -> str:
    options = {
        **_kafka_options(settings),
        "topic": topic,
        "properties.group.id": f"{settings.consumer_group}-flink",
        # A first start reads from the beginning; a restore resumes from its checkpoint.
        "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest",
        # The key rides along for the dead letters (the service keeps it too).
        "key.format": "raw",
        "key.fields": "key",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
    }
    if bounded:
        options["scan.bounded.mode"] = "latest-offset"
    lag = settings.flink_out_of_orderness_ms / 1000
    args = _time_args(settings, time_fields)
    return f"""
CREATE TEMPORARY TABLE {name} (
  `key` BYTES,
  `value` BYTES,
  `topic` STRING METADATA VIRTUAL,
  `partition` INT METADATA VIRTUAL,
  `offset` BIGINT METADATA VIRTUAL,
  `headers` MAP<STRING, BYTES> METADATA VIRTUAL,
  `ahead` AS {AHEAD_FN}({args}),
  `event_time` AS COALESCE({TIME_FN}({args}), TIMESTAMP '1970-01-01 00:00:00'),
  WATERMARK FOR `event_time` AS `event_time` - INTERVAL '{lag:.3f}' SECOND
) WITH ({_with(options)})"""


def _sink_sql(
    name: str, columns: str, topic: str, settings: Settings, extra: dict[str, str]
) -> str:
    options = {
        **_kafka_options(settings),
        "topic": topic,
        "sink.delivery-guarantee": "exactly-once",
        "sink.transactional-id-prefix": f"{settings.consumer_group}-{topic}",
        "properties.transaction.timeout.ms": str(TRANSACTION_TIMEOUT_MS),
        **extra,
    }
    return f"CREATE TEMPORARY TABLE {name} ({columns}) WITH ({_with(options)})"


def _customer_key(customer: str) -> str:
    """The row's customer field: the customer's state key (``functions.state_key``), i.e.
    the customer id for the live stream, the id, a NUL and the dataset for a message whose
    ``kvt-dataset`` header names a dataset (``detector.common.datasets``: its name pattern,
    not ``live``).  The dataset rides in this field rather than a new one because the
    ordering operator keeps rows in its state: a row of another arity would not restore from
    a savepoint of the job before datasets (measured: the restore failed in a loop)."""
    name = f"CAST(`headers`['{DATASET_HEADER}'] AS STRING)"
    named = f"REGEXP({name}, '{DATASET_NAME.pattern}') AND LOWER({name}) <> '{LIVE_DATASET}'"
    keyed = f"CONCAT(COALESCE({customer}, ''), CHR(0), {name})"
    return f"CASE WHEN {named} THEN {keyed} ELSE {customer} END"


def build(settings: Settings, opts: JobOptions) -> StreamExecutionEnvironment:
    """The environment with the whole job attached; `execute` or `execute_async` runs it."""
    env = StreamExecutionEnvironment.get_execution_environment(configuration(settings, opts))
    for path in opts.ship_code:
        env.add_python_file(path)
    t_env = StreamTableEnvironment.create(env)
    tconf = t_env.get_config()
    tconf.set("table.local-time-zone", "UTC")
    if settings.flink_idle_timeout_ms:
        tconf.set("table.exec.source.idle-timeout", f"{settings.flink_idle_timeout_ms} ms")
    for name, cls in ((TIME_FN, "Time"), (AHEAD_FN, "Ahead")):
        t_env.execute_sql(
            f"CREATE TEMPORARY SYSTEM FUNCTION {name} AS 'kvt.flink.FutureTime${cls}' LANGUAGE JAVA"
        )
    topics = settings.topics
    t_env.execute_sql(
        _source_sql("payments_in", topics.payments, ("attempt_ts",), settings, opts.bounded)
    )
    t_env.execute_sql(
        _source_sql(
            "events_in", topics.user_events, ("event_timestamp", "ts"), settings, opts.bounded
        )
    )

    # One stream of both topics, released per customer in the engine's order by a small Java
    # operator (detector/flink/java): its buffer and timers are Flink's keyed state.
    def view(table: str, kind: int, id_field: str) -> str:
        text = "CAST(`value` AS STRING)"
        customer = _customer_key(f"JSON_VALUE({text}, '$.customer_id')")
        return (
            f"SELECT `value`, `topic`, `partition`, `offset`, `event_time`, "
            f"{customer} AS customer, "
            f"{kind} AS kind, JSON_VALUE({text}, '$.{id_field}') AS id, `key`, `ahead` "
            f"FROM {table}"
        )

    inputs = t_env.to_data_stream(
        t_env.sql_query(
            f"{view('events_in', 0, 'event_id')} UNION ALL {view('payments_in', 1, 'payment_id')}"
        )
    )
    jvm = get_gateway().jvm
    j_inputs = inputs._j_data_stream
    row_type = j_inputs.getType()
    ordered = DataStream(
        j_inputs.keyBy(jvm.kvt.flink.CustomerKey())
        .process(jvm.kvt.flink.EventTimeSorter(row_type), row_type)
        .uid("order")
        .name("event-time order per customer")
    )

    decoder = Decode(
        topics.payments, settings.max_message_bytes, settings.max_ahead_ms,
        settings.max_ahead_clock_ms,
    )  # fmt: skip
    alerts = (
        ordered.flat_map(decoder, Types.PICKLED_BYTE_ARRAY())
        .uid("decode")
        .name("decode")
        .key_by(lambda pair: pair[0], key_type=Types.STRING())
        .connect(_rulesets(env, settings, opts).broadcast(RULESETS))
        .process(Score(), ALERT_ROW)
        .uid("score")
        .name("score")
    )
    dead = alerts.get_side_output(DEAD_TAG)

    keyed = {"key.format": "raw", "key.fields": "k", "value.format": "raw",
             "value.fields-include": "EXCEPT_KEY"}  # fmt: skip
    t_env.execute_sql(
        _sink_sql("alerts_out", "`k` STRING, `v` BYTES", topics.alerts, settings, keyed)
    )
    t_env.execute_sql(
        _sink_sql(
            "dead_out",
            "`k` BYTES, `v` BYTES, `headers` MAP<STRING, BYTES> METADATA",
            topics.dead_letter,
            settings,
            keyed,
        )
    )
    sinks = t_env.create_statement_set()
    sinks.add_insert("alerts_out", t_env.from_data_stream(alerts))
    sinks.add_insert("dead_out", t_env.from_data_stream(dead))
    sinks.attach_as_datastream()
    return env


def _rulesets(env: StreamExecutionEnvironment, settings: Settings, opts: JobOptions) -> DataStream:
    """The rule-set announcements (compacted topic, read from its start)."""
    builder = (
        KafkaSource.builder()
        .set_bootstrap_servers(settings.kafka_bootstrap)
        .set_topics(ruleset_topic(settings))
        .set_group_id(f"{settings.consumer_group}-flink-rulesets")
        .set_starting_offsets(KafkaOffsetsInitializer.earliest())
        .set_value_only_deserializer(SimpleStringSchema())
    )
    for key, value in settings.kafka_options.items():
        builder = builder.set_property(key, str(value))
    if opts.bounded:
        builder = builder.set_bounded(KafkaOffsetsInitializer.latest())
    # Kafka's record time (when published) as watermark: the announcements never hold back
    # scoring once read, and the job scores nothing before the first one (or idleness).
    strategy = WatermarkStrategy.for_monotonous_timestamps()
    if settings.flink_idle_timeout_ms:
        strategy = strategy.with_idleness(Duration.of_millis(settings.flink_idle_timeout_ms))
    return env.from_source(builder.build(), strategy, "rulesets").uid("rulesets")
