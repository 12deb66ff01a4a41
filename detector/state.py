"""Per-customer state: what the rules need to remember about a customer's past.

State changes only through `record_payment` and `record_activity`, both driven by event time,
so replaying the same events in the same order always gives the same state (and the same
scores) whatever the wall clock says.  Retention is bounded by event time too.

Real sources repeat themselves (retries, a producer restarted from the beginning), so a state
also remembers which payments and events it has applied: `admit` tells a new event from one
already applied (`DUPLICATE`) and from one so far behind the customer's latest event that its
id is no longer remembered (`STALE`: a replay, or a source days late).  Neither changes the
state.  Ids are kept for a window of the customer's event time (`window_ms`: the service and
the Flink job pass the `KVT_DEDUP_WINDOW_MS` setting, `DEDUP_WINDOW_MS` is its default), with
the state, so the check survives restarts and reads the same on every database.
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
# Failed payment times kept for REPEAT_DECLINE: its largest window, and no more failures than
# its largest threshold can ask about (a card-testing burst cannot grow the state).
FAILED_RETENTION_MS = 90 * 86_400_000
FAILED_MAX = 20
# Applied payment and event ids are remembered this long behind the customer's latest event
# by default (the setting's default; a test keeps the two equal); anything older is refused
# unseen as STALE.  Far beyond the ordering's wait (seconds to minutes), far below a replay's
# distance (the whole history).
DEDUP_WINDOW_MS = 7 * 24 * 3600 * 1000

NEW = "new"
DUPLICATE = "duplicate"
STALE = "stale"


@dataclass(slots=True)
class CustomerState:
    payments: int = 0
    recent_ms: list[int] = field(default_factory=list)
    devices: set[str] = field(default_factory=set)
    success_sum: float = 0.0
    success_n: int = 0
    cart_start_ms: dict[str, int] = field(default_factory=dict)
    failed_ms: list[int] = field(default_factory=list)  # failed payment times, sorted, bounded
    latest_ms: int = -1  # the latest event time applied
    payment_ids: dict[str, int] = field(default_factory=dict)  # applied id -> event time
    event_ids: dict[str, int] = field(default_factory=dict)
    oldest_id_ms: int = -1  # the oldest time in the two id maps (-1: none): pruning is due

    def admit(self, e: Payment | Activity, window_ms: int = DEDUP_WINDOW_MS) -> str:
        """NEW, DUPLICATE (this id was applied) or STALE (older than the remembered ids)."""
        ids = self.payment_ids if type(e) is Payment else self.event_ids
        ident = e.payment_id if type(e) is Payment else e.event_id  # type: ignore[union-attr]
        if ident in ids:
            return DUPLICATE
        if e.ts_ms < self.latest_ms - window_ms:
            return STALE
        return NEW

    def _remember(self, ids: dict[str, int], ident: str, ts_ms: int, window_ms: int) -> None:
        ids[ident] = ts_ms
        if self.oldest_id_ms < 0 or ts_ms < self.oldest_id_ms:
            self.oldest_id_ms = ts_ms
        if ts_ms > self.latest_ms:
            self.latest_ms = ts_ms
            cutoff = ts_ms - window_ms
            if self.oldest_id_ms < cutoff:
                self._forget_before(cutoff)

    def _forget_before(self, cutoff: int) -> None:
        self.payment_ids = {i: t for i, t in self.payment_ids.items() if t >= cutoff}
        self.event_ids = {i: t for i, t in self.event_ids.items() if t >= cutoff}
        times = [*self.payment_ids.values(), *self.event_ids.values()]
        self.oldest_id_ms = min(times) if times else -1

    def record_payment(self, p: Payment, window_ms: int = DEDUP_WINDOW_MS) -> None:
        self._remember(self.payment_ids, p.payment_id, p.ts_ms, window_ms)
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
        elif p.result == "failed":
            self._record_failure(p.ts_ms)
        if len(self.cart_start_ms) > CART_PRUNE_AT:
            self._prune_carts(p.ts_ms)

    def record_activity(self, a: Activity, window_ms: int = DEDUP_WINDOW_MS) -> None:
        if a.event_type not in STATEFUL_EVENT_TYPES:
            return
        self._remember(self.event_ids, a.event_id, a.ts_ms, window_ms)
        if not a.session_id:
            return
        first = self.cart_start_ms.get(a.session_id)
        if first is None or a.ts_ms < first:
            self.cart_start_ms[a.session_id] = a.ts_ms
        if len(self.cart_start_ms) > CART_PRUNE_AT:
            self._prune_carts(a.ts_ms)

    def _record_failure(self, ts_ms: int) -> None:
        failed = self.failed_ms
        drop = bisect_right(failed, ts_ms - FAILED_RETENTION_MS)
        if drop or len(failed) >= FAILED_MAX:
            failed = self.failed_ms = failed[max(drop, len(failed) + 1 - FAILED_MAX) :]
        insort(failed, ts_ms)

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
            "failed_ms": list(self.failed_ms),
            "latest_ms": self.latest_ms,
            # Lists in time order: JSONB does not keep an object's key order.
            "payment_ids": [[i, t] for i, t in sorted(self.payment_ids.items(), key=_by_time)],
            "event_ids": [[i, t] for i, t in sorted(self.event_ids.items(), key=_by_time)],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CustomerState:
        state = cls(
            payments=int(d["payments"]),
            recent_ms=[int(t) for t in d["recent_ms"]],
            devices=set(d["devices"]),
            success_sum=float(d["success_sum"]),
            success_n=int(d["success_n"]),
            cart_start_ms={str(k): int(v) for k, v in d["cart_start_ms"].items()},
            # States written before REPEAT_DECLINE existed have no failure history.
            failed_ms=[int(t) for t in d.get("failed_ms", ())],
            # States written before ids were kept have none: their events count as new.
            latest_ms=int(d.get("latest_ms", -1)),
            payment_ids={str(i): int(t) for i, t in d.get("payment_ids", ())},
            event_ids={str(i): int(t) for i, t in d.get("event_ids", ())},
        )
        times = [*state.payment_ids.values(), *state.event_ids.values()]
        state.oldest_id_ms = min(times) if times else -1
        return state


def _by_time(item: tuple[str, int]) -> tuple[int, str]:
    return item[1], item[0]
