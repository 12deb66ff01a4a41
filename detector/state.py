"""Per-customer state: what the rules need to remember about a customer's past.

State changes only through `record_payment` and `record_activity`, both driven by event time,
so replaying the same events in the same order always gives the same state (and the same
scores) whatever the wall clock says.  Retention is bounded by event time too.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass, field
from typing import Any

from detector.events import STATEFUL_EVENT_TYPES, Activity, Payment

# Earlier payment times kept for VELOCITY_HIGH: one day covers the largest allowed window.
RECENT_RETENTION_MS = 24 * 3600 * 1000
RECENT_MAX = 100
# A session's first add_to_cart is remembered this long for FAST_CHECKOUT.
CART_RETENTION_MS = 24 * 3600 * 1000
CART_PRUNE_AT = 4  # sessions remembered before old ones are pruned


@dataclass(slots=True)
class CustomerState:
    payments: int = 0
    recent_ms: list[int] = field(default_factory=list)
    devices: set[str] = field(default_factory=set)
    success_sum: float = 0.0
    success_n: int = 0
    cart_start_ms: dict[str, int] = field(default_factory=dict)

    def record_payment(self, p: Payment) -> None:
        self.payments += 1
        recent = self.recent_ms
        # Events arrive in time order, so recent_ms stays sorted and pruning is a bisect.
        drop = bisect_right(recent, p.ts_ms - RECENT_RETENTION_MS)
        if drop or len(recent) >= RECENT_MAX:
            recent = self.recent_ms = recent[max(drop, len(recent) + 1 - RECENT_MAX) :]
        insort(recent, p.ts_ms)
        if p.device_id:
            self.devices.add(p.device_id)
        if p.result == "success":
            self.success_sum += p.amount
            self.success_n += 1
        if len(self.cart_start_ms) > CART_PRUNE_AT:
            self._prune_carts(p.ts_ms)

    def record_activity(self, a: Activity) -> None:
        if a.event_type not in STATEFUL_EVENT_TYPES or not a.session_id:
            return
        first = self.cart_start_ms.get(a.session_id)
        if first is None or a.ts_ms < first:
            self.cart_start_ms[a.session_id] = a.ts_ms
        if len(self.cart_start_ms) > CART_PRUNE_AT:
            self._prune_carts(a.ts_ms)

    def _prune_carts(self, now_ms: int) -> None:
        cutoff = now_ms - CART_RETENTION_MS
        self.cart_start_ms = {s: t for s, t in self.cart_start_ms.items() if t > cutoff}

    def to_dict(self) -> dict[str, Any]:
        return {
            "payments": self.payments,
            "recent_ms": list(self.recent_ms),
            "devices": sorted(self.devices),
            "success_sum": self.success_sum,
            "success_n": self.success_n,
            "cart_start_ms": dict(sorted(self.cart_start_ms.items())),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CustomerState:
        return cls(
            payments=int(d["payments"]),
            recent_ms=[int(t) for t in d["recent_ms"]],
            devices=set(d["devices"]),
            success_sum=float(d["success_sum"]),
            success_n=int(d["success_n"]),
            cart_start_ms={str(k): int(v) for k, v in d["cart_start_ms"].items()},
        )
