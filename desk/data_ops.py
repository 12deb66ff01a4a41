"""The dataset studio's actions, for signed-in rule owners and admins only, each audited.

:mod:`desk.studio` does the file and database work and knows nothing of people; the page
calls these functions, which check :data:`~desk.auth.Permission.MANAGE_DATA` against the
database first and write what was done to the audit trail.  Reading (listing, previewing,
downloading a dataset) needs no more than the page's own permission check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from data_gen.params import GenParams
from db import audit as trail
from db.loader import LoadProgress, LoadReport
from desk import datasets, studio
from desk.auth import Permission, Principal, authorize
from desk.handle import Handle
from desk.runtime import Runtime
from detector.runner import replay_group


def _allowed(rt: Handle, who: Principal | None, target: str) -> Principal:
    return authorize(rt, who, Permission.MANAGE_DATA, target)


def _done(rt: Handle, me: Principal, what: str, target: str, **detail: Any) -> None:
    with rt.sessions() as session:
        trail.record(
            session,
            trail.Entry(me.username, trail.DATA_CHANGE, trail.OK, target, me.role,
                        {"what": what, **detail}),
        )  # fmt: skip
        session.commit()


def generate(
    rt: Runtime,
    who: Principal | None,
    root: Path,
    name: str,
    params: GenParams,
    progress: studio.Progress | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    me = _allowed(rt, who, name)
    out = studio.generate_dataset(root, name, params, progress, overwrite=overwrite)
    _done(rt, me, "generate", out.name, seed=params.seed, scale=params.scale,
          overwrite=overwrite)  # fmt: skip
    return out


def import_directory(
    rt: Runtime, who: Principal | None, src: str | Path, root: Path, name: str | None = None
) -> studio.ImportResult:
    me = _allowed(rt, who, str(name or src))
    res = studio.import_directory(src, root, name)
    _done(rt, me, "import directory", res.path.name, source=str(src),
          layout=res.layout, payments=res.payments)  # fmt: skip
    return res


def import_zip(
    rt: Runtime,
    who: Principal | None,
    upload: bytes | IO[bytes],
    root: Path,
    name: str,
    **limits: int,
) -> studio.ImportResult:
    me = _allowed(rt, who, name)
    res = studio.import_zip(upload, root, name, **limits)
    _done(rt, me, "import zip", res.path.name, layout=res.layout,
          payments=res.payments)  # fmt: skip
    return res


def load(
    rt: Runtime,
    who: Principal | None,
    path: Path,
    progress: Callable[[LoadProgress], None] | None = None,
) -> LoadReport:
    me = _allowed(rt, who, path.name)
    report = studio.load_into_db(rt.engine, path, progress)
    _done(rt, me, "load", path.name, rows=report.rows, inserted=report.inserted)
    return report


def replay(
    rt: Runtime,
    who: Principal | None,
    path: Path,
    speed: float | None,
    *,
    clear: Sequence[str] = (),
) -> int:
    """Embedded mode: score the dataset through the detector service (replaces a replay).

    ``clear``: datasets whose alerts go first (the studio asks, see
    :func:`desk.datasets.replay_plan`); returns how many alerts were cleared.  Customer
    states written by another dataset's replay are forgotten before this one starts."""
    me = _allowed(rt, who, path.name)
    rt.stop()  # nothing writes alerts or states while they are cleared
    with rt.sessions() as session, session.begin():
        cleared = datasets.clear_alerts(session, clear)
        reset = rt.settings.embedded and datasets.switch_replay_state(session, replay_group(path))
    rt.start_replay(path, speed)
    _done(rt, me, "replay", path.name, speed=speed, cleared=list(clear),
          alerts_cleared=cleared, state_reset=reset)  # fmt: skip
    return cleared


def stream(rt: Runtime, who: Principal | None, path: Path, speed: float | None) -> studio.StreamJob:
    me = _allowed(rt, who, path.name)
    job = studio.start_stream(rt, path, speed)
    _done(rt, me, "stream", path.name, speed=speed)
    return job


def stop_stream(rt: Runtime, who: Principal | None) -> None:
    job = studio.current_stream(rt)
    if job is None:
        return
    me = _allowed(rt, who, job.dataset.name)
    job.stop()
    _done(rt, me, "stop stream", job.dataset.name)
