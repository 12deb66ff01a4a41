"""The KiVendTout dataset layout: file names and column order, shared by writers and readers.

A dataset directory holds one CSV per table, the behavioural events as JSON lines and a
``manifest.json``.  Timestamps are UTC ISO-8601 strings with millisecond precision and a
trailing ``Z`` (``2025-11-03T14:22:05.123Z``); empty optional fields are empty strings in CSV
and ``null`` in JSON.  Country codes are any ISO 3166-1 alpha-2 code (:mod:`data_gen.countries`)
except that the United Kingdom is written ``UK`` (the shop's historical spelling; readers also
accept ``GB``).
"""

from __future__ import annotations

from typing import Final

CUSTOMERS: Final = (
    "customer_id",
    "signup_ts",
    "country",
    "timezone",
    "preferred_device",
    "preferred_source",
    "spend_level",
    "segment",
    "birthdate",
    "is_minor",
)
PRODUCTS: Final = (
    "product_id",
    "name",
    "category",
    "is_adult_restricted",
    "unit_price",
    "created_at",
)
SESSIONS: Final = (
    "session_id",
    "customer_id",
    "start_ts",
    "end_ts",
    "device",
    "device_id",
    "ip_hash",
    "country",
    "utm_source",
    "utm_campaign",
)
ORDERS: Final = (
    "order_id",
    "customer_id",
    "session_id",
    "payment_id",
    "order_ts",
    "total_amount",
    "currency",
    "shipping_method",
    "status",
)
ORDER_ITEMS: Final = ("order_id", "product_id", "qty", "unit_price")
PAYMENTS: Final = (
    "payment_id",
    "customer_id",
    "session_id",
    "order_id",
    "attempt_ts",
    "method",
    "card_bin",
    "payment_country",
    "ip_hash",
    "device",
    "device_id",
    "utm_source",
    "amount",
    "currency",
    "result",
    "decline_reason",
    "is_fraud",
    "fraud_scenario",
    "fraud_incident_id",
)
EVENTS: Final = (
    "event_id",
    "customer_id",
    "session_id",
    "event_type",
    "event_timestamp",
    "device",
    "device_id",
    "utm_source",
    "country",
    "product_id",
    "amount",
    "payment_id",
    "order_id",
)

TABLES: Final[dict[str, tuple[str, ...]]] = {
    "customers.csv": CUSTOMERS,
    "products.csv": PRODUCTS,
    "sessions.csv": SESSIONS,
    "orders.csv": ORDERS,
    "order_items.csv": ORDER_ITEMS,
    "payments.csv": PAYMENTS,
}
EVENTS_FILE: Final = "events.jsonl"
EVENTS_PARQUET: Final = "events.parquet"
MANIFEST_FILE: Final = "manifest.json"

DEVICES: Final = ("desktop", "mobile", "ios", "android")
MOBILE_DEVICES: Final = frozenset({"mobile", "ios", "android"})
SOURCES: Final = ("google", "facebook", "email", "seo", "direct")
EVENT_TYPES: Final = (
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "view_cart",
    "checkout_start",
    "add_payment_method",
    "payment_attempt",
    "payment_success",
    "payment_failed",
)
PAYMENT_RESULTS: Final = ("success", "failed")
# Labels written in payments.fraud_scenario; "" means legitimate.
FRAUD_SCENARIOS: Final = (
    "card_testing",
    "stolen_card_new_account",
    "account_takeover",
    "device_ring",
    "low_signal",
)
