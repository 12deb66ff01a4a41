"""Ground truth: each fraud scenario has its signature, and honest customers trip rules too."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from data_gen.schema import FRAUD_SCENARIOS, MOBILE_DEVICES
from tests.unit.data_gen.datagen_support import Dataset, ts

Payment = dict[str, str]


@pytest.fixture(params=["reference", "fraud_heavy"])
def labelled(request: pytest.FixtureRequest) -> Dataset:
    """Structural properties must hold in any dataset, not just the default one."""
    return request.getfixturevalue(request.param)


def _incidents(ds: Dataset, scenario: str) -> dict[str, list[Payment]]:
    out: dict[str, list[Payment]] = defaultdict(list)
    for p in ds.fraud(scenario):
        out[p["fraud_incident_id"]].append(p)
    return out


def _local_hour(ds: Dataset, p: Payment) -> int:
    zone = ZoneInfo(ds.customers[p["customer_id"]]["timezone"])
    return ts(p["attempt_ts"]).astimezone(zone).hour


def _earlier(ds: Dataset, p: Payment) -> list[Payment]:
    """The customer's payments strictly before ``p`` (file order is time order)."""
    history = ds.by_customer[p["customer_id"]]
    return history[: history.index(p)]


def _first_cart(ds: Dataset) -> dict[str, str]:
    first: dict[str, str] = {}
    for e in ds.events:
        if e["event_type"] == "add_to_cart":
            first.setdefault(e["session_id"], e["event_timestamp"])
    return first


def _seconds_from_cart(first_cart: dict[str, str], p: Payment) -> float:
    return (ts(p["attempt_ts"]) - ts(first_cart[p["session_id"]])).total_seconds()


def _mean_success(history: list[Payment]) -> float | None:
    ok = [float(h["amount"]) for h in history if h["result"] == "success"]
    return sum(ok) / len(ok) if ok else None


def test_labels_are_consistent(labelled: Dataset) -> None:
    for p in labelled.payments:
        if p["is_fraud"] == "1":
            assert p["fraud_scenario"] in FRAUD_SCENARIOS
            assert re.fullmatch(r"INC\d{5}", p["fraud_incident_id"])
        else:
            assert p["is_fraud"] == "0"
            assert p["fraud_scenario"] == "" and p["fraud_incident_id"] == ""
    scenario_of: dict[str, str] = {}
    for p in labelled.payments:
        if p["fraud_incident_id"]:
            assert (
                scenario_of.setdefault(p["fraud_incident_id"], p["fraud_scenario"])
                == (p["fraud_scenario"])
            )


def test_fraud_share_matches_fraud_rate(reference: Dataset, fraud_heavy: Dataset) -> None:
    for ds, rate in ((reference, 0.02), (fraud_heavy, 0.4)):
        fraud = sum(p["is_fraud"] == "1" for p in ds.payments)
        assert fraud / len(ds.payments) == pytest.approx(rate, abs=0.1 * rate)


def test_every_scenario_is_present(reference: Dataset) -> None:
    for scenario in FRAUD_SCENARIOS:
        incidents = _incidents(reference, scenario)
        assert len(incidents) >= 3, scenario


def test_single_customer_incidents(labelled: Dataset) -> None:
    for scenario in ("card_testing", "stolen_card_new_account", "account_takeover", "low_signal"):
        for rows in _incidents(labelled, scenario).values():
            assert len({p["customer_id"] for p in rows}) == 1, scenario


def test_card_testing_is_a_fast_burst_of_small_attempts(labelled: Dataset) -> None:
    first_cart = _first_cart(labelled)
    for rows in _incidents(labelled, "card_testing").values():
        assert len(rows) >= 3
        span = ts(rows[-1]["attempt_ts"]) - ts(rows[0]["attempt_ts"])
        assert span <= timedelta(minutes=15)
        assert all(float(p["amount"]) <= 20 for p in rows)
        assert len({p["card_bin"] for p in rows}) >= 2  # a list of stolen cards
        assert _seconds_from_cart(first_cart, rows[0]) < 30
        device = rows[0]["device_id"]
        assert all(p["device_id"] == device for p in rows)
        assert all(h["device_id"] != device for h in _earlier(labelled, rows[0]))


def test_card_testing_is_mostly_declined_direct_and_at_night(fraud_heavy: Dataset) -> None:
    incidents = _incidents(fraud_heavy, "card_testing")
    assert len(incidents) >= 30
    rows = [p for burst in incidents.values() for p in burst]
    assert sum(p["result"] == "failed" for p in rows) / len(rows) >= 0.7
    assert sum(p["utm_source"] == "direct" for p in rows) / len(rows) >= 0.7
    night = sum(0 <= _local_hour(fraud_heavy, burst[0]) < 6 for burst in incidents.values())
    assert night / len(incidents) >= 0.6


