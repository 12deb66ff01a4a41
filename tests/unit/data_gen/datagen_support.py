"""Loading a generated dataset with the stdlib only (the readers are tested elsewhere)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from data_gen import Manifest
from data_gen.schema import EVENTS_FILE


@dataclass(frozen=True)
class Dataset:
    path: Path
    manifest: Manifest
    customers: dict[str, dict[str, str]]
    products: dict[str, dict[str, str]]
    sessions: dict[str, dict[str, str]]
    orders: dict[str, dict[str, str]]
    order_items: list[dict[str, str]]
    payments: list[dict[str, str]]  # file order: (attempt_ts, payment_id)
    events: list[dict[str, Any]]  # file order: (event_timestamp, event_id)

    @cached_property
    def by_customer(self) -> dict[str, list[dict[str, str]]]:
        """Each customer's payments in time order."""
        out: dict[str, list[dict[str, str]]] = {}
        for p in self.payments:
            out.setdefault(p["customer_id"], []).append(p)
        return out

    def fraud(self, scenario: str) -> list[dict[str, str]]:
        return [p for p in self.payments if p["fraud_scenario"] == scenario]

    def legit(self) -> Iterator[dict[str, str]]:
        return (p for p in self.payments if p["is_fraud"] == "0")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def load(path: Path, manifest: Manifest) -> Dataset:
    def by(name: str, key: str) -> dict[str, dict[str, str]]:
        return {r[key]: r for r in read_csv(path / name)}

    with (path / EVENTS_FILE).open(encoding="utf-8") as f:
        events = [json.loads(line) for line in f]
    return Dataset(
        path=path,
        manifest=manifest,
        customers=by("customers.csv", "customer_id"),
        products=by("products.csv", "product_id"),
        sessions=by("sessions.csv", "session_id"),
        orders=by("orders.csv", "order_id"),
        order_items=read_csv(path / "order_items.csv"),
        payments=read_csv(path / "payments.csv"),
        events=events,
    )


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
