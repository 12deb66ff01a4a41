from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_gen.__main__ import main
from data_gen.schema import MANIFEST_FILE


def test_generate_writes_a_dataset_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ds"
    args = ["generate", "--out", str(out), "--seed", "5", "--scale", "0.05"]
    code = main([*args, "--fraud-rate", "0.05", "--start", "2025-12-01", "--days", "20"])
    assert code == 0
    params = json.loads((out / MANIFEST_FILE).read_text())["params"]
    assert params["seed"] == 5 and params["scale"] == 0.05 and params["fraud_rate"] == 0.05
    assert params["start"] == "2025-12-01" and params["days"] == 20
    captured = capsys.readouterr()
    assert f"wrote {out}" in captured.out and "payments" in captured.out
    assert "[100%]" in captured.err  # coarse progress on stderr


def test_mix_option(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    args = ["generate", "--out", str(out), "--scale", "0.05"]
    assert main([*args, "--mix", "card_testing=1, low_signal=1"]) == 0
    mix = json.loads((out / MANIFEST_FILE).read_text())["params"]["mix"]
    assert mix["card_testing"] == 0.5 and mix["account_takeover"] == 0.0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scale", "0"], "invalid scale: must be > 0"),
        (["--fraud-rate", "0.9"], "invalid fraud_rate"),
        (["--days", "0"], "invalid days"),
        (["--start", "2025-13-40"], "argument --start: not a date"),
        (["--scale", "abc"], "argument --scale: invalid float value"),
        (["--mix", "card_testing"], "expected scenario=weight"),
        (["--mix", "skimming=1"], "unknown scenario"),
        (["--colour", "red"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "ds"
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(["generate", "--out", str(out), *extra]))
    assert info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (out / MANIFEST_FILE).exists()


def test_output_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["generate", "--out", str(target), "--scale", "0.01"]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert target.read_text() == "x"


def test_a_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_stream_with_a_bad_setting_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVT_BATCH_MAX", "0")
    assert main(["stream", str(tmp_path), "--max"]) == 2
    assert "KVT_BATCH_MAX: must be between 1 and 100,000, got 0" in capsys.readouterr().err
