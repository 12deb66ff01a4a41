"""The studio's actions are for rule owners and admins, and each one is audited."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from data_gen.params import GenParams
from db import audit as trail
from desk import auth, data_ops, studio
from desk.auth import Principal
from desk.runtime import Runtime
from detector.common.settings import Settings
from tests.unit.db.builders import signed_in
from tests.unit.desk.zips import zip_of

TINY = GenParams(scale=0.02, seed=5)


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.create(replace(Settings(), data_dir=tmp_path))
    yield runtime
    runtime.stop()
    runtime.engine.dispose()


@pytest.fixture
def root(rt: Runtime) -> Path:
    return studio.datasets_root(rt.settings.data_dir)


def _zip(path: Path) -> bytes:
    return studio.zip_dataset(path)


Action = Callable[[Runtime, Principal | None, Path], object]


def _actions(root: Path) -> dict[str, Action]:
    return {
        "generate": lambda rt, who, _p: data_ops.generate(rt, who, root, "gen", TINY),
        "import_directory": lambda rt, who, p: data_ops.import_directory(rt, who, p, root, "dir"),
        "import_zip": lambda rt, who, p: data_ops.import_zip(rt, who, _zip(p), root, "zipped"),
        "load": lambda rt, who, p: data_ops.load(rt, who, p),
        "replay": lambda rt, who, p: data_ops.replay(rt, who, p, None),
    }


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_viewers_and_analysts_cannot_change_data(rt: Runtime, root: Path, role: str) -> None:
    owner = signed_in(rt.sessions, "owner", "rule_owner")
    existing = data_ops.generate(rt, owner, root, "base", TINY)
    who = signed_in(rt.sessions, role, role)
    for name, action in _actions(root).items():
        with pytest.raises(auth.Forbidden, match="may not generate"):
            action(rt, who, existing)
        assert not (root / "gen").exists() and not (root / "dir").exists(), name
    with pytest.raises(auth.NotSignedIn):
        data_ops.generate(rt, None, root, "gen", TINY)
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == ["base"]


def test_a_rule_owner_changes_data_and_each_change_is_audited(rt: Runtime, root: Path) -> None:
    owner = signed_in(rt.sessions, "owner", "rule_owner")
    existing = data_ops.generate(rt, owner, root, "base", TINY)
    for action in _actions(root).values():
        action(rt, owner, existing)
    rt.stop()
    with rt.sessions() as s:
        events = trail.list_events(s, trail.AuditFilters(action=trail.DATA_CHANGE))
    done = [(e.actor, e.detail["what"], e.target) for e in reversed(events)]
    assert done == [
        ("owner", "generate", "base"),
        ("owner", "generate", "gen"),
        ("owner", "import directory", "dir"),
        ("owner", "import zip", "zipped"),
        ("owner", "load", "base"),
        ("owner", "replay", "base"),
    ]


def test_a_refused_upload_is_not_extracted(rt: Runtime, root: Path) -> None:
    viewer = signed_in(rt.sessions, "vera", "viewer")
    with pytest.raises(auth.Forbidden):
        data_ops.import_zip(rt, viewer, zip_of({"../../evil.txt": "x"}), root, "evil")
    assert not (root / "evil").exists()
