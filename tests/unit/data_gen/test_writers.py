from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from data_gen import writers
from data_gen.writers import FileSink, Runs, csv_text


def _key(t: str, i: int) -> str:
    return f"{t}{i:03d}"


def test_runs_merge_into_global_key_order_and_drop_keys(tmp_path: Path) -> None:
    runs = Runs(tmp_path, "ev", key_width=4)
    runs.add([_key("1", 5) + "a\n", _key("3", 1) + "b\n", _key("3", 7) + "c\n"])
    runs.add([_key("2", 9) + "d\n", _key("3", 2) + "e\n"])
    runs.add([])  # an empty chunk adds no run
    sink = FileSink(tmp_path / "out.txt")
    seen: list[tuple[int, int]] = []
    runs.merge_into(sink, lambda done, total: seen.append((done, total)))
    info = sink.close()
    data = (tmp_path / "out.txt").read_bytes()
    assert data == b"a\nd\nb\ne\nc\n"
    assert info.rows == 5 and info.bytes == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert seen[-1] == (5, 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # runs deleted


def test_many_runs_merge_in_levels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writers, "_MERGE_FAN_IN", 3)
    runs = Runs(tmp_path, "p", key_width=6)
    expected = []
    for r in range(10):  # 10 runs, fan-in 3: two intermediate levels
        lines = [f"{t:06d}r{r}t{t}\n" for t in range(r, 60, 10)]
        runs.add(lines)
        expected += lines
    sink = FileSink(tmp_path / "out.txt")
    runs.merge_into(sink)
    sink.close()
    expected.sort()
    assert (tmp_path / "out.txt").read_text() == "".join(line[6:] for line in expected)
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_no_runs_leaves_only_the_header(tmp_path: Path) -> None:
    sink = writers.csv_sink(tmp_path / "x.csv", ("a", "b"))
    Runs(tmp_path, "x", key_width=1).merge_into(sink)
    info = sink.close()
    assert (tmp_path / "x.csv").read_text() == "a,b\n" and info.rows == 0


def test_csv_text_quotes_only_when_needed() -> None:
    assert csv_text([("P0001", "Cable, 2 m", 4.99)]) == 'P0001,"Cable, 2 m",4.99\n'
