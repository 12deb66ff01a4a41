"""Readiness probe used by scripts/services (not a test).

Usage: python kafka_ready.py BOOTSTRAP EXPECTED_BROKERS TIMEOUT_SECONDS

Exits 0 once the cluster's metadata lists at least EXPECTED_BROKERS brokers
and a controller, 1 on timeout, 3 if confluent_kafka cannot be imported (the
script then falls back to Kafka's own BrokerApiVersionsCommand on the JVM).
"""

import sys
import time


def main() -> int:
    bootstrap, expected, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    try:
        from confluent_kafka.admin import AdminClient
    except Exception:  # not installed, or still being installed beside this start
        return 3
    deadline = time.monotonic() + timeout
    admin = AdminClient(
        {"bootstrap.servers": bootstrap, "log_level": 0, "socket.connection.setup.timeout.ms": 2000}
    )
    seen = -1
    while time.monotonic() < deadline:
        try:
            md = admin.list_topics(timeout=min(5.0, max(0.5, deadline - time.monotonic())))
            seen = len(md.brokers)
            if seen >= expected and md.controller_id >= 0:
                return 0
        except Exception:  # broker not up yet: KafkaException / timeout
            pass
        time.sleep(0.5)
    print(f"kafka_ready: {seen} of {expected} broker(s) registered at {bootstrap}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
