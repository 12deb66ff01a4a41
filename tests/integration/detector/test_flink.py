"""The Flink job (detector.flink) against real Kafka and PostgreSQL, on a local mini-cluster.

The reference is the backtest path (`expected`, the engine over the dataset's events): the
job's alerts in PostgreSQL and the committed ones on fraud-alerts must equal it exactly.
Each run reads the topics up to their end (`--until-caught-up`), so it finishes on its own.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson
import pytest
import sqlalchemy as sa
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from data_gen.feed import dataset_events
from data_gen.readers import read_dataset
from data_gen.stream import producer_config, stream_messages
from data_gen.wire_format import format_ts, parse_ts_ms
from db.detector_store import alert_id_for
from db.models import Alert, DeadLetter
from db.rulesets import publish_ruleset
from detector.common.datasets import DATASET_HEADER
from detector.engine import Detector, Verdict
from detector.rules import RULE_IDS, default_ruleset
from tests.integration.detector.conftest import ROOT, Expected, Pipeline
from tests.integration.detector.malformed import junk_messages

pytestmark = pytest.mark.integration

FLINK_PYTHON = ROOT / ".venv-flink" / "bin" / "python"
JOB_TIMEOUT_S = 900  # a job starts in 30-100 s on a busy 2-core machine
STOP_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def verdicts(dataset: Path) -> dict[str, Verdict]:
    """Every payment's verdict on the backtest path, by payment id."""
    det = Detector(default_ruleset())
    return {v.payment_id: v for v in det.process_all(dataset_events(read_dataset(dataset)))}


@pytest.fixture
def flink(make_pipeline, kafka_bootstrap: str):
    """A pipeline (own schema and topics) and a runner of the job against it."""
    assert FLINK_PYTHON.exists(), "the Flink environment is missing: run scripts/flink-setup"
    made: list[Pipeline] = []

    def make() -> Pipeline:
        p = make_pipeline()
        made.append(p)
        return p

    yield make
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for p in made:
        for f in admin.delete_topics([f"{p.settings.topic_prefix}rulesets"]).values():
            with contextlib.suppress(Exception):
                f.result()


def job_env(p: Pipeline, **env: str) -> dict[str, str]:
    return {
        **p.env,
        "KVT_DATA_DIR": str(p.log_dir),
        "KVT_FLINK_CHECKPOINT_INTERVAL_S": "0.5",
        "KVT_FLINK_IDLE_TIMEOUT_MS": "0",
        **env,
    }


def start_job(p: Pipeline, *args: str, **env: str) -> subprocess.Popen[bytes]:
    """`python -m detector flink ARGS` in .venv-flink; stdout is its summary line."""
    log = open(p.log_dir / f"flink-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [str(FLINK_PYTHON), "-m", "detector.flink", *args],
        cwd=ROOT,
        env=job_env(p, **env),
        stdout=subprocess.PIPE,
        stderr=log,
    )


def summary_of(p: Pipeline, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=JOB_TIMEOUT_S)
    # The summary is the last JSON line (the JVM may print after it as it shuts down).
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, f"job exited {proc.returncode}:\n{out!r}\n" + logs(p)
    return orjson.loads(lines[-1])


def logs(p: Pipeline) -> str:
    return "\n".join(
        f.read_text(errors="replace")[-4000:] for f in sorted(p.log_dir.glob("flink-*.log"))
    )


def newest_log(p: Pipeline) -> str:
    return max(p.log_dir.glob("flink-*.log")).read_text(errors="replace")


def run_job(p: Pipeline, *args: str, **env: str) -> dict[str, Any]:
    """The job over everything on the topics now (`--until-caught-up`): its summary."""
    return summary_of(p, start_job(p, "--until-caught-up", *args, **env))


def stored_alerts(p: Pipeline) -> dict[str, tuple[Any, ...]]:
    with p.sessions() as s:
        rows = s.execute(
            sa.select(
                Alert.payment_id, Alert.score, Alert.severity, Alert.ruleset_version, Alert.reasons
            )
        ).all()
    return {pid: (score, sev, rs, explain(reasons)) for pid, score, sev, rs, reasons in rows}


def explain(reasons: list[dict[str, Any]]) -> tuple[tuple[str, int, str], ...]:
    return tuple((r["rule_id"], r["points"], r["detail_en"]) for r in reasons)


def expected_alerts(verdicts: dict[str, Verdict], version: str = "1") -> dict[str, tuple]:
    return {
        v.payment_id: (v.score, v.severity, version, explain([r.to_dict() for r in v.reasons]))
        for v in verdicts.values()
        if v.is_alert
    }


