"""Referential integrity and money consistency across the files of one dataset."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from tests.unit.data_gen.datagen_support import Dataset, ts


def test_every_payment_points_at_existing_rows(reference: Dataset) -> None:
    for p in reference.payments:
        assert p["customer_id"] in reference.customers
        session = reference.sessions[p["session_id"]]
        assert session["customer_id"] == p["customer_id"]
        # payment context is the session's
        assert (p["device"], p["device_id"], p["utm_source"], p["payment_country"]) == (
            session["device"], session["device_id"], session["utm_source"], session["country"]
        )  # fmt: skip
        assert session["start_ts"] <= p["attempt_ts"] <= session["end_ts"]


def test_ids_are_unique(reference: Dataset) -> None:
    assert len({p["payment_id"] for p in reference.payments}) == len(reference.payments)
    assert len({e["event_id"] for e in reference.events}) == len(reference.events)
    sessions = reference.manifest.rows("sessions.csv")
    assert len(reference.sessions) == sessions


def test_order_totals_equal_items_and_payment(reference: Dataset) -> None:
    item_sum: dict[str, Decimal] = defaultdict(Decimal)
    for item in reference.order_items:
        assert item["product_id"] in reference.products
        assert int(item["qty"]) >= 1
        item_sum[item["order_id"]] += int(item["qty"]) * Decimal(item["unit_price"])
    payments = {p["payment_id"]: p for p in reference.payments}
    for order in reference.orders.values():
        total = Decimal(order["total_amount"])
        assert item_sum[order["order_id"]] == total, order["order_id"]
        payment = payments[order["payment_id"]]
        assert Decimal(payment["amount"]) == total
        assert payment["order_id"] == order["order_id"]
        assert payment["result"] == "success"
        assert order["currency"] == payment["currency"] == "EUR"
        assert order["customer_id"] == payment["customer_id"]
        assert order["session_id"] == payment["session_id"]
    assert set(item_sum) == set(reference.orders)


def test_item_prices_are_catalogue_prices(reference: Dataset) -> None:
    for item in reference.order_items:
        assert item["unit_price"] == reference.products[item["product_id"]]["unit_price"]


def test_failed_attempts_have_no_order(reference: Dataset) -> None:
    failed = [p for p in reference.payments if p["result"] == "failed"]
    assert failed
    assert all(p["order_id"] == "" and p["decline_reason"] for p in failed)
    ok = [p for p in reference.payments if p["result"] == "success"]
    assert all(p["order_id"] in reference.orders and p["decline_reason"] == "" for p in ok)
    assert len(ok) == len(reference.orders)


def test_payment_events_mirror_payments(reference: Dataset) -> None:
    payments = {p["payment_id"]: p for p in reference.payments}
    seen: Counter[str] = Counter()
    for e in reference.events:
        kind = e["event_type"]
        if not kind.startswith("payment_"):
            assert e["payment_id"] is None
            continue
        p = payments[e["payment_id"]]
        seen[e["payment_id"]] += 1
        assert e["amount"] == float(p["amount"])
        assert (e["customer_id"], e["session_id"]) == (p["customer_id"], p["session_id"])
        if kind == "payment_attempt":
            assert e["event_timestamp"] == p["attempt_ts"] and e["order_id"] is None
        elif kind == "payment_success":
            assert p["result"] == "success" and e["order_id"] == p["order_id"]
            assert e["event_timestamp"] == reference.orders[p["order_id"]]["order_ts"]
        else:
            assert p["result"] == "failed" and e["order_id"] is None
    # every payment has exactly its attempt and its outcome in the clickstream
    assert set(seen) == set(payments)
    assert set(seen.values()) == {2}


def test_events_belong_to_their_session(reference: Dataset) -> None:
    for e in reference.events:
        s = reference.sessions[e["session_id"]]
        assert e["customer_id"] == s["customer_id"]
        assert e["device_id"] == s["device_id"] and e["country"] == s["country"]
        assert s["start_ts"] <= e["event_timestamp"] <= s["end_ts"]
        if e["product_id"] is not None:
            assert e["product_id"] in reference.products


def test_a_device_id_has_one_device_type(reference: Dataset) -> None:
    kinds: dict[str, set[str]] = defaultdict(set)
    for s in reference.sessions.values():
        kinds[s["device_id"]].add(s["device"])
    assert all(len(k) == 1 for k in kinds.values())


def test_sessions_follow_signup(reference: Dataset) -> None:
    for s in reference.sessions.values():
        signup = ts(reference.customers[s["customer_id"]]["signup_ts"])
        # registration happens during a visit: at most a few minutes into it
        assert (ts(s["start_ts"]) - signup).total_seconds() > -600
    for p in reference.payments:
        assert p["attempt_ts"] > reference.customers[p["customer_id"]]["signup_ts"]
