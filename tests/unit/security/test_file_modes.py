"""Files readable by their owner only (issue 15, finding 8): the data directory is 0700, the
SQLite database (password hashes) and the cookie key 0600, from the first start on and for an
install made before (its modes are tightened)."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

from desk import auth
from desk.runtime import Runtime
from detector.common.private import private_dir, private_file
from detector.common.settings import Settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_data_directory_and_its_database_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rt = Runtime.create(replace(Settings(), data_dir=data))
    try:
        assert not auth.any_user(rt)  # the database was opened and read
    finally:
        rt.stop()
        rt.engine.dispose()
    assert _mode(data) == 0o700
    db_files = sorted(data.glob("kvt.db*"))
    assert db_files and {p.name: _mode(p) for p in db_files} == {p.name: 0o600 for p in db_files}
    key = auth.cookie_secret("", data)
    assert len(key) >= 32 and _mode(data / "session.key") == 0o600
    assert auth.cookie_secret("", data) == key  # made once, then read


def test_an_existing_install_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    db = data / "kvt.db"
    db.write_bytes(b"")
    db.chmod(0o644)
    private_dir(data)
    private_file(db)
    assert _mode(data) == 0o700 and _mode(db) == 0o600
