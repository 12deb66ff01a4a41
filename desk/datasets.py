"""Datasets as a dimension of the alerts: which datasets produced alerts, which one a page
shows by default, and what replaying a dataset over another one keeps or clears.

Every alert names its dataset (``fraud_alerts.dataset``): a replayed dataset's name, ``live``
for the Kafka topics, ``?`` for alerts written before alerts named one.  The queue, insights
and pipeline pages show one dataset at a time, so two replays never blend into one queue or
one alert rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session

from data_gen.readers import read_dataset
from db import alerts, detector_store
from db.models import LIVE_DATASET, UNATTRIBUTED_DATASET
from desk.runtime import Runtime
from desk.studio import DATASETS_DIR, manifest_counts
from detector.runner import replay_dataset, replay_group

__all__ = [
    "LIVE_DATASET",
    "UNATTRIBUTED_DATASET",
    "AlertDataset",
    "DatasetView",
    "ReplayPlan",
    "alert_datasets",
    "clear_alerts",
    "dataset_dir",
    "dataset_of",
    "dataset_view",
    "default_dataset",
    "load_alert_datasets",
    "page_default",
    "payments_of",
    "payments_scored",
    "replay_plan",
    "replaying",
    "scored_here",
    "switch_replay_state",
]


@dataclass(frozen=True)
class AlertDataset:
    name: str
    alerts: int
    last_alert_at: datetime | None  # when its newest alert was written

    @property
    def live(self) -> bool:
        return self.name == LIVE_DATASET


def alert_datasets(session: Session) -> tuple[AlertDataset, ...]:
    """Every dataset that has alerts, the live stream first, then the most recently scored."""
    out = [AlertDataset(name, n, at) for name, n, at in alerts.count_by_dataset(session)]
    return tuple(sorted(out, key=_recency))


def _recency(d: AlertDataset) -> tuple[int, float, str]:
    at = d.last_alert_at.timestamp() if d.last_alert_at is not None else 0.0
    return (0 if d.live else 1, -at, d.name)


def default_dataset(datasets: Sequence[AlertDataset], replaying: str | None = None) -> str | None:
    """What a page shows first: the live stream when it has alerts, else the dataset being
    replayed, else the most recently scored one; None when no alert exists."""
    names = [d.name for d in datasets]
    if LIVE_DATASET in names:
        return LIVE_DATASET
    if replaying is not None and replaying in names:
        return replaying
    return names[0] if names else None


def dataset_of(rt: Runtime, alert_id: str) -> str | None:
    """The dataset of one alert; None when there is no such alert."""
    with rt.sessions() as session:
        return alerts.dataset_of(session, alert_id)


def load_alert_datasets(rt: Runtime) -> tuple[AlertDataset, ...]:
    with rt.sessions() as session:
        return alert_datasets(session)


def replaying(rt: Runtime) -> str | None:
    """The dataset the embedded detector replays (or last replayed), if any."""
    return replay_dataset(rt.replay_dir) if rt.replay_dir is not None else None


def dataset_dir(rt: Runtime, name: str | None) -> Path | None:
    """Where the files of the dataset ``name`` are: the replay's own directory, else the
    studio's dataset of that name; None for the live stream or a dataset no longer there.
    Alerts written before alerts named their dataset (``?``) get the replay's, as before."""
    if name == UNATTRIBUTED_DATASET or (name is not None and name == replaying(rt)):
        return rt.replay_dir if rt.replay_dir is not None and rt.replay_dir.is_dir() else None
    if name is None or name == LIVE_DATASET:
        return None
    path = Path(rt.settings.data_dir) / DATASETS_DIR / name
    return path if (path / "payments.csv").is_file() else None


def scored_here(rt: Runtime, name: str) -> bool:
    """Whether this process's detector counters (payments scored) are those of ``name``:
    the replayed dataset in embedded mode, the live stream otherwise."""
    if rt.settings.embedded:
        return name == replaying(rt)
    return name == LIVE_DATASET


