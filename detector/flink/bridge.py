"""Rule-set changes to the running job: the active version of the `rulesets` table, announced
on a compacted `rulesets` topic that the job reads as broadcast state.

The desk publishes a rule set by writing the table (``db.rulesets``), as for the consumer-group
detector; the launcher polls the active version and announces each new one, so the job picks
it up without a restart and records its version on every alert it scores.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from sqlalchemy.orm import Session, sessionmaker

from db.rulesets import active_ruleset
from detector.common.settings import Settings
from detector.errors import DetectorError
from detector.flink.timeline import ruleset_message

log = logging.getLogger("kvt.flink")

POLL_S = 0.5
KEY = b"active"


def ruleset_topic(settings: Settings) -> str:
    return f"{settings.topic_prefix}rulesets"


def ensure_ruleset_topic(settings: Settings, topic: str, timeout_s: float = 30.0) -> None:
    """One partition (one order), compacted (the latest announcement is all a start needs)."""
    admin = AdminClient(settings.kafka_config())
    if topic in admin.list_topics(timeout=timeout_s).topics:
        return
    new = NewTopic(
        topic,
        num_partitions=1,
        replication_factor=settings.topic_replication,
        config={"cleanup.policy": "compact"},
    )
    try:
        admin.create_topics([new], operation_timeout=timeout_s)[topic].result()
    except KafkaException as exc:
        if exc.args and exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return
        raise DetectorError(f"creating topic {topic}: {exc}") from None


class RulesetBridge:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], topic: str) -> None:
        self.sessions = sessions
        self.topic = topic
        self.producer = Producer(settings.kafka_config(**{"enable.idempotence": True}))
        self.version: str | None = None
        self._checked = 0.0

    def poll(self, force: bool = False) -> str | None:
        """Announce the active version if it changed; returns the version announced."""
        now = time.monotonic()
        if not force and now - self._checked < POLL_S:
            return None
        self._checked = now
        with self.sessions() as session, session.begin():
            version, ruleset = active_ruleset(session)
        if str(version) == self.version:
            return None
        self.producer.produce(self.topic, key=KEY, value=ruleset_message(ruleset))
        if self.producer.flush(30):
            raise DetectorError(f"rule set {version} not acknowledged by {self.topic} in 30 s")
        self.version = str(version)
        log.info("announced rule set version %s on %s", version, self.topic)
        return self.version
