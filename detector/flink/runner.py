"""Run the job on a local mini-cluster: restore point, rule-set bridge, savepoint on stop.

A start resumes from the newest retained checkpoint or savepoint under the checkpoint
directory (local paths; pass `restore_from` for a remote store); SIGTERM or SIGINT stops the
job with a savepoint there, so an upgrade resumes exactly where the old version stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from data_gen.kafka_admin import ensure_topics
from detector.common.settings import ROOT, Settings
from detector.errors import DetectorError
from detector.flink.bridge import RulesetBridge, ensure_ruleset_topic, ruleset_topic

log = logging.getLogger("kvt.flink")

CONNECTOR = "flink-sql-connector-kafka-5.0.0-2.2.jar"
JAR_DIR = Path(os.environ.get("KVT_CACHE_DIR", Path.home() / ".cache" / "kvt")) / "flink-jars"
STOP_TIMEOUT_S = 120.0
# PyFlink's switch between workers in this process and in their own (pyflink/datastream/
# stream_execution_environment.py, _open).
PYTHON_WORKER_MODE = "_python_worker_execution_mode"


class FlinkJobError(DetectorError):
    """The Flink job failed or could not be started."""


@dataclass
class Summary:
    job_id: str = ""
    status: str = ""
    checkpoints: dict[str, Any] = field(default_factory=dict)
    savepoint: str | None = None
    restored_from: str | None = None
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


def connector_jar() -> Path:
    return _jar(CONNECTOR)


def order_jar() -> Path:
    """The job's Java classes, built by scripts/flink-setup under their source's hash."""
    sources = sorted((ROOT / "detector" / "flink" / "java" / "kvt" / "flink").glob("*.java"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    return _jar(f"kvt-flink-order-{digest[:12]}.jar")


def _jar(name: str) -> Path:
    jar = JAR_DIR / name
    if not jar.exists():
        raise FlinkJobError(f"{jar} is missing: run scripts/flink-setup")
    return jar


def latest_restore_point(checkpoints_uri: str) -> str | None:
    """The newest completed checkpoint or savepoint (one with `_metadata`) under a local
    checkpoint directory; None for a first start or a remote store."""
    url = urlparse(checkpoints_uri)
    if url.scheme not in ("", "file"):
        return None
    root = Path(url.path)
    found = [*root.glob("checkpoints/*/chk-*/_metadata"), *root.glob("savepoints/*/_metadata")]
    if not found:
        return None
    return max(found, key=lambda p: p.stat().st_mtime).parent.as_uri()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rest(port: int, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
        return json.loads(resp.read())


def _checkpoint_stats(raw: dict[str, Any]) -> dict[str, Any]:
    latest = (raw.get("latest") or {}).get("completed") or {}
    summary = raw.get("summary") or {}
    return {
        "completed": raw.get("counts", {}).get("completed", 0),
        "failed": raw.get("counts", {}).get("failed", 0),
        "restored": raw.get("counts", {}).get("restored", 0),
        "last_size_bytes": latest.get("checkpointed_size", latest.get("state_size")),
        "last_full_size_bytes": latest.get("state_size"),
        "last_duration_ms": latest.get("end_to_end_duration"),
        "duration_ms": summary.get("end_to_end_duration"),
    }


def run(
    settings: Settings,
    *,
    parallelism: int | None = None,
    bounded: bool = False,
    fresh: bool = False,
    restore_from: str | None = None,
    drain: bool = False,
    stop: threading.Event | None = None,
) -> Summary:
    """Run the job until it finishes (bounded), fails, or `stop` / a signal asks for a
    savepoint-and-stop; with `drain`, every waiting event is scored first (end of stream)."""
    from db.engine import make_engine, session_factory
    from db.migrate import upgrade
    from detector.flink.job import JobOptions, build

    if settings.embedded:
        raise FlinkJobError("no broker configured: set KVT_KAFKA_BOOTSTRAP")
    t0 = time.monotonic()
    ensure_topics(settings)
    topic = ruleset_topic(settings)
    ensure_ruleset_topic(settings, topic)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    bridge = RulesetBridge(settings, session_factory(engine), topic)
    bridge.poll(force=True)

    restore = restore_from or (None if fresh else latest_restore_point(settings.flink_checkpoints))
    port = _free_port()
    log_dir = settings.data_dir / "flink" / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    # The gateway JVM and the Python workers it starts inherit these: the workers import the
    # project's packages and read the same KVT_ settings as this process.
    os.environ.setdefault("FLINK_LOG_DIR", str(log_dir))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    # On a mini-cluster PyFlink runs the Python workers as threads of this process
    # ("loopback"): every subtask would share its one GIL, and a worker could not fail alone.
    # Own processes, as on a cluster: parallelism 2 uses two cores, and a dead worker is a
    # task failure that restores from the latest checkpoint (the failure tests kill them).
    os.environ.setdefault(PYTHON_WORKER_MODE, "process")
    opts = JobOptions(
        parallelism=parallelism or settings.flink_parallelism,
        bounded=bounded,
        restore_from=restore,
        rest_port=port,
        python=sys.executable,
        connector_jar=str(connector_jar()),
        order_jar=str(order_jar()),
    )
    if restore:
        log.info("restoring from %s", restore)
    client = build(settings, opts).execute_async("kvt-fraud-detector")
    job_id = str(client.get_job_id())
    summary = Summary(job_id=job_id, restored_from=restore)
    stop = stop or threading.Event()
    _on_signals(stop)
    # stderr, not the logger: PyFlink's start-up leaves this process's logging unreliable.
    print(f"job {job_id} running (REST on 127.0.0.1:{port}, parallelism {opts.parallelism})",
          file=sys.stderr, flush=True)  # fmt: skip
    done = client.get_job_execution_result()
    while not done.done():
        # The REST endpoint starts with the job, and stops with it.
        with contextlib.suppress(OSError):
            summary.checkpoints = _checkpoint_stats(_rest(port, f"/jobs/{job_id}/checkpoints"))
        if stop.is_set():
            savepoint_dir = settings.flink_checkpoints.rstrip("/") + "/savepoints"
            summary.savepoint = _stop_with_savepoint(client, drain, savepoint_dir)
            break
        bridge.poll()
        time.sleep(0.25)
    try:
        done.result()
        summary.status = "STOPPED_WITH_SAVEPOINT" if summary.savepoint else "FINISHED"
    except Exception as exc:  # py4j carries the job's failure as a Java exception
        summary.status = "FAILED"
        raise FlinkJobError(f"job {job_id} failed ({_first_line(exc)}); see {log_dir}") from None
    summary.seconds = round(time.monotonic() - t0, 2)
    return summary


def _stop_with_savepoint(client: Any, drain: bool, directory: str) -> str:
    """JobClient.stop_with_savepoint of PyFlink 2.2 calls a Java overload that no longer
    exists; the current one takes the savepoint format too."""
    from pyflink.java_gateway import get_gateway

    canonical = get_gateway().jvm.org.apache.flink.core.execution.SavepointFormatType.CANONICAL
    return str(client._j_job_client.stopWithSavepoint(drain, directory, canonical).get())


def bridge_forever(settings: Settings, stop: threading.Event | None = None) -> None:
    """Announce rule-set changes to a job running on a cluster (`flink run`), until stopped."""
    from db.engine import make_engine, session_factory

    topic = ruleset_topic(settings)
    ensure_ruleset_topic(settings, topic)
    bridge = RulesetBridge(settings, session_factory(make_engine(settings.db_url)), topic)
    stop = stop or threading.Event()
    _on_signals(stop)
    while not stop.wait(0.25):
        bridge.poll()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _on_signals(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
