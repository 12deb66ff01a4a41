"""The whole desk in a real browser: generate a dataset, replay it, watch alerts arrive live,
block one and approve one, see them in the insights, tune and publish a rule set, and see the
new version in the sidebar.  A screenshot of every page lands in tests/artifacts/.

Selectors are the English labels (the test switches the language first) and Streamlit's
``data-testid`` attributes.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import ADMIN, ARTIFACTS, PASSWORD, Console

pytestmark = pytest.mark.e2e


def _shot(page: Page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to it."""
    _settle(page)
    size = page.viewport_size or {"width": 1500, "height": 1000}
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll("
        '\'[data-testid="stMain"], [data-testid="stAppViewContainer"]\')]'
        ".map(e => e.scrollHeight), window.innerHeight)"
    )
    page.set_viewport_size({"width": size["width"], "height": min(int(height), 8000)})
    _settle(page, quiet_s=1.5)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size(size)


def _settle(page: Page, quiet_s: float = 0.8) -> None:
    """Wait until the script is not running (no status widget) for a little while."""
    deadline = time.monotonic() + 60
    calm_since = None
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count() > 0
        if running:
            calm_since = None
        elif calm_since is None:
            calm_since = time.monotonic()
        elif time.monotonic() - calm_since >= quiet_s:
            return
        time.sleep(0.1)


def _nav(page: Page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
    expect(page.locator("h1", has_text=title)).to_be_visible(timeout=60_000)
    _settle(page)


def _tab(page: Page, name: str) -> None:
    tab = page.get_by_role("tab", name=name)
    for _ in range(5):
        _settle(page)
        if tab.count() != 1:  # stale tabs of the previous run are still on screen
            time.sleep(0.5)
            continue
        tab.click()
        _settle(page)
        if tab.get_attribute("aria-selected") == "true":
            return
    expect(tab).to_have_attribute("aria-selected", "true")


def _metric(page: Page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has=page.get_by_text(label, exact=True))
    return box.first.locator('[data-testid="stMetricValue"]').inner_text()


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.\-]", "", text) or "nan")


def _pick(page: Page, widget_label: str, option: re.Pattern[str] | str | None = None) -> str:
    """Open the multiselect/selectbox labelled ``widget_label`` and click the option matching
    ``option`` (the first real option when None); returns the option's text."""
    widget = page.locator(
        '[data-testid="stMultiSelect"], [data-testid="stSelectbox"]', has_text=widget_label
    ).first
    options = page.get_by_role("listbox").get_by_role("option")
    if option is not None:
        options = options.filter(has_text=option)
    else:
        options = options.filter(has_not_text="Select all")
    for _ in range(5):  # a live refresh may close the list: open it again
        widget.locator("input").click()
        try:
            options.first.wait_for(state="visible", timeout=5_000)
            text = options.first.inner_text()
            options.first.click()
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    else:
        raise AssertionError(f"no option {option!r} in {widget_label!r}")
    page.keyboard.press("Escape")
    page.locator("h1").first.click()  # blur: the widget commits its value
    _settle(page)
    return text


def _edit_points(page: Page, row: int, value: str) -> None:
    """Type ``value`` into the Points column of data-editor row ``row`` (0-based).  The grid
    is a canvas: find the column in its accessible mirror table, click into the grid, go to
    the top-left cell and on to the target with the keyboard."""
    grid = page.locator('[data-testid="stDataFrameResizable"]').first
    grid.scroll_into_view_if_needed()
    header = grid.locator("th").filter(has_text=re.compile(r"^\s*Points\s*$")).first
    col = int(header.get_attribute("aria-colindex") or "0") - 1
    assert col >= 0
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 30, box["y"] + box["height"] / 2)  # some body cell
    for key, times in (("ArrowUp", 40), ("ArrowLeft", 20), ("ArrowRight", col), ("ArrowDown", row)):
        for _ in range(times):
            page.keyboard.press(key)
    page.keyboard.press("Enter")  # open the cell editor
    page.wait_for_timeout(300)
    page.keyboard.press("End")
    for _ in range(8):
        page.keyboard.press("Backspace")
    page.keyboard.type(value)
    page.wait_for_timeout(200)
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    page.locator("h1").first.click()
    _settle(page)
    expect(grid.get_by_test_id(f"glide-cell-{col}-{row}")).to_have_text(value)