def read_committed(p: Pipeline, topic: str) -> list[Any]:
    """Every committed message of `topic` (a reader in read_committed isolation)."""
    c = Consumer(
        {
            "bootstrap.servers": p.settings.kafka_bootstrap,
            "group.id": f"check-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    c.assign([TopicPartition(topic, n, 0) for n in parts])
    out, eof = [], set()
    deadline = time.monotonic() + 30
    while len(eof) < len(parts) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error() is None:
            out.append(m)
        elif m.error().code() == -191:  # _PARTITION_EOF: read to the last stable offset
            eof.add(m.partition())
    c.close()
    assert len(eof) == len(parts), f"{topic}: not read to its end"
    return out


def assert_topic_equals(p: Pipeline, want: dict[str, tuple]) -> None:
    msgs = read_committed(p, p.settings.topics.alerts)
    bodies = [orjson.loads(m.value()) for m in msgs]
    assert len(bodies) == len(want)  # exactly once: no alert repeated
    got = {
        b["payment_id"]: (b["score"], b["severity"], b["ruleset_version"], explain(b["reasons"]))
        for b in bodies
    }
    assert got == want
    assert all(m.key().decode() == orjson.loads(m.value())["customer_id"] for m in msgs)


def future_messages(p: Pipeline, expected: Expected) -> list[tuple[str, bytes, str]]:
    """Implausibly future-dated input, sent first to user-events partition 0 (a page view
    dated 2099: nothing seen there yet, only the wall clock betrays it), then after the junk,
    whose payments set their partition's event time (a payment dated 2099, and one 30 days
    ahead of that time: still in the past, only the partition's time betrays it)."""
    t = p.settings.topics
    good = orjson.loads(next(m.value for m in expected.messages if m.kind == "payments"))
    later = format_ts(parse_ts_ms(good["attempt_ts"]) + 30 * 86_400_000)
    view = {"event_id": "EFUT1", "customer_id": good["customer_id"], "session_id": "SFUT1",
            "event_type": "page_view", "event_timestamp": "2099-12-31T00:00:00Z"}  # fmt: skip
    return [
        (t.user_events, orjson.dumps(view), "future_timestamp"),
        (t.payments, orjson.dumps({**good, "payment_id": "PFUT1",
                                   "attempt_ts": "2099-12-31T00:00:00Z"}), "future_timestamp"),
        (t.payments, orjson.dumps({**good, "payment_id": "PFUT2", "attempt_ts": later}),
         "future_timestamp"),
    ]  # fmt: skip


@pytest.mark.parametrize("parallelism", [1, 2])
def test_streaming_equals_batch(flink, expected: Expected, verdicts, parallelism: int) -> None:
    p = flink()
    junk: list[tuple[str, bytes, str]] = []
    if parallelism == 2:
        clock, *ahead = future_messages(p, expected)
        junk = [clock, *junk_messages(p.settings.topics, expected), *ahead]
    prod = Producer({"bootstrap.servers": p.settings.kafka_bootstrap})
    for n, (topic, value, _) in enumerate(junk):
        # The first alone on its partition so far (future_messages).
        prod.produce(topic, key=b"C000001", value=value, **({"partition": 0} if n == 0 else {}))
    prod.flush(10)
    stream_messages(expected.messages, p.settings)

    summary = run_job(p, "--parallelism", str(parallelism))

    assert summary["status"] == "FINISHED"
    want = expected_alerts(verdicts)
    assert len(want) > 20
    assert stored_alerts(p) == want
    assert_topic_equals(p, want)
    assert summary["checkpoints"]["completed"] >= 1
    # Malformed input: dead-lettered with the codec's reason, in PostgreSQL and on the topic.
    with p.sessions() as s:
        stored = sorted(s.scalars(sa.select(DeadLetter.reason)))
    assert stored == sorted(r for _, _, r in junk)
    dead = read_committed(p, p.settings.topics.dead_letter)
    headers = [{k: v.decode() for k, v in m.headers()} for m in dead]
    assert sorted(h["reason"] for h in headers) == sorted(r for _, _, r in junk)
    topics = (p.settings.topics.payments, p.settings.topics.user_events)
    assert all(h["source_topic"] in topics and int(h["source_offset"]) >= 0 for h in headers)
    assert [m.key() for m in dead] == [b"C000001"] * len(junk)  # the original key, kept
    if parallelism == 2:
        with p.sessions() as s:
            details = sorted(
                s.scalars(
                    sa.select(DeadLetter.detail).where(DeadLetter.reason == "future_timestamp")
                )
            )
        assert len(details) == 3
        assert sum("1 hour(s) ahead of the wall clock" in d for d in details) == 1
        assert sum("7 day(s) ahead of partition" in d for d in details) == 2


def python_workers(p: Pipeline) -> set[int]:
    """The job's Python workers (PyFlink's Beam worker processes, where the engine runs), told
    apart from other jobs' by the topic prefix in their environment."""
    found = set()
    mine = f"KVT_TOPIC_PREFIX={p.settings.topic_prefix}".encode()
    for proc in Path("/proc").iterdir():
        try:
            if b"pyflink.fn_execution" not in (proc / "cmdline").read_bytes():
                continue
            if mine in (proc / "environ").read_bytes().split(b"\0"):
                found.add(int(proc.name))
        except (OSError, ValueError):  # gone meanwhile, or not a process
            continue
    return found


def checkpoint_counts(port: int, job_id: str) -> dict[str, int]:
    """The job's checkpoint counters (completed, restored, ...) from the mini-cluster's REST."""
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/jobs/{job_id}/checkpoints", timeout=5
        ) as resp:
            return orjson.loads(resp.read())["counts"]
    except OSError:
        return {}


def input_read(p: Pipeline) -> bool:
    """Whether the job's source has committed every input message: it commits its offsets
    when a checkpoint that holds them completes."""
    c = Consumer({"bootstrap.servers": p.settings.kafka_bootstrap,
                  "group.id": f"{p.settings.consumer_group}-flink"})  # fmt: skip
    try:
        tps = [
            TopicPartition(topic, n)
            for topic in (p.settings.topics.payments, p.settings.topics.user_events)
            for n in c.list_topics(topic, timeout=10).topics[topic].partitions
        ]
        ends = [c.get_watermark_offsets(tp, timeout=10)[1] for tp in tps]
        return [tp.offset for tp in c.committed(tps, timeout=10)] == ends
    finally:
        c.close()


def test_killed_python_workers_mid_stream_restore_to_the_clean_result(
    flink, expected: Expected, verdicts
) -> None:
    """A real failure, three times mid-stream: the stream is sent in four parts, and before
    each of the last three the job's Python workers are killed (SIGKILL), once a checkpoint
    has completed since the last restore. In the local mini-cluster the task manager is the
    launcher's JVM, so these processes are what can die apart from the whole job; the next
    part's data finds them dead (a worker with nothing to do is not missed), the tasks fail
    and Flink restarts them from the latest checkpoint with new workers. After the last part
    the job stops with a drained savepoint; PostgreSQL and the committed fraud-alerts must
    equal the clean run."""
    p = flink()
    job = start_job(p, "--parallelism", "2", "--drain")
    try:
        wait_for("the job", lambda: "running (REST" in newest_log(p), p)
        found = re.search(r"job (\w+) running \(REST on 127\.0\.0\.1:(\d+)", newest_log(p))
        assert found is not None
        job_id, port = found.group(1), int(found.group(2))
        n = len(expected.messages)
        parts = [expected.messages[n * k // 4 : n * (k + 1) // 4] for k in range(4)]
        stream_messages(parts[0], p.settings)
        completed = 0
        for kill, part in enumerate(parts[1:], start=1):
            wait_for(
                f"a checkpoint and workers before kill {kill}",
                lambda done=completed: (
                    checkpoint_counts(port, job_id).get("completed", 0) > done and python_workers(p)
                ),
                p,
            )
            workers = python_workers(p)
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
            stream_messages(part, p.settings)
            wait_for(
                f"the restore after kill {kill}",
                lambda kill=kill: checkpoint_counts(port, job_id).get("restored", 0) >= kill,
                p,
            )
            completed = checkpoint_counts(port, job_id)["completed"]
            assert not workers & python_workers(p)  # new workers, the killed ones stay dead
        wait_for("the job to read every input message", lambda: input_read(p), p)
        job.send_signal(signal.SIGTERM)
        summary = summary_of(p, job)
    finally:
        if job.poll() is None:  # failed on the way: stop the job too
            job.send_signal(signal.SIGTERM)
            job.wait(STOP_TIMEOUT_S)

    assert summary["status"] == "STOPPED_WITH_SAVEPOINT"
    assert summary["checkpoints"]["restored"] >= 3, summary
    want = expected_alerts(verdicts)
    assert stored_alerts(p) == want
    assert_topic_equals(p, want)  # none lost, none duplicated


def wait_for(what: str, check, p: Pipeline, timeout_s: float = JOB_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n" + logs(p)
        time.sleep(0.5)


def test_a_ruleset_published_mid_stream_scores_later_payments_only(
    flink, expected: Expected, dataset: Path, verdicts
) -> None:
    """First half streamed, job stopped with a savepoint (an upgrade), restarted from it; a
    new rule set is published in the database while it runs, then the second half streams.
    Every payment is scored by exactly one version, v1 before one cut in event order and
    v2 after it, and the cut falls between what was scored before the publish and the
    second half."""
    p = flink()
    rs1 = default_ruleset()
    rs2 = rs1.with_points(
        {rid: cfg.points + 10 for rid, cfg in zip(RULE_IDS, rs1.rules, strict=True)}
    )
    events = dataset_events(read_dataset(dataset))
    v2 = {v.payment_id: v for v in Detector(rs2).process_all(events)}
    payments = [pid for pid in sorted(verdicts, key=lambda i: (verdicts[i].ts_ms, i))]
    half = len(expected.messages) // 2
    cut_ms = expected.messages[half].ts_ms
    settled = {
        pid: a for pid, a in expected_alerts(verdicts).items()
        if verdicts[pid].ts_ms < cut_ms - 86_400_000
    }  # fmt: skip
    assert len(settled) > 10

    first = start_job(p, "--parallelism", "1")
    stream_messages(expected.messages[:half], p.settings)
    wait_for("the first half", lambda: settled.items() <= stored_alerts(p).items(), p)
    first.send_signal(signal.SIGTERM)
    stopped = summary_of(p, first)
    assert stopped["status"] == "STOPPED_WITH_SAVEPOINT" and stopped["savepoint"]
    before = stored_alerts(p)

    second = start_job(p, "--parallelism", "1", "--drain")
    wait_for("the restart", lambda: "running (REST" in newest_log(p), p)
    with p.sessions() as s, s.begin():
        assert publish_ruleset(s, rs2, "tester", "mid-stream") == 2
    announced = f"{p.settings.topic_prefix}rulesets"
    wait_for(
        "the announcement",
        lambda: any(
            orjson.loads(m.value())["version"] == "2" for m in read_committed(p, announced)
        ),
        p,
    )
    time.sleep(3)  # the job reads it before the second half arrives
    stream_messages(expected.messages[half:], p.settings)
    wait_for("v2 alerts", lambda: any(a[2] == "2" for a in stored_alerts(p).values()), p)
    second.send_signal(signal.SIGTERM)
    resumed = summary_of(p, second)
    assert urlparse(resumed["restored_from"]).path == urlparse(stopped["savepoint"]).path

    got = stored_alerts(p)
    assert before.items() <= got.items()  # nothing scored before the publish changed
    want1 = expected_alerts(verdicts, "1")
    want2 = expected_alerts(v2, "2")
    second_half = {pid for pid in payments if verdicts[pid].ts_ms >= cut_ms}
    cuts = [
        k
        for k in range(len(payments) + 1)
        if got
        == {
            **{pid: want1[pid] for pid in payments[:k] if pid in want1},
            **{pid: want2[pid] for pid in payments[k:] if pid in want2},
        }
    ]
    assert cuts, "no single cut in event order explains the versions stored"
    assert all(pid in payments[cuts[0] :] for pid in second_half)
    assert all(pid in payments[: cuts[-1]] for pid in before)
    assert_topic_equals(p, got)


def test_datasets_streamed_together_keep_their_customers_and_name_their_alerts(
    flink, expected: Expected, verdicts
) -> None:
    """The same dataset as the live stream's and as two datasets' (kvt-dataset), message by
    message in event order: same customer and payment ids, same times.  Each copy is scored
    as if alone (one state per customer and dataset: a repeat across datasets is no
    repeat) and its alerts carry the dataset's ids and name, as the service's do."""
    p = flink()
    t = p.settings.topics
    topics = {"user_events": t.user_events, "payments": t.payments}
    names = (None, "shop-a", "shop-b")
    prod = Producer(producer_config(p.settings))
    for m in expected.messages:
        if m.kind not in topics:
            continue
        for name in names:
            headers = [(DATASET_HEADER, name.encode())] if name is not None else None
            prod.produce(topics[m.kind], key=m.key, value=m.value, headers=headers)
        prod.poll(0)
    assert prod.flush(30) == 0

    summary = run_job(p, "--parallelism", "2")

    assert summary["status"] == "FINISHED"
    want = expected_alerts(verdicts)
    with p.sessions() as s:
        rows = s.execute(
            sa.select(Alert.alert_id, Alert.payment_id, Alert.dataset, Alert.score,
                      Alert.severity, Alert.ruleset_version, Alert.reasons)
        ).all()  # fmt: skip
    for name in ("live", "shop-a", "shop-b"):
        got = {
            pid: (score, sev, rs, explain(reasons))
            for aid, pid, d, score, sev, rs, reasons in rows
            if d == name and aid == alert_id_for(pid, name)
        }
        assert got == want, name
    assert len(rows) == 3 * len(want)
    bodies = [orjson.loads(m.value()) for m in read_committed(p, t.alerts)]
    assert sorted((b["alert_id"], b["dataset"]) for b in bodies) == sorted(
        (alert_id_for(pid, d), d) for pid in want for d in ("live", "shop-a", "shop-b")
    )
