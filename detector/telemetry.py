"""Prometheus metrics of the detector service (scraped at KVT_METRICS_PORT when set)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class Telemetry:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events = Counter("kvt_events_total", "Events scored or applied", ["kind"], registry=r)
        self.alerts = Counter("kvt_alerts_total", "Alerts raised", ["severity"], registry=r)
        self.dead_letters = Counter(
            "kvt_dead_letters_total",
            "Messages sent to the dead-letter topic",
            ["reason"],
            registry=r,
        )
        self.repeated = Counter(
            "kvt_repeated_events_total",
            "Payments and events ignored: already applied (duplicate) or older than the ids a "
            "customer's state remembers (stale)",
            ["reason", "kind"],
            registry=r,
        )
        self.late = Counter(
            "kvt_late_events_total",
            "Events scored after a later event of their partition (beyond the ordering's wait)",
            ["topic"],
            registry=r,
        )
        self.idle_released = Counter(
            "kvt_order_idle_releases_total",
            "Events released by the ordering because the other topic's partition was silent "
            "for KVT_ORDER_IDLE_MS (not because it moved past them)",
            registry=r,
        )
        self.unknown_customers = Counter(
            "kvt_unknown_customers_total",
            "Payments of customers the customer reference does not list (flagged or refused)",
            ["action"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "kvt_batch_seconds",
            "Time to score and commit one batch",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.lag = Gauge("kvt_consumer_lag", "Messages behind", ["topic", "partition"], registry=r)
        self.outbox_pending = Gauge(
            "kvt_outbox_pending",
            "Alerts and dead letters in the outbox: committed, not yet acknowledged by Kafka",
            registry=r,
        )
        self.archived = Counter(
            "kvt_archived_events_total", "Behavioural events written to the archive", registry=r
        )
        self.archive_lag = Gauge(
            "kvt_archive_lag",
            "Behavioural events the archiver has not archived yet (user-events lag)",
            registry=r,
        )
        self.db_retries = Counter(
            "kvt_db_retries_total", "Batches retried after a database error", registry=r
        )

    def serve(self, port: int) -> None:
        start_http_server(port, addr="0.0.0.0", registry=self.registry)
