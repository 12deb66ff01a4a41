"""``make app`` (scripts/app): the same emoji font the test command installs, and one URL
printed at start, without Streamlit's look-up of an external IP."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = (ROOT / "scripts" / "app").read_text()


def test_app_installs_the_font_the_tests_install() -> None:
    tests = (ROOT / "scripts" / "test").read_text()
    assert "fonts-noto-color-emoji" in tests and "fonts-noto-color-emoji" in APP
    assert 'grep -qi "noto color emoji"' in APP


def test_app_prints_one_url_and_no_external_ip_noise(tmp_path: Path) -> None:
    (line,) = [x for x in APP.splitlines() if x.startswith("exec ")]
    args = shlex.split(line)[1:]
    assert args[:3] == [".venv/bin/streamlit", "run", "serve.py"] and args[-1] == "$@"
    cmd = [sys.executable, "-m", "streamlit", *args[1:-1], "--server.port", "8791"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KVT_")}
    env["KVT_DATA_DIR"] = str(tmp_path)
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    out = ""
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while "URL:" not in out and time.monotonic() < deadline:
            out += proc.stdout.readline()
        time.sleep(1.0)  # the external-IP message, when there is one, follows the URLs
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        rest, _ = proc.communicate(timeout=15)
        out += rest or ""
    assert "URL: http://localhost:8791" in out, out
    assert "external IP" not in out and "Network URL" not in out, out
