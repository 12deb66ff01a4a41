"""The archiver writes what it polled together: a live rate's small polls are held, not
written one by one (a MongoDB bulk write and a PostgreSQL commit each)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from detector import archiver as archiver_module
from detector.archiver import ARCHIVE_BATCH, Archiver
from detector.common.settings import Settings
from detector.ordering import Record, TopicPartition
from detector.sources import Polled


class _Source:
    """Gives one scripted poll per call; `finished` once the script is used up (a replay)."""

    name = "fake"
    group_id = "g-archive"

    def __init__(self, polls: list[list[Record]], replay: bool = False) -> None:
        self.polls = polls
        self.replay = replay
        self.asked: list[int] = []

    def start(self, lookup: Any, on_assign: Callable[..., None], on_revoke: Any) -> None:
        on_assign({})

    def poll(self, max_records: int, timeout_s: float) -> Polled:
        self.asked.append(max_records)
        return Polled(records=self.polls.pop(0) if self.polls else [])

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        pass

    def lag(self) -> dict[TopicPartition, int]:
        return {}

    def finished(self) -> bool:
        return self.replay and not self.polls

    def close(self) -> None:
        pass


class _Archive:
    def __init__(self) -> None:
        self.writes: list[list[int]] = []

    def archive(self, records: Sequence[Record]) -> int:
        self.writes.append([r.offset for r in records])
        return len(records)


def _clock(monkeypatch: pytest.MonkeyPatch, monotonic: Callable[[], float]) -> None:
    """The archiver's clock only (not the process's)."""
    clock = SimpleNamespace(monotonic=monotonic, time=time.time)
    monkeypatch.setattr(archiver_module, "time", clock)


def _records(topic: str, start: int, n: int, partition: int = 0) -> list[Record]:
    return [Record(topic, partition, o, b"k", b"{}", 0.0) for o in range(start, start + n)]


def _archiver(source: _Source) -> tuple[Archiver, _Archive, list[dict[TopicPartition, int]]]:
    s = replace(Settings(), kafka_bootstrap="127.0.0.1:1")
    archive = _Archive()
    saved: list[dict[TopicPartition, int]] = []
    a = Archiver(s, source, None, archive)  # type: ignore[arg-type]
    a._save = saved.append  # type: ignore[method-assign]
    return a, archive, saved


def test_small_polls_are_held_then_written_together(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    _clock(monkeypatch, lambda: clock[0])
    ev = Settings().topics.user_events
    pay = Settings().topics.payments
    polls = [_records(ev, 0, 3), _records(pay, 0, 1), _records(ev, 3, 2), []]
    a, archive, saved = _archiver(_Source(polls))
    assert [a.step(), a.step()] == [0, 0]  # held: within the linger
    clock[0] += archiver_module.ARCHIVE_LINGER_S / 2
    assert a.step() == 0 and archive.writes == [] and saved == []
    clock[0] += archiver_module.ARCHIVE_LINGER_S / 2  # the first one's linger is over
    assert a.step() == 5
    assert archive.writes == [[0, 1, 2, 3, 4]]  # the behavioural events only, once
    assert saved == [{(ev, 0): 5, (pay, 0): 1}]  # every topic's offsets, after the write
    assert a.step() == 0 and len(archive.writes) == 1  # nothing held: nothing written


def test_a_full_batch_is_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _clock(monkeypatch, lambda: 100.0)
    ev = Settings().topics.user_events
    source = _Source([_records(ev, 0, 10), _records(ev, 10, ARCHIVE_BATCH - 10)])
    a, archive, saved = _archiver(source)
    assert a.step() == 0
    assert a.step() == ARCHIVE_BATCH  # a backlog is not held
    assert [len(w) for w in archive.writes] == [ARCHIVE_BATCH]
    assert source.asked == [ARCHIVE_BATCH, ARCHIVE_BATCH - 10]  # never more than a batch
    assert saved == [{(ev, 0): ARCHIVE_BATCH}]


def test_the_end_of_a_replay_is_written_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    _clock(monkeypatch, lambda: 100.0)
    ev = Settings().topics.user_events
    a, archive, _ = _archiver(_Source([_records(ev, 0, 2), _records(ev, 2, 1)], replay=True))
    assert a.step() == 0
    assert a.step() == 3 and archive.writes == [[0, 1, 2]]


def test_what_is_held_at_a_stop_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    _clock(monkeypatch, lambda: 100.0)
    ev = Settings().topics.user_events
    a, archive, saved = _archiver(_Source([_records(ev, 0, 4)]))
    a.archive.ensure_indexes = lambda: None  # type: ignore[attr-defined]
    a.archive.close = lambda: None  # type: ignore[attr-defined]
    steps = [0]
    original = a.step

    def step_then_stop() -> int:
        steps[0] += 1
        n = original()
        a._stop.set()
        return n

    a.step = step_then_stop  # type: ignore[method-assign]
    a.run()
    assert steps == [1] and archive.writes == [[0, 1, 2, 3]] and saved == [{(ev, 0): 4}]
