"""An outside client: ``python -m api`` as its own process, driven by curl only (score, list,
decide, conflict).  The database is prepared beforehand; every request is curl's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from db import migrate, tokens
from db.engine import make_engine, session_factory
from tests.unit.db.builders import batch, scored, signed_in, write

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'kvt.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    pairs, states = scored(batch(30))
    secrets = {}
    with Session(engine) as s:
        write(s, pairs, states)
        s.commit()
    for name in ("alice", "bob"):
        signed_in(session_factory(engine), name, "analyst")
        with Session(engine) as s:
            secrets[name] = tokens.create_token(s, name, "test").secret
            s.commit()
    engine.dispose()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVT_")}
    env.update(KVT_DATABASE_URL=url, KVT_DATA_DIR=str(tmp_path), KVT_SECRETS_FILE="/nonexistent")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(["curl", "-sf", f"{base}/health"], capture_output=True).returncode:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the API did not start in 30 s"
            time.sleep(0.2)
        yield base, {**secrets, "db_url": url}
    finally:
        proc.terminate()
        proc.wait(10)


def curl(*args: str) -> tuple[int, dict[str, str], object]:
    out = subprocess.run(
        ["curl", "-s", "-i", "--max-time", "10", *args], capture_output=True, check=True
    ).stdout.decode()
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    return status, headers, json.loads(body) if body.strip() else None


def test_score_list_decide_and_conflict_with_curl(server: tuple[str, dict[str, str]]) -> None:
    base, secrets = server
    alice = ["-H", f"Authorization: Bearer {secrets['alice']}"]
    bob = ["-H", f"Authorization: Bearer {secrets['bob']}"]
    payment = {
        "payment_id": "PAY-CURL-1",
        "customer_id": "C2",
        "amount": 75.5,
        "attempt_ts": "2025-11-22T04:00:00Z",
        "result": "failed",
        "device": "mobile",
    }
    status, _, scored_ = curl(*alice, "-H", "Content-Type: application/json",
                              "-d", json.dumps(payment), f"{base}/api/score")  # fmt: skip
    assert status == 200 and isinstance(scored_, dict)
    assert scored_["dry_run"] is True and scored_["score"] >= 50  # failed + mobile at least

    status, _, page = curl(*alice, f"{base}/api/alerts?limit=5&severity=HIGH&severity=MEDIUM")
    assert status == 200 and isinstance(page, dict) and len(page["items"]) == 5
    alert_id = page["items"][0]["alert_id"]
    status, headers, _ = curl(*alice, f"{base}/api/alerts/{alert_id}")
    etag = headers["etag"]
    assert status == 200 and etag == '"1"'

    decide = ["-H", "Content-Type: application/json", "-H", f"If-Match: {etag}",
              f"{base}/api/alerts/{alert_id}/decision"]  # fmt: skip
    status, headers, body = curl(*alice, "-d", '{"action":"block","note":"curl"}', *decide)
    assert status == 200 and headers["etag"] == '"2"'
    assert isinstance(body, dict) and body["status"] == "BLOCKED"
    status, headers, body = curl(*bob, "-d", '{"action":"approve"}', *decide)
    assert status == 409 and headers["content-type"] == "application/problem+json"
    assert isinstance(body, dict) and body["winner"] == "alice"

    status, headers, body = curl(f"{base}/api/alerts")
    assert status == 401 and headers["www-authenticate"].startswith("Bearer")


def test_a_password_set_from_the_command_line_ends_the_accounts_tokens(
    server: tuple[str, dict[str, str]],
) -> None:
    """`python -m db set-password` in another process, then curl with the account's token:
    401, and the other account's token still works."""
    base, secrets = server
    me = ("-H", f"Authorization: Bearer {secrets['alice']}")
    assert curl(*me, f"{base}/api/me")[0] == 200
    subprocess.run(
        [sys.executable, "-m", "db", "set-password", "alice", "--password-stdin",
         "--url", secrets["db_url"]],
        input="a brand new password\n", text=True, cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    status, headers, body = curl(*me, f"{base}/api/me")
    assert status == 401 and headers["www-authenticate"].startswith("Bearer"), body
    bob = ("-H", f"Authorization: Bearer {secrets['bob']}")
    assert curl(*bob, f"{base}/api/me")[0] == 200
