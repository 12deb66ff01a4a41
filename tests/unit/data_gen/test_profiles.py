"""Customer profiles look like real customers of a European electronics shop."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from data_gen.schema import DEVICES, SOURCES
from tests.unit.data_gen.datagen_support import Dataset, ts

WINDOW_START = "2025-11-01T00:00:00.000Z"


def test_time_zones_are_real_and_match_the_country(reference: Dataset) -> None:
    zones: dict[str, set[str]] = defaultdict(set)
    for c in reference.customers.values():
        ZoneInfo(c["timezone"])  # raises on an unknown IANA name
        zones[c["country"]].add(c["timezone"])
    assert zones["FR"] == {"Europe/Paris"} and zones["UK"] == {"Europe/London"}
    assert len(zones["US"]) >= 3 and all(z.startswith("America/") for z in zones["US"])
    assert len(zones["CA"]) >= 3 and all(z.startswith("America/") for z in zones["CA"])


def test_signup_mostly_before_the_window_some_inside(reference: Dataset) -> None:
    inside = sum(c["signup_ts"] >= WINDOW_START for c in reference.customers.values())
    share = inside / len(reference.customers)
    assert 0.04 <= share <= 0.2


def test_profile_vocabularies(reference: Dataset) -> None:
    customers = list(reference.customers.values())
    assert {c["preferred_device"] for c in customers} == set(DEVICES)
    assert {c["preferred_source"] for c in customers} == set(SOURCES)
    assert {c["spend_level"] for c in customers} == {"low", "medium", "high", "premium"}
    assert {c["segment"] for c in customers} == {"occasional", "regular", "loyal"}


def test_minors_are_flagged_from_their_birthdate(reference: Dataset) -> None:
    start = date(2025, 11, 1)
    minors = 0
    for c in reference.customers.values():
        born = date.fromisoformat(c["birthdate"])
        age = start.year - born.year - ((start.month, start.day) < (born.month, born.day))
        assert (c["is_minor"] == "1") == (age < 18), c["customer_id"]
        assert 15 <= age <= 90
        minors += age < 18
    assert minors > 0


def test_honest_customers_use_one_or_two_stable_devices(reference: Dataset) -> None:
    devices: dict[str, set[str]] = defaultdict(set)
    for s in reference.sessions.values():
        devices[s["customer_id"]].add(s["device_id"])
    fraud_customers = {p["customer_id"] for p in reference.payments if p["is_fraud"] == "1"}
    honest = [d for c, d in devices.items() if c not in fraud_customers]
    counts = Counter(min(len(d), 3) for d in honest)
    assert counts[1] > counts[2] > counts[3] > 0  # three: a new phone during the window
    assert counts[3] <= 0.1 * len(honest)


def test_preferred_device_is_the_usual_one(reference: Dataset) -> None:
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for s in reference.sessions.values():
        kinds[s["customer_id"]][s["device"]] += 1
    agree = sum(kinds[c][reference.customers[c]["preferred_device"]] > 0 for c in kinds)
    assert agree / len(kinds) >= 0.9


def test_spending_follows_the_spend_level(reference: Dataset) -> None:
    amounts: dict[str, list[float]] = defaultdict(list)
    for p in reference.legit():
        amounts[reference.customers[p["customer_id"]]["spend_level"]].append(float(p["amount"]))
    median = {k: sorted(v)[len(v) // 2] for k, v in amounts.items()}
    assert median["low"] < median["medium"] < median["high"] < median["premium"]


def test_sessions_are_funnels_that_often_stop_before_checkout(reference: Dataset) -> None:
    kinds: dict[str, list[str]] = defaultdict(list)
    for e in reference.events:
        kinds[e["session_id"]].append(e["event_type"])
    stopped = sum("checkout_start" not in k for k in kinds.values())
    assert 0.25 <= stopped / len(kinds) <= 0.7
    for k in kinds.values():
        if "payment_attempt" in k:  # a real funnel order
            assert k.index("add_to_cart") < k.index("checkout_start") < k.index("payment_attempt")
        assert k[0] in ("page_view", "product_view")


def test_dwell_times_are_seconds_to_minutes(reference: Dataset) -> None:
    last: dict[str, str] = {}
    gaps = []
    for e in reference.events:
        prev = last.get(e["session_id"])
        if prev is not None:
            gaps.append((ts(e["event_timestamp"]) - ts(prev)).total_seconds())
        last[e["session_id"]] = e["event_timestamp"]
    gaps.sort()
    assert 5 <= gaps[len(gaps) // 2] <= 90
    assert gaps[int(0.99 * len(gaps))] >= 60
    assert gaps[-1] < 3600
