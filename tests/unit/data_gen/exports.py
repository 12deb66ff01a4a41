"""Small shop exports written in either layout, clean by default, for the import check's tests.

``clean_export()`` is a consistent dataset of 40 customers (France, Portugal: not a market and
three zones, the United States: many zones, Great Britain written ``GB``) with three payments
each, each payment inside its own session after an add_to_cart, devices reused, labels set.
Tests mutate its records to reproduce one finding at a time and write it with ``write()`` in
our layout or as a KiVendTout prototype export.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from data_gen import schema

Record = dict[str, Any]
START = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
COUNTRIES = ("FR", "PT", "US", "GB")
OWN, PROTOTYPE = "own", "prototype"

_PROTOTYPE_TABLES = {
    "customers.csv": ("customer_id", "signup_ts", "country", "preferred_device", "birthdate",
                      "is_minor"),
    "products.csv": schema.PRODUCTS,
    "sessions.csv": ("session_id", "customer_id", "start_ts", "end_ts", "device", "ip_hash",
                     "utm_source", "utm_campaign"),
    "orders.csv": schema.ORDERS,
    "order_items.csv": ("order_id", "product_id", "qty"),
    "payments.csv": ("payment_id", "customer_id", "session_id", "attempt_ts", "method",
                     "card_bin", "payment_country", "ip_hash", "device_id", "amount", "result",
                     "is_fraud_label"),
}  # fmt: skip
_PROTOTYPE_EVENT_KEYS = {
    "event_id": "event_id",
    "customer_id": "customer_id",
    "session_id": "session_id",
    "event_type": "event_type",
    "event_timestamp": "ts",
    "device": "device",
    "utm_source": "utm_source",
    "product_id": "product_id",
    "amount": "cart_value",
    "payment_id": "payment_id",
    "order_id": "order_id",
}


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass
class Export:
    customers: list[Record] = field(default_factory=list)
    products: list[Record] = field(default_factory=list)
    sessions: list[Record] = field(default_factory=list)
    orders: list[Record] = field(default_factory=list)
    order_items: list[Record] = field(default_factory=list)
    payments: list[Record] = field(default_factory=list)
    events: list[Record] = field(default_factory=list)

    def payment(self, payment_id: str) -> Record:
        return next(p for p in self.payments if p["payment_id"] == payment_id)

    def session(self, session_id: str) -> Record:
        return next(s for s in self.sessions if s["session_id"] == session_id)

    def customer(self, customer_id: str) -> Record:
        return next(c for c in self.customers if c["customer_id"] == customer_id)


def clean_export(customers: int = 40, frauds_every: int = 7) -> Export:
    ex = Export()
    ex.products.append(
        {"product_id": "P1", "name": "Cable", "category": "accessories",
         "is_adult_restricted": "false", "unit_price": "19.99", "created_at": iso(START)}
    )  # fmt: skip
    n_pay = 0
    for c in range(customers):
        cid = f"C{c:03d}"
        country = COUNTRIES[c % len(COUNTRIES)]
        signup = START - timedelta(days=30 + c)
        ex.customers.append(
            {"customer_id": cid, "signup_ts": iso(signup), "country": country, "timezone": "",
             "preferred_device": "desktop", "preferred_source": "google", "spend_level": "low",
             "segment": "regular", "birthdate": "1980-01-01", "is_minor": "false"}
        )  # fmt: skip
        for k in range(3):
            sid, pid, oid = f"S{c:03d}{k}", f"PAY{c:03d}{k}", f"O{c:03d}{k}"
            # Days apart, mid-afternoon UTC: no velocity, no night hours anywhere.
            start = START + timedelta(days=5 * k + c % 3, hours=5, minutes=c)
            cart, paid, end = (start + timedelta(minutes=m) for m in (2, 9, 15))
            device = "mobile" if c % 4 == 0 else "desktop"
            n_pay += 1
            fraud = n_pay % frauds_every == 0
            ex.sessions.append(
                {"session_id": sid, "customer_id": cid, "start_ts": iso(start),
                 "end_ts": iso(end), "device": device, "device_id": f"D{cid}",
                 "ip_hash": f"ip{cid}", "country": country, "utm_source": "google",
                 "utm_campaign": ""}
            )  # fmt: skip
            ex.orders.append(
                {"order_id": oid, "customer_id": cid, "session_id": sid, "payment_id": pid,
                 "order_ts": iso(paid), "total_amount": "39.98", "currency": "EUR",
                 "shipping_method": "standard", "status": "paid"}
            )  # fmt: skip
            ex.order_items.append(
                {"order_id": oid, "product_id": "P1", "qty": "2", "unit_price": "19.99"}
            )
            ex.payments.append(
                {"payment_id": pid, "customer_id": cid, "session_id": sid, "order_id": oid,
                 "attempt_ts": iso(paid), "method": "card", "card_bin": "497010",
                 "payment_country": country, "ip_hash": f"ip{cid}", "device": device,
                 "device_id": f"D{cid}", "utm_source": "google", "amount": "39.98",
                 "currency": "EUR", "result": "success", "decline_reason": "",
                 "is_fraud": "1" if fraud else "0",
                 "fraud_scenario": "low_signal" if fraud else "",
                 "fraud_incident_id": f"INC{pid}" if fraud else ""}
            )  # fmt: skip
            for e, (etype, when) in enumerate(
                (("page_view", start), ("add_to_cart", cart), ("payment_attempt", paid))
            ):
                ex.events.append(
                    {"event_id": f"E{c:03d}{k}{e}", "customer_id": cid, "session_id": sid,
                     "event_type": etype, "event_timestamp": iso(when), "device": device,
                     "device_id": f"D{cid}", "utm_source": "google", "country": country,
                     "product_id": "P1" if etype == "add_to_cart" else None,
                     "amount": 39.98 if etype == "add_to_cart" else None,
                     "payment_id": pid if etype == "payment_attempt" else None,
                     "order_id": None}
                )  # fmt: skip
    return ex


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[Record]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(columns)
        for row in rows:
            out.writerow(["" if row.get(c) is None else row.get(c, "") for c in columns])


def write(ex: Export, directory: Path, layout: str) -> Path:
    """Write ``ex`` into ``directory`` (created) in ``OWN`` or ``PROTOTYPE`` layout."""
    directory.mkdir(parents=True, exist_ok=True)
    tables = {
        "customers.csv": ex.customers,
        "products.csv": ex.products,
        "sessions.csv": ex.sessions,
        "orders.csv": ex.orders,
        "order_items.csv": ex.order_items,
        "payments.csv": ex.payments,
    }
    for file, rows in tables.items():
        if layout == OWN:
            _write_csv(directory / file, schema.TABLES[file], rows)
        else:
            renamed = [{**r, "is_fraud_label": r.get("is_fraud", "")} for r in rows]
            _write_csv(directory / file, _PROTOTYPE_TABLES[file], renamed)
    with (directory / schema.EVENTS_FILE).open("w", encoding="utf-8") as handle:
        for event in ex.events:
            if layout == OWN:
                record = {k: event.get(k) for k in schema.EVENTS}
            else:
                record = {key: event.get(k) for k, key in _PROTOTYPE_EVENT_KEYS.items()}
            handle.write(json.dumps(record) + "\n")
    return directory
