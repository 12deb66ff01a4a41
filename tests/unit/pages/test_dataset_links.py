"""The dataset a page shows is in its address (?dataset=...): a reload or a link opens the
insights and pipeline pages on it, and a pick is written back (issue 14, datasets)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from db.engine import make_engine
from tests.unit.pages.conftest import app_test, assert_clean
from tests.unit.pages.test_alert_queue import widget


@pytest.fixture
def two(seeded_dir: Path) -> tuple[int, int]:
    """The seeded alerts split into shop-a and shop-b (the latest scored); their counts."""
    engine = make_engine(f"sqlite:///{seeded_dir / 'kvt.db'}")
    with engine.begin() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT alert_id FROM fraud_alerts ORDER BY 1"))]
        later = ids[: len(ids) // 3]
        conn.execute(text("UPDATE fraud_alerts SET dataset = 'shop-a'"))
        conn.execute(
            text("UPDATE fraud_alerts SET dataset = 'shop-b', alert_ts = :later WHERE alert_id IN ("
                 + ", ".join(f"'{a}'" for a in later) + ")"),
            {"later": datetime(2030, 1, 1, tzinfo=UTC)},
        )  # fmt: skip
    engine.dispose()
    return len(ids) - len(later), len(later)


@pytest.mark.parametrize("page", ["pages/2_insights.py", "pages/5_pipeline.py"])
def test_a_link_opens_its_dataset_and_a_pick_is_written_to_the_address(
    page: str, two: tuple[int, int]
) -> None:
    at = app_test(page)
    at.run()
    assert_clean(at)
    assert widget(at, "selectbox", "ds_view").value == "shop-b"  # the default: the latest
    assert "dataset" not in at.query_params  # a default is not pinned in the address

    widget(at, "selectbox", "ds_view").select("shop-a").run()
    assert_clean(at)
    assert at.query_params["dataset"] == "shop-a"

    reloaded = app_test(page)  # a new browser session on that address
    reloaded.query_params["dataset"] = "shop-a"
    reloaded.run()
    assert_clean(reloaded)
    assert widget(reloaded, "selectbox", "ds_view").value == "shop-a"
    assert reloaded.query_params["dataset"] == "shop-a"
    # A pick after that is not undone by the address it came from.
    widget(reloaded, "selectbox", "ds_view").select("shop-b").run()
    assert widget(reloaded, "selectbox", "ds_view").value == "shop-b"
    assert reloaded.query_params["dataset"] == "shop-b"

    unknown = app_test(page)
    unknown.query_params["dataset"] = "gone"
    unknown.run()
    assert_clean(unknown)
    assert widget(unknown, "selectbox", "ds_view").value == "shop-b"