def test_stolen_card_is_a_fresh_account_paying_big_from_abroad(labelled: Dataset) -> None:
    amounts = []
    for rows in _incidents(labelled, "stolen_card_new_account").values():
        first = rows[0]
        customer = labelled.customers[first["customer_id"]]
        assert not _earlier(labelled, first)  # the account's first payment
        assert ts(first["attempt_ts"]) - ts(customer["signup_ts"]) <= timedelta(days=3)
        assert all(p["payment_country"] != customer["country"] for p in rows)
        amounts += [float(p["amount"]) for p in rows]
    assert min(amounts) >= 500
    assert sorted(amounts)[len(amounts) // 2] >= 800


def test_account_takeover_is_an_old_customer_on_a_new_device_spending_big(
    labelled: Dataset,
) -> None:
    window_start = ts("2025-11-01T00:00:00.000Z")
    incidents = _incidents(labelled, "account_takeover")
    several_fast = 0
    for rows in incidents.values():
        first = rows[0]
        customer = labelled.customers[first["customer_id"]]
        assert ts(customer["signup_ts"]) < window_start - timedelta(days=30)
        earlier = [h for h in _earlier(labelled, first) if h["is_fraud"] == "0"]
        usual = _mean_success(earlier)
        assert usual is not None  # an established, paying customer
        assert first["device_id"] not in {h["device_id"] for h in earlier}
        assert float(first["amount"]) >= 3 * usual
        assert ts(rows[-1]["attempt_ts"]) - ts(first["attempt_ts"]) <= timedelta(minutes=20)
        several_fast += len(rows) >= 2
    assert several_fast == len(incidents)


def test_device_ring_shares_one_device_across_fresh_accounts(labelled: Dataset) -> None:
    for rows in _incidents(labelled, "device_ring").values():
        devices = {p["device_id"] for p in rows}
        assert len(devices) == 1
        customers = {p["customer_id"] for p in rows}
        assert len(customers) >= 3
        for p in rows:
            signup = ts(labelled.customers[p["customer_id"]]["signup_ts"])
            assert ts(p["attempt_ts"]) - signup <= timedelta(days=4)
        # nobody honest ever used the ring's device
        (device,) = devices
        assert all(p["is_fraud"] == "1" for p in labelled.payments if p["device_id"] == device)


def test_low_signal_fraud_looks_like_the_customer(labelled: Dataset) -> None:
    rows = labelled.fraud("low_signal")
    for p in rows:
        customer = labelled.customers[p["customer_id"]]
        earlier = _earlier(labelled, p)
        assert earlier, "an existing customer"
        assert p["payment_country"] == customer["country"]
        assert p["device_id"] in {h["device_id"] for h in earlier}
        assert p["utm_source"] != "direct" and p["result"] == "success"
        assert 6 <= _local_hour(labelled, p) < 22
        usual = _mean_success(earlier)
        assert usual is not None and float(p["amount"]) <= 3 * usual


# ---- legitimate behaviour that fires rules (precision must be able to fall below 1) ----


def test_honest_night_owls_pay_between_2_and_6(reference: Dataset) -> None:
    night = [p for p in reference.legit() if 2 <= _local_hour(reference, p) < 6]
    assert len(night) >= 30
    assert reference.manifest.legit_behaviours["night_owl"] > 0


def test_honest_travellers_pay_from_abroad(reference: Dataset) -> None:
    abroad = [
        p
        for p in reference.legit()
        if p["payment_country"] != reference.customers[p["customer_id"]]["country"]
    ]
    assert len(abroad) >= 20
    assert len({p["customer_id"] for p in abroad}) >= 10


def test_honest_customers_get_new_devices(reference: Dataset) -> None:
    new_device = 0
    by_customer = reference.by_customer
    for history in by_customer.values():
        for k, p in enumerate(history):
            if (
                p["is_fraud"] == "0"
                and k
                and p["device_id"] not in {h["device_id"] for h in history[:k]}
            ):
                new_device += 1
    assert new_device >= 100


def test_honest_fast_checkouts_exist(reference: Dataset) -> None:
    first_cart = _first_cart(reference)
    fast = [p for p in reference.legit() if _seconds_from_cart(first_cart, p) < 30]
    legit = sum(1 for _ in reference.legit())
    assert 0.02 * legit <= len(fast) <= 0.15 * legit


def test_honest_declines_are_retried_within_minutes(reference: Dataset) -> None:
    by_session: dict[str, list[Payment]] = defaultdict(list)
    for p in reference.legit():
        by_session[p["session_id"]].append(p)
    gaps = []
    other_means = 0
    for rows in by_session.values():
        for a, b in pairwise(rows):
            if a["result"] == "failed":
                gaps.append((ts(b["attempt_ts"]) - ts(a["attempt_ts"])).total_seconds())
                other_means += (a["card_bin"], a["method"]) != (b["card_bin"], b["method"])
    assert len(gaps) >= 300
    gaps.sort()
    assert 10 <= gaps[len(gaps) // 2] <= 120  # median retry within a minute or two
    assert other_means >= len(gaps) / 5  # sometimes with another card or method
    assert reference.manifest.legit_behaviours["retry_after_decline"] == len(gaps)


def test_honest_big_purchases_exist(reference: Dataset) -> None:
    big = 0
    for history in reference.by_customer.values():
        for k, p in enumerate(history):
            usual = _mean_success(history[:k])
            if p["is_fraud"] == "0" and usual and float(p["amount"]) > 3 * usual:
                big += 1
    assert big >= 30


def test_most_fraud_has_signals_but_not_all(reference: Dataset) -> None:
    """Fraud is mostly on mobile/direct/new accounts/abroad; legit is mostly not."""

    def signals(p: Payment) -> int:
        customer = reference.customers[p["customer_id"]]
        return sum(
            (
                p["utm_source"] == "direct",
                p["result"] == "failed",
                p["payment_country"] != customer["country"],
                ts(p["attempt_ts"]) - ts(customer["signup_ts"]) < timedelta(days=7),
            )
        )

    fraud = [signals(p) for p in reference.payments if p["is_fraud"] == "1"]
    legit = [signals(p) for p in reference.legit()]
    assert sum(s >= 1 for s in fraud) / len(fraud) >= 0.7
    assert sum(s >= 1 for s in legit) / len(legit) <= 0.4
    assert 0 in fraud  # some fraud shows none of them
    assert any(p["device"] in MOBILE_DEVICES for p in reference.payments)