def test_the_desk_end_to_end(server: str, page: Page, console: Console) -> None:
    page.goto(server)
    expect(page.locator("h1", has_text="connexion")).to_be_visible(timeout=90_000)
    _settle(page)
    page.locator('[data-testid="stSidebar"]').get_by_text("EN", exact=True).click()
    expect(page.locator("h1", has_text="sign in")).to_be_visible()
    _shot(page, "00_sign_in")
    page.get_by_role("textbox", name="User name").fill(ADMIN)
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("button", name=re.compile("Sign in")).click()
    expect(page.get_by_text("unknown user name or wrong password")).to_be_visible()
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in")).click()
    expect(page.locator("h1", has_text="Alert queue")).to_be_visible(timeout=60_000)
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text(f"Signed in: {ADMIN} (admin)")).to_be_visible()
    _settle(page)
    assert _metric(page, "Total alerts") == "0"
    _shot(page, "01_queue_empty")

    # ----------------------------------------------------------------- dataset studio
    _nav(page, "Dataset studio")
    page.get_by_role("spinbutton", name="Number of customers").fill("125")  # scale 0.05
    page.get_by_role("spinbutton", name="Days").fill("10")
    page.get_by_role("textbox", name="Dataset name").fill("e2e")
    page.get_by_test_id("stFormSubmitButton").get_by_role("button").click()
    expect(page.get_by_text('Dataset "e2e" generated.')).to_be_visible(timeout=120_000)
    _tab(page, "Datasets")
    _pick(page, "Speed", re.compile("86,400"))
    _tab(page, "Datasets")  # a rerun that drops the flash message re-creates the tabs
    _shot(page, "02_dataset_studio")
    page.get_by_role("button", name=re.compile("Replay")).click()
    expect(page.get_by_text('Replay of "e2e" started.')).to_be_visible(timeout=30_000)

    # ----------------------------------------------------------------- live queue
    url_before = page.url
    _nav(page, "Alert queue")
    first = _number(_metric(page, "Total alerts"))
    deadline = time.monotonic() + 60
    while _number(_metric(page, "Total alerts")) <= first and time.monotonic() < deadline:
        time.sleep(0.5)
    later = _number(_metric(page, "Total alerts"))
    assert later > first, "no alert arrived by the live refresh"
    assert page.url != url_before  # client-side navigation only: the page was never reloaded

    # A replayed dataset's alert ids name it: ALT:<payment id>@e2e.
    blocked = _pick(page, "Selected alerts", re.compile("^ALT:")).split(" · ")[0]
    expect(page.get_by_text("Alert detail")).to_be_visible()
    page.get_by_role("button", name=re.compile(rf"Block {re.escape(blocked)}$")).click()
    expect(page.get_by_text("Block: 1 alert(s) updated.").filter(visible=True).first).to_be_visible(
        timeout=15_000
    )
    approved = _pick(
        page, "Selected alerts", re.compile(r"^ALT:(?!" + re.escape(blocked[4:]) + ")")
    )
    approved = approved.split(" · ")[0]
    assert approved != blocked
    page.get_by_role("textbox", name="Note", exact=True).fill("known customer, e2e")
    page.get_by_role("button", name=re.compile(rf"Approve {re.escape(approved)}$")).click()
    expect(
        page.get_by_text("Approve: 1 alert(s) updated.").filter(visible=True).first
    ).to_be_visible(timeout=15_000)
    picker = page.locator('[data-testid="stMultiSelect"]', has_text="Selected alerts").first
    # The toast comes first; the picker is drawn again by the same rerun, a moment later.
    expect(picker).to_contain_text(re.compile(r"(ALT:.*){2}"), timeout=15_000)
    _settle(page)
    assert picker.inner_text().count("ALT:") == 2
    # Tick a third row in the table itself: the selection is kept as ids.
    grid = page.locator('[data-testid="stDataFrameResizable"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 16, box["y"] + 38 + 35 * 5 + 17)  # row 6's checkbox
    _settle(page)
    expect(picker).to_contain_text(re.compile(r"(ALT:.*){3}"), timeout=15_000)
    page.wait_for_timeout(6_000)  # a live refresh of the table
    _settle(page)
    assert picker.inner_text().count("ALT:") == 3, "the selection did not survive a refresh"
    assert blocked in picker.inner_text() and approved in picker.inner_text()
    _shot(page, "03_alert_queue")

    # ----------------------------------------------------------------- insights
    _nav(page, "Insights")
    expect(page.locator('[data-testid="stMetric"]', has_text="Alerts decided")).to_be_visible()
    assert _number(_metric(page, "Alerts decided")) >= 2
    _shot(page, "04_insights")

    # ----------------------------------------------------------------- rule tuning
    _nav(page, "Rule tuning")
    expect(page.get_by_text("Instant backtest")).to_be_visible(timeout=120_000)
    _settle(page)
    before = _metric(page, "Alert rate")
    _edit_points(page, row=3, value="0")  # MOBILE_DEVICE: 20 -> 0 points
    deadline = time.monotonic() + 60
    while _metric(page, "Alert rate") == before and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _metric(page, "Alert rate") != before, "backtest metrics did not move"
    _shot(page, "05_rule_tuning_draft")
    page.get_by_role("textbox", name="Version note").fill("e2e: stricter threshold")
    page.get_by_role("button", name=re.compile("Publish")).click()
    expect(page.get_by_text(re.compile(r"Version v2 published"))).to_be_visible(timeout=60_000)
    expect(sidebar.get_by_text(re.compile(r"Rule set: v2"))).to_be_visible(timeout=15_000)
    _shot(page, "06_rule_tuning_published")

    # ----------------------------------------------------------------- pipeline
    _nav(page, "Pipeline")
    expect(page.locator('[data-testid="stMetric"]', has_text="Detector state")).to_be_visible()
    _shot(page, "07_pipeline")

    # ----------------------------------------------------------------- audit and users
    _nav(page, "Audit trail")
    trail = page.locator('[data-testid="stDataFrame"]').first
    expect(trail).to_be_visible()
    _shot(page, "08_audit")
    _nav(page, "Users")
    _shot(page, "09_users")
    sidebar.get_by_role("button", name=re.compile("Sign out")).click()
    expect(page.locator("h1", has_text="sign in")).to_be_visible(timeout=30_000)

    assert console.errors == [], "\n".join(console.errors)
