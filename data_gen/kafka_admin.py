"""Topic creation (idempotent) and a clear broker-reachability check."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from detector.common.settings import Settings
from detector.errors import DetectorError


class BrokerUnavailable(DetectorError):
    """No Kafka broker answered at the configured address."""


def admin(settings: Settings) -> AdminClient:
    return AdminClient(settings.kafka_config())


def check_broker(settings: Settings, timeout_s: float = 5.0) -> int:
    """Number of brokers in the cluster; raises BrokerUnavailable naming the address."""
    try:
        meta = admin(settings).list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise BrokerUnavailable(
            f"cannot reach Kafka at {settings.kafka_bootstrap} within {timeout_s:g}s "
            f"({exc.args[0].str() if exc.args else exc}); is the broker running? "
            "(locally: scripts/services up)"
        ) from None
    return len(meta.brokers)


def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> list[str]:
    """Create any missing topic; existing ones are left alone. Returns the names created."""
    check_broker(settings)
    client = admin(settings)
    existing = set(client.list_topics(timeout=timeout_s).topics)
    missing = [t for t in settings.topics.all if t not in existing]
    if not missing:
        return []
    futures = client.create_topics(
        [
            NewTopic(
                t,
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication,
                config={"min.insync.replicas": str(min(2, settings.topic_replication))},
            )
            for t in missing
        ],
        operation_timeout=timeout_s,
    )
    created = []
    for topic, fut in futures.items():
        try:
            fut.result()
            created.append(topic)
        except KafkaException as exc:
            if (
                exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
            ):  # a racing creator
                continue
            raise DetectorError(f"creating topic {topic}: {exc}") from None
    return created