def payments_of(rt: Runtime, name: str) -> int | None:
    """How many payments the dataset ``name`` holds, from its files (the manifest's count,
    else its payments file); None for the live stream or a dataset whose files are gone."""
    path = dataset_dir(rt, name)
    if path is None:
        return None
    return dataset_payments(path)


def payments_scored(rt: Runtime, name: str) -> int | None:
    """The alert rate's denominator for a replayed dataset: the payments its replay has
    committed (its stored offset on the payments topic: exact, and it survives a restart,
    where the detector's counters add up every replay of the process); its file's count
    when that offset is gone (another dataset's replay came since); None for the live
    stream or a dataset whose files are gone."""
    path = dataset_dir(rt, name)
    if path is None:
        return None
    with rt.sessions() as session:
        done = detector_store.load_offsets(session, replay_group(path)).get(
            (rt.settings.topics.payments, 0)
        )
    return int(done) if done is not None else dataset_payments(path)


def dataset_payments(path: Path) -> int:
    """The manifest's count, else the payments file's, read once per version of the file
    (the pipeline page asks every two seconds)."""
    counted = manifest_counts(path)[0]
    if counted is not None:
        return counted
    st = (path / "payments.csv").stat()
    return _payments_in(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=16)
def _payments_in(path: str, size: int, mtime_ns: int) -> int:
    return len(read_dataset(path).payments)


@dataclass(frozen=True)
class DatasetView:
    """One dataset's alerts for the pipeline page, and whether the detector scores it now."""

    name: str
    alerts: int
    high: int
    pending: int
    last_alert_at: datetime | None
    scored_now: bool
    payments: int | None  # in its files; None for the live stream


def dataset_view(rt: Runtime, name: str) -> DatasetView:
    with rt.sessions() as session:
        groups = alerts.count_groups(session, name)
        last = alerts.last_alert_at(session, name)
    return DatasetView(
        name=name,
        alerts=sum(g[4] for g in groups),
        high=sum(g[4] for g in groups if g[1] == "HIGH"),
        pending=sum(g[4] for g in groups if g[0] == "PENDING_REVIEW"),
        last_alert_at=last,
        scored_now=scored_here(rt, name),
        payments=payments_of(rt, name),
    )


def page_default(rt: Runtime, datasets: Sequence[AlertDataset]) -> str | None:
    return default_dataset(datasets, replaying(rt))


# --------------------------------------------------------------------------- replay over another


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay of ``dataset`` finds: alerts of other datasets (the user keeps or
    clears them) and how many of those carry a decision (kept even when clearing)."""

    dataset: str
    others: tuple[AlertDataset, ...]
    decided: int

    @property
    def asks(self) -> bool:
        return bool(self.others)


def replay_plan(rt: Runtime, dataset: str) -> ReplayPlan:
    with rt.sessions() as session:
        others = tuple(d for d in alert_datasets(session) if d.name != dataset)
        decided = alerts.count_decided_in(session, [d.name for d in others]) if others else 0
    return ReplayPlan(dataset, others, decided)


def clear_alerts(session: Session, names: Sequence[str]) -> int:
    """Delete the alerts of ``names`` that nobody acted on, with their reasons, in the
    caller's transaction; returns how many went.  An alert with a decision (or a lost
    decision race) stays: decisions are never erased.  The live stream's alerts are never
    cleared this way."""
    return alerts.delete_dataset_alerts(session, [d for d in names if d != LIVE_DATASET])


def switch_replay_state(session: Session, group_id: str) -> bool:
    """Before a replay of the dataset whose offsets are kept under ``group_id``: when another
    replay stored offsets, the customer states hold that dataset's payments, and a customer
    of the same id in this dataset must not be scored against them.  Then every replay's
    states and offsets are forgotten (True), and this replay starts from its beginning:
    the alerts it wrote before are found again and left as they are.  Embedded mode only:
    there, replays are the only writers of states."""
    return detector_store.forget_replays_unless(session, group_id)
