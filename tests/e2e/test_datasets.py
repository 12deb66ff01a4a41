"""Issue 14, finding 4 in Chromium: two datasets replayed one over the other stay apart.

Replay shop-a, then shop-b: the studio asks whether to keep or clear shop-a's alerts (kept
here); the queue then shows shop-b (the latest) by default with its own count, the dataset
picker switches to shop-a's alerts, and one of shop-a's alerts still has its session's
clickstream and its customer's earlier payments although shop-b was replayed last and no
dataset was loaded into the database.  The chosen dataset is in the address
(``?dataset=shop-a``): the insights and pipeline pages keep it across page links and a
reload."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from db.engine import make_engine
from db.migrate import upgrade
from db.models import Alert, ConsumerOffset
from detector.runner import replay_group
from tests.e2e.conftest import ADMIN, PASSWORD, PORT, Console, running_server
from tests.e2e.test_browser import _metric, _nav, _number, _pick, _settle, _shot, _tab
from tests.e2e.test_queue_trust import _real

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kvt_e2e_datasets")
    for name, seed in (("shop-a", 11), ("shop-b", 12)):
        generate(out / "datasets" / name, GenParams(scale=0.03, seed=seed, days=10))
    upgrade(make_engine(f"sqlite:///{out / 'kvt.db'}"))
    return out


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[str]:
    with running_server(data_dir, PORT + 2) as url:
        yield url


def _alerts(data_dir: Path) -> dict[str, int]:
    engine = make_engine(f"sqlite:///{data_dir / 'kvt.db'}")
    try:
        with Session(engine) as s:
            rows = s.execute(select(Alert.dataset, func.count()).group_by(Alert.dataset)).all()
            return {str(d): int(n) for d, n in rows}
    finally:
        engine.dispose()


def _wait_replayed(data_dir: Path, name: str, timeout_s: float = 120.0) -> None:
    path = data_dir / "datasets" / name
    payments = len(read_dataset(path).payments)
    engine = make_engine(f"sqlite:///{data_dir / 'kvt.db'}")
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            with Session(engine) as s:
                done = s.scalar(
                    select(func.max(ConsumerOffset.next_offset)).where(
                        ConsumerOffset.group_id == replay_group(path),
                        ConsumerOffset.topic == "payments",
                    )
                )
            if done == payments:
                return
            time.sleep(0.5)
    finally:
        engine.dispose()
    raise AssertionError(f"the replay of {name} did not finish")


def _replay(page: Page, name: str) -> None:
    _tab(page, "Datasets")
    _pick(page, "Dataset", re.compile(f"^{name}$"))
    _tab(page, "Datasets")
    _pick(page, "Speed", re.compile("as fast as possible"))
    _tab(page, "Datasets")
    page.get_by_role("button", name=re.compile("^Replay$")).click()


def test_two_replays_stay_apart_in_the_queue(
    server: str, data_dir: Path, page: Page, console: Console
) -> None:
    page.goto(server)
    expect(page.locator("h1", has_text="connexion")).to_be_visible(timeout=90_000)
    _settle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("EN", exact=True).click()
    expect(page.locator("h1", has_text="sign in")).to_be_visible()
    page.get_by_role("textbox", name="User name").fill(ADMIN)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in")).click()
    expect(page.locator("h1", has_text="Alert queue")).to_be_visible(timeout=60_000)

    _nav(page, "Dataset studio")
    _replay(page, "shop-a")  # nothing to ask: no alert yet
    expect(page.get_by_text('Replay of "shop-a" started.')).to_be_visible(timeout=30_000)
    _wait_replayed(data_dir, "shop-a")

    _replay(page, "shop-b")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("shop-a", timeout=30_000)
    expect(dialog).to_contain_text("or clear them before replaying")
    _shot(page, "ds_01_replay_dialog")
    dialog.get_by_role("button", name="Keep them and replay").click()
    expect(page.get_by_text('Replay of "shop-b" started.')).to_be_visible(timeout=30_000)
    _wait_replayed(data_dir, "shop-b")
    counts = _alerts(data_dir)
    assert set(counts) == {"shop-a", "shop-b"} and all(counts.values())

    # The queue shows the latest dataset by default, with its own count.
    _nav(page, "Alert queue")
    picker = page.get_by_role("combobox", name="Dataset")
    expect(picker).to_match_aria_snapshot(
        f'- combobox "Dataset": shop-b · {counts["shop-b"]:,} alerts', timeout=30_000
    )
    assert _number(_metric(page, "Total alerts")) == counts["shop-b"]
    # Its alert rate is over its own payments (the detector's counter holds both replays').
    paid_b = len(read_dataset(data_dir / "datasets" / "shop-b").payments)
    assert _metric(page, "Alert rate") == f"{counts['shop-b'] / paid_b:.2%}"
    _shot(page, "ds_02_queue_shop_b")
    _pick(page, "Dataset", re.compile("^shop-a"))
    expect(picker).to_match_aria_snapshot(
        f'- combobox "Dataset": shop-a · {counts["shop-a"]:,} alerts', timeout=30_000
    )
    deadline = time.monotonic() + 30
    while _number(_metric(page, "Total alerts")) != counts["shop-a"]:
        assert time.monotonic() < deadline, _metric(page, "Total alerts")
        time.sleep(0.5)
    _shot(page, "ds_03_queue_shop_a")

    # The chosen dataset is in the address: the insights and pipeline pages reached from the
    # queue show it and name it there, and a reload (a new session) opens them on it.
    shop_a = re.compile(r"[?&]dataset=shop-a(&|$)")
    expect(page).to_have_url(shop_a, timeout=30_000)
    chosen = f'- combobox "Dataset": shop-a · {counts["shop-a"]:,} alerts'
    for title in ("Insights", "Pipeline"):
        _nav(page, title)
        expect(page).to_have_url(shop_a, timeout=30_000)
        expect(page.get_by_role("combobox", name="Dataset")).to_match_aria_snapshot(chosen)
        page.reload()
        expect(page.locator("h1", has_text=title)).to_be_visible(timeout=60_000)
        _settle(page)
        expect(page.get_by_role("combobox", name="Dataset")).to_match_aria_snapshot(
            chosen, timeout=30_000
        )
        expect(page).to_have_url(shop_a)
        _shot(page, f"ds_03_{title.lower()}_after_reload")

    # An alert of shop-a still tells its session's story and its customer's payments.
    engine = make_engine(f"sqlite:///{data_dir / 'kvt.db'}")
    pay = read_dataset(data_dir / "datasets" / "shop-a").payments
    first_paid = pd.to_datetime(pay["attempt_ts"], utc=True).groupby(pay["customer_id"]).min()
    with Session(engine) as s:
        rows = s.execute(
            select(Alert.alert_id, Alert.customer_id, Alert.event_ts)
            .where(Alert.dataset == "shop-a")
            .order_by(Alert.event_ts.desc())
        ).all()
    engine.dispose()
    # The newest alert whose customer paid before it: it has earlier payments to show.
    alert_id = next((a for a, c, ts in rows if first_paid[c] < pd.Timestamp(ts)), None)
    assert alert_id is not None
    page.goto(f"{server}/alert_queue?alert={alert_id}")
    expect(page.get_by_text(re.compile(rf"^Decision on {alert_id}"))).to_be_visible(timeout=60_000)
    _settle(page)
    expect(page.get_by_text("Session clickstream")).to_be_visible()
    assert page.get_by_text("No clickstream stored for this session.").count() == 0
    assert page.get_by_text("No payments table loaded for this customer.").count() == 0
    _shot(page, "ds_04_shop_a_alert_after_shop_b")
    assert _real(console.errors) == [], "\n".join(console.errors)
