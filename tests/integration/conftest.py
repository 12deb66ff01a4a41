"""Session fixtures for integration tests that need the local services.

The services are started by ``scripts/services up`` (see scripts/SERVICES.md).
Each fixture resolves its address from, in order:

1. the environment (``KVT_TEST_PG_URL``, ``KVT_TEST_KAFKA``, ``KVT_TEST_MONGO``),
   e.g. after ``source .services/env``;
2. the ``.services/env`` file written by ``scripts/services`` (``KVT_SERVICES_DIR``
   points elsewhere if set);
3. the script's default ports.

It then checks that the service answers. If it does not, the fixture FAILS (it
never skips) and says to run ``scripts/services up``. With
``KVT_TEST_AUTOSTART=1`` the fixture runs ``scripts/services up --only <svc>``
itself first (a cold start installs things and can take a few minutes).

Fixtures:

- ``pg_url``: SQLAlchemy URL ``postgresql+psycopg2://kvt:PASSWORD@127.0.0.1:55432/kvt_test`` (owner)
- ``pg_app_url``: the same database as the app's role ``kvt_app``
- ``kafka_bootstrap``: ``"127.0.0.1:9092"`` (comma-separated list with ``--brokers 3``)
- ``kafka_broker_count``: number of brokers the cluster reports right now
- ``mongo_url``: ``mongodb://127.0.0.1:57017/``
- ``services``: a small controller around ``scripts/services`` for tests that
  stop and start services mid-stream (``services.stop("pg")``,
  ``services.start("kafka-2")``, ``services.status()``).
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES_SCRIPT = ROOT / "scripts" / "services"
SERVICES_DIR = Path(os.environ.get("KVT_SERVICES_DIR", ROOT / ".services"))

DEFAULTS = {
    "KVT_TEST_PG_URL": "postgresql+psycopg2://kvt@127.0.0.1:55432/kvt_test",
    "KVT_TEST_PG_APP_URL": "postgresql+psycopg2://kvt_app@127.0.0.1:55432/kvt_test",
    "KVT_TEST_KAFKA": "127.0.0.1:9092",
    "KVT_TEST_MONGO": "mongodb://127.0.0.1:57017/",
}

# How long a fixture keeps retrying before it declares a service unreachable.
READY_TIMEOUT_S = float(os.environ.get("KVT_TEST_SERVICE_TIMEOUT", "20"))


def _env_file() -> dict[str, str]:
    """Parse the ``export NAME='value'`` lines of .services/env."""
    values: dict[str, str] = {}
    path = SERVICES_DIR / "env"
    try:
        text = path.read_text()
    except OSError:
        return values
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("export "):
            continue
        try:
            (assignment,) = shlex.split(line[len("export ") :])
        except ValueError:
            continue
        name, _, value = assignment.partition("=")
        values[name] = value
    return values


def _setting(name: str) -> str:
    return os.environ.get(name) or _env_file().get(name) or DEFAULTS[name]


def _run_services(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SERVICES_SCRIPT), *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _unreachable(service: str, address: str, detail: str) -> None:
    pytest.fail(
        f"{service} is not reachable at {address} ({detail}).\n"
        f"Start the local services with `scripts/services up` "
        f"(or `scripts/services up --only {service}`), then `source .services/env`; "
        f"`scripts/services status` shows what is running. "
        f"Set KVT_TEST_AUTOSTART=1 to let the tests run it.",
        pytrace=False,
    )


def _ensure(service: str, address: str, probe) -> None:
    """Call probe() until it succeeds or READY_TIMEOUT_S passes; fail otherwise."""
    autostarted = False
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no attempt"
    while True:
        try:
            probe()
            return
        except Exception as exc:
            last = f"{type(exc).__name__}: {exc}".strip()
        if os.environ.get("KVT_TEST_AUTOSTART") == "1" and not autostarted:
            autostarted = True
            proc = _run_services("up", "--only", service)
            if proc.returncode != 0:
                _unreachable(
                    service,
                    address,
                    f"`scripts/services up --only {service}` failed:\n" + proc.stderr[-3000:],
                )
            deadline = time.monotonic() + READY_TIMEOUT_S
            continue
        if time.monotonic() >= deadline:
            _unreachable(service, address, last[:500])
        time.sleep(1.0)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """SQLAlchemy URL of the ``kvt_test`` database as its owner role ``kvt`` (the password
    scripts/services generated, from .services/env)."""
    return _pg("KVT_TEST_PG_URL")


@pytest.fixture(scope="session")
def pg_app_url() -> str:
    """The same database as the app's role ``kvt_app`` (no DDL; privileges granted by each
    upgrade run as the owner: ``db.privileges``)."""
    return _pg("KVT_TEST_PG_APP_URL")


def _pg(name: str) -> str:
    url = _setting(name)

    def probe() -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(
            url, connect_args={"connect_timeout": 3}, poolclass=sa.pool.NullPool
        )
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        finally:
            engine.dispose()

    _ensure("pg", url.split("@")[-1], probe)
    return url


def _kafka_metadata(bootstrap: str, timeout: float = 5.0):
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(
        {"bootstrap.servers": bootstrap, "log_level": 0, "socket.connection.setup.timeout.ms": 3000}
    )
    md = admin.list_topics(timeout=timeout)
    if not md.brokers:
        raise RuntimeError("no broker in the metadata")
    return md


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Bootstrap servers of the local Kafka cluster, e.g. ``"127.0.0.1:9092"``."""
    bootstrap = _setting("KVT_TEST_KAFKA")
    _ensure("kafka", bootstrap, lambda: _kafka_metadata(bootstrap))
    return bootstrap


@pytest.fixture(scope="session")
def kafka_broker_count(kafka_bootstrap: str) -> int:
    """How many brokers the cluster reports (1, or 3 after ``up --brokers 3``)."""
    return len(_kafka_metadata(kafka_bootstrap, timeout=10).brokers)


@pytest.fixture(scope="session")
def mongo_url() -> str:
    """MongoDB connection string of the local wire-protocol server (FerretDB)."""
    url = _setting("KVT_TEST_MONGO")

    def probe() -> None:
        import pymongo

        client = pymongo.MongoClient(url, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000)
        try:
            client.admin.command("ping")
        finally:
            client.close()

    _ensure("mongo", url, probe)
    return url


@dataclass
class ServicesController:
    """Drive ``scripts/services`` from a test (for outage / failover tests)."""

    script: Path = SERVICES_SCRIPT

    def run(
        self, *args: str, check: bool = True, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        proc = _run_services(*args, timeout=timeout)
        if check and proc.returncode != 0:
            command = " ".join(args)
            raise AssertionError(
                f"scripts/services {command} exited {proc.returncode}:\n"
                f"{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def stop(self, name: str) -> None:
        """Stop ``pg``, ``mongo``, ``kafka`` (all nodes) or one node ``kafka-N``."""
        self.run("stop", name)

    def start(self, name: str) -> None:
        """Start a service or node again and wait until it is ready."""
        self.run("start", name)

    def status(self) -> dict[str, bool]:
        """``{"pg": True, "kafka-1": True, "mongo": False, ...}``"""
        proc = self.run("status", check=False)
        result = {}
        for line in proc.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[1] in ("up", "down"):
                result[parts[0]] = parts[1] == "up"
        return result


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that can stop a service is an outage test: it would fail whatever runs beside
    it, so scripts/test runs those alone, after the others (which run in parallel workers)."""
    for item in items:
        if "services" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.outage)


@pytest.fixture(scope="session")
def services() -> ServicesController:
    return ServicesController()


def tcp_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """Helper for tests: does host:port accept a TCP connection?"""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
