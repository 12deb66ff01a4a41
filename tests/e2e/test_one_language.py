"""One language at a time, in Chromium, where only a browser can tell (issue 14):

- the queue's amount column shows amounts the session's way and its header sorts them by
  value, in French and in English (a text column sorted "1 000,00" before "20,00");
- what Streamlit writes itself in English (the file uploader's button and limits, a select
  box's "No results") reads in the session's language, or not at all.

The unit test ``tests/unit/pages/test_one_language.py`` renders every page headless (and
checks that every grid has a placeholder for missing values, so that none shows "None"); the
words drawn by CSS and the order of the grid's canvas are only visible here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import Locator, Page, expect

from data_gen.feed import dataset_messages
from data_gen.generate import generate
from data_gen.params import GenParams
from data_gen.readers import read_dataset
from db.engine import make_engine, session_factory
from db.migrate import upgrade
from detector.common.settings import Settings
from detector.service import DetectorService
from detector.sources import ReplaySource
from tests.e2e.conftest import ADMIN, ARTIFACTS, PASSWORD, PORT, running_server
from tests.e2e.test_browser import _settle

pytestmark = pytest.mark.e2e

# Where the amount header is on the grid's canvas: the row-selection column, then the widths
# pages/_queue_live._columns gives the id, age, score, severity and status columns.
_AMOUNT_X = 33 + 140 + 60 + 80 + 75 + 120 + 45
_HEADER_Y = 18


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of this module's own on the alerts of a small replayed dataset."""
    data_dir = tmp_path_factory.mktemp("kvt_e2e_lang")
    engine = make_engine(f"sqlite:///{data_dir / 'kvt.db'}")
    upgrade(engine)
    ds = data_dir / "datasets" / "lang"
    generate(ds, GenParams(scale=0.05, seed=7))
    settings = replace(Settings(), data_dir=data_dir)
    messages = dataset_messages(read_dataset(ds), with_orders=False)
    source = ReplaySource(messages, settings, "replay:e2e-lang")
    DetectorService(settings, source, session_factory(engine)).run(until_idle=True)
    engine.dispose()
    with running_server(data_dir, PORT + 3) as url:
        yield url


def _sign_in(page: Page, server: str) -> None:
    page.goto(server)
    expect(page.locator("h1", has_text="connexion")).to_be_visible(timeout=90_000)
    _settle(page)
    page.get_by_role("textbox", name="Nom d'utilisateur").fill(ADMIN)
    page.get_by_role("textbox", name="Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Se connecter")).click()
    expect(page.locator('[data-testid="stSidebarNav"]')).to_be_visible(timeout=60_000)
    _settle(page)


def _language(page: Page, code: str) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    label = {"fr": "Langue", "en": "Language"}[code]
    for _ in range(5):
        sidebar.get_by_text(code.upper(), exact=True).click()
        _settle(page, quiet_s=1.5)
        if sidebar.get_by_role("radiogroup", name=label).count() == 1:
            return
    raise AssertionError(f"the page did not switch to {code}")


def _go(page: Page, server: str, path: str) -> None:
    page.goto(f"{server}/{path}")
    expect(page.locator("h1").first).to_be_visible(timeout=60_000)
    _settle(page, quiet_s=1.5)


def _grid(page: Page) -> Locator:
    return page.locator('[data-testid="stDataFrameResizable"]').first


