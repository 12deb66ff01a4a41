"""End-to-end fixtures: one real Streamlit server on a temporary data dir, and Debian's
Chromium driven by Playwright (never a downloaded browser build).

Run with ``pytest -m e2e tests/e2e``. A missing browser or Playwright fails the test (the
test command installs both); it is never skipped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
PORT = int(os.environ.get("KVT_E2E_PORT", "8599"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 90
ADMIN = "e2e-admin"
VIEWER = "e2e-viewer"  # for what a role may not open (tests/e2e/test_sessions.py)
PASSWORD = "an end-to-end password"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("kvt_e2e"), PORT) as url:
        yield url


@contextmanager
def running_server(data_dir: Path, port: int, script: str = "serve.py") -> Iterator[str]:
    """A Streamlit server of the app on ``data_dir`` (its SQLite database is ``kvt.db``
    there), with the first admin account; stopped on exit.  ``script``: ``serve.py`` (the
    app with its cookie routes, as ``make app`` runs it) or ``app.py`` (a plain
    ``streamlit run app.py``, the command the README documents)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install -y chromium"
    import playwright.sync_api  # noqa: F401 - fails loudly when the package is missing

    env = {k: v for k, v in os.environ.items() if not k.startswith("KVT_")}
    env["KVT_DATA_DIR"] = str(data_dir)
    # The first admin, created the way the README says (no account exists otherwise).
    for name, role in ((ADMIN, "admin"), (VIEWER, "viewer")):
        subprocess.run(
            [sys.executable, "-m", "db", "create-user", name, "--role", role, "--password-stdin"],
            input=PASSWORD + "\n", text=True, cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, data_dir / "server.log")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"streamlit not healthy after {START_TIMEOUT_S}s:\n{log.read_text()}")


@dataclass
class Console:
    """Browser console errors and uncaught page errors seen during a test."""

    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


# The app server shares the machine's two cores with the service tests in CI: a rerun after a
# click can take longer than Playwright's 5 s default for an assertion.  Explicit timeouts
# stay as written; what each assertion checks does not change.
expect.set_options(timeout=15_000)

FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser, console: Console, request: pytest.FixtureRequest) -> Iterator[object]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, locale="en-GB")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.on(
        "console",
        lambda m: (
            console.errors.append(f"{m.text} @ {m.location.get('url', '')}")
            if m.type == "error"
            else None
        ),
    )
    pg.on("pageerror", lambda e: console.errors.append(f"pageerror: {e}"))
    yield pg
    if request.node.stash.get(FAILED, False):
        pg.screenshot(path=str(ARTIFACTS / f"FAILED_{request.node.name}.png"), full_page=True)
    context.close()
