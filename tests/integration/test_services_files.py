"""What ``scripts/services`` leaves on disk (issue 15, finding 8): the env files with the
database passwords are 0600, Kafka's and PostgreSQL's data directories are not readable by
other users, and the PostgreSQL passwords are generated per install (not constants in the
script), kept in the env file and read back from it by later runs.  Reads only: safe on the
shared services."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.integration.conftest import ROOT, SERVICES_DIR, SERVICES_SCRIPT

pytestmark = pytest.mark.integration


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_env_files_and_data_directories_are_private(pg_url: str) -> None:
    for name in ("env", "stack.env"):
        assert _mode(SERVICES_DIR / name) == 0o600, name
    data_dirs = [SERVICES_DIR / "kafka", *sorted((SERVICES_DIR / "kafka").glob("node-*/data"))]
    data_dirs.append((SERVICES_DIR / "pg").resolve() / "data")
    assert len(data_dirs) >= 3
    for d in data_dirs:
        assert _mode(d) & 0o077 == 0, f"{d} is {oct(_mode(d))}"


def test_the_passwords_are_generated_kept_and_read_back(pg_url: str, pg_app_url: str) -> None:
    script = SERVICES_SCRIPT.read_text()
    assert not re.search(r"PASS(WORD)?=['\"]?kvt", script), "a constant password in the script"
    owner, app = make_url(pg_url), make_url(pg_app_url)
    assert owner.username == "kvt" and app.username == "kvt_app"
    for url in (owner, app):
        assert url.password and len(url.password) >= 32 and url.password != url.username
    assert owner.password != app.password
    env = (SERVICES_DIR / "env").read_text()
    assert f"KVT_SERVICES_PG_OWNER_PASSWORD='{owner.password}'" in env
    # A later run prints the same passwords: they come back from the env file.
    printed = subprocess.run(
        ["bash", str(SERVICES_SCRIPT), "env"], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "KVT_SERVICES_DIR": str(SERVICES_DIR)}, check=True,
    ).stdout  # fmt: skip
    assert f"KVT_SERVICES_PG_APP_PASSWORD='{app.password}'" in printed
    # And they are the ones the server knows: the old constant no longer opens it.
    wrong = owner.set(password="kvt").render_as_string(hide_password=False)
    engine = sa.create_engine(wrong, poolclass=sa.pool.NullPool)
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        engine.connect().close()
    engine.dispose()