def _column(grid: Locator, header: re.Pattern[str]) -> list[str]:
    """The cells of the column whose header matches, from the grid's accessible mirror (the
    grid itself is a canvas): the values under the display, for the rows drawn."""
    th = grid.locator("th").filter(has_text=header).first
    col = int(th.get_attribute("aria-colindex") or "0")
    return grid.evaluate(
        "(g, col) => [...g.querySelectorAll(`td[aria-colindex='${col}']`)].map(c => c.textContent)",
        col,
    )


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_amount_header_sorts_amounts_by_value(server: str, page: Page, lang: str) -> None:
    _sign_in(page, server)
    _language(page, lang)
    _go(page, server, "alert_queue")
    grid = _grid(page)
    expect(grid).to_be_visible(timeout=60_000)
    grid.scroll_into_view_if_needed()
    header = re.compile(r"(Montant|Amount)")  # a sorted header has an arrow first
    before = [float(v) for v in _column(grid, header) if v]
    # Amounts of several lengths: sorted as text, 749.99 would come before 80.99.
    assert sorted(before) != sorted(before, key=lambda v: f"{v:.2f}")
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + _AMOUNT_X, box["y"] + _HEADER_Y)
    page.wait_for_timeout(500)
    up = [float(v) for v in _column(grid, header) if v]
    assert up == sorted(up) and len(up) >= 10
    page.mouse.click(box["x"] + _AMOUNT_X, box["y"] + _HEADER_Y)
    page.wait_for_timeout(500)
    down = [float(v) for v in _column(grid, header) if v]
    assert down == sorted(down, reverse=True) and down[0] >= up[-1]
    grid.screenshot(path=str(ARTIFACTS / f"queue_amount_sorted_{lang}.png"))


def _after(locator: Locator) -> str:
    """What CSS draws after an element (its ``::after`` content), "none" for nothing."""
    return str(locator.evaluate("e => getComputedStyle(e, '::after').content"))


@pytest.mark.parametrize(
    ("lang", "browse", "drop", "none"),
    [
        ("fr", '"Choisir un fichier"', '"Déposez le fichier ici"', '"Aucun résultat"'),
        ("en", '"Choose a file"', '"Drop the file here"', '"No results"'),
    ],
)
def test_streamlit_words_read_in_the_session_language(
    server: str, page: Page, lang: str, browse: str, drop: str, none: str
) -> None:
    _sign_in(page, server)
    _language(page, lang)

    # The file uploader: its button in our words, no "200MB per file • ZIP" (the label says it).
    _go(page, server, "dataset_studio")
    tab = page.get_by_role("tab").nth(2)
    expect(tab).to_be_visible(timeout=60_000)
    tab.click()
    _settle(page)
    zone = page.locator('[data-testid="stFileUploaderDropzone"]').first
    expect(zone).to_be_visible(timeout=60_000)
    expect(zone.locator('[data-testid="stFileUploaderDropzoneInstructions"]')).to_be_hidden()
    button = zone.locator("button [data-testid='stMarkdownContainer']").first
    expect(button.locator("p")).to_be_hidden()  # Streamlit's "Upload"
    assert _after(button) == browse
    zone.screenshot(path=str(ARTIFACTS / f"uploader_{lang}.png"))
    # A file dragged over it: Streamlit's "Drag and drop a file here" gives way to ours.
    files = page.evaluate_handle(
        "() => { const d = new DataTransfer();"
        " d.items.add(new File(['x'], 'a.zip', {type: 'application/zip'})); return d; }"
    )
    zone.dispatch_event("dragenter", {"dataTransfer": files})
    overlay = zone.locator("> div:not([data-testid]) > span").first
    expect(overlay).to_be_attached()
    assert overlay.evaluate("e => getComputedStyle(e).fontSize") == "0px"
    assert _after(overlay) == drop
    zone.screenshot(path=str(ARTIFACTS / f"uploader_drag_{lang}.png"))
    zone.dispatch_event("dragleave", {"dataTransfer": files})

    # A filter typed to match nothing: "No results" drawn over in the session's language.
    _go(page, server, "alert_queue")
    field = page.locator('[data-testid="stMultiSelect"] input').first
    expect(field).to_be_visible(timeout=60_000)
    field.click()
    page.keyboard.type("zzzz")
    empty = page.locator("[role='listbox'][data-empty='true'] [role='option'] > span").first
    expect(empty).to_be_attached()
    assert empty.evaluate("e => getComputedStyle(e).fontSize") == "0px"
    assert _after(empty) == none
    page.keyboard.press("Escape")
