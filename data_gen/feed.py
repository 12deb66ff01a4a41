"""Turn a dataset into the engine's event stream, in event-time order.

The order is total and deterministic: by timestamp, then behavioural events before payments
(an add_to_cart and a payment in the same millisecond: the cart came first), then by id.  The
backtest, the embedded replay source and the Kafka producer all use this one ordering.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import orjson
import pandas as pd

from data_gen.readers import Dataset
from data_gen.wire_format import format_ts, payment_message
from detector.events import STATEFUL_EVENT_TYPES, Activity, Payment


def to_ms(col: pd.Series) -> np.ndarray:
    """UTC timestamps to int64 epoch milliseconds (NaT becomes the int64 minimum)."""
    return col.dt.as_unit("ms").astype("int64").to_numpy()


@dataclass(frozen=True)
class Profiles:
    country: dict[str, str]
    tz: dict[str, str]
    signup_ms: dict[str, int | None]

    @classmethod
    def of(cls, customers: pd.DataFrame) -> Profiles:
        ids = customers["customer_id"].tolist()
        signup = customers["signup_ts"]
        ms = to_ms(signup)
        na = signup.isna().to_numpy()
        return cls(
            country=dict(zip(ids, customers["country"].tolist(), strict=True)),
            tz=dict(zip(ids, customers["timezone"].tolist(), strict=True)),
            signup_ms={c: (None if n else int(m)) for c, m, n in zip(ids, ms, na, strict=True)},
        )


def payments_of(ds: Dataset) -> list[Payment]:
    """Payments in file order (the reader sorts them by time, then id), with profiles joined."""
    prof = Profiles.of(ds.customers)
    pay = ds.payments
    cust = pay["customer_id"].tolist()
    return [
        Payment(
            payment_id=pid,
            customer_id=c,
            session_id=sid,
            ts_ms=int(ts),
            amount=float(amt),
            currency=cur,
            result=res,
            device=dev,
            device_id=did,
            utm_source=src,
            country=ctry,
            method=meth,
            customer_country=prof.country[c],
            customer_tz=prof.tz[c],
            customer_signup_ms=prof.signup_ms[c],
            card_bin=bin_,
            ip_hash=ip,
        )
        for pid, c, sid, ts, amt, cur, res, dev, did, src, ctry, meth, bin_, ip in zip(
            pay["payment_id"].tolist(),
            cust,
            pay["session_id"].tolist(),
            to_ms(pay["attempt_ts"]).tolist(),
            pay["amount"].tolist(),
            pay["currency"].tolist(),
            pay["result"].tolist(),
            pay["device"].tolist(),
            pay["device_id"].tolist(),
            pay["utm_source"].tolist(),
            pay["payment_country"].tolist(),
            pay["method"].tolist(),
            pay["card_bin"].tolist(),
            pay["ip_hash"].tolist(),
            strict=True,
        )
    ]


def activities_of(ds: Dataset, scoring_only: bool = False) -> list[Activity]:
    """The behavioural events that change state (add_to_cart), in time order.

    With `scoring_only`, only the first add_to_cart of each session that has a payment: the
    others can change no score (FAST_CHECKOUT reads the payment's own session's first cart,
    and a cart pruned after 24 h is older than any allowed `max_seconds`), so the backtest
    skips them.  Customer states then differ in carts nobody reads; scores are identical.
    """
    ev = ds.events(
        columns=["event_id", "customer_id", "session_id", "event_type", "event_timestamp"],
        event_types=STATEFUL_EVENT_TYPES,
    )
    paid = set(ds.payments["session_id"].tolist()) if scoring_only else None
    return activities_from(ev, paid)


def activities_from(ev: pd.DataFrame, paid_sessions: set[str] | None = None) -> list[Activity]:
    """Stateful events of a frame (any order, any types) as activities in engine order;
    with ``paid_sessions``, only each such session's first add_to_cart (see above)."""
    ev = ev[ev["event_type"].isin(list(STATEFUL_EVENT_TYPES)).to_numpy()]
    ev = ev.sort_values(["event_timestamp", "event_id"], kind="stable")
    if paid_sessions is not None:
        paid = ev["session_id"].isin(paid_sessions)
        ev = ev[paid & ~ev.duplicated(subset=["customer_id", "session_id"], keep="first")]
    return [
        Activity(eid, c, s, t, int(ts))
        for eid, c, s, t, ts in zip(
            ev["event_id"].tolist(),
            ev["customer_id"].tolist(),
            ev["session_id"].tolist(),
            ev["event_type"].tolist(),
            to_ms(ev["event_timestamp"]).tolist(),
            strict=True,
        )
    ]


def merge_in_time_order(
    activities: list[Activity], payments: list[Payment]
) -> Iterator[Activity | Payment]:
    """Merge two lists already sorted by (ts, id) into the engine's total order."""
    i = j = 0
    na, npay = len(activities), len(payments)
    while i < na and j < npay:
        a, p = activities[i], payments[j]
        if a.ts_ms <= p.ts_ms:
            yield a
            i += 1
        else:
            yield p
            j += 1
    yield from activities[i:]
    yield from payments[j:]


def dataset_events(ds: Dataset, scoring_only: bool = False) -> list[Activity | Payment]:
    return list(merge_in_time_order(activities_of(ds, scoring_only), payments_of(ds)))


@dataclass(frozen=True, slots=True)
class OutMessage:
    """A message to publish: `kind` is user_events, payments or orders (a `Topics` field)."""

    kind: str
    key: str
    value: bytes
    ts_ms: int


def dataset_messages(ds: Dataset, with_orders: bool = True) -> list[OutMessage]:
    """Every behavioural event, payment and order as topic messages, in engine order."""
    ev = ds.events()
    ev_ms = to_ms(ev["event_timestamp"])
    cols = [c for c in ev.columns if c != "event_timestamp"]
    records = ev[cols].astype(object).where(ev[cols].notna(), None)
    rows: list[tuple[int, int, str, OutMessage]] = []
    for ts, eid, rec in zip(
        ev_ms.tolist(), ev["event_id"].tolist(), records.to_dict("records"), strict=True
    ):
        body = {k: (v if v != "" else None) for k, v in rec.items()}
        body["event_timestamp"] = format_ts(ts)
        msg = OutMessage("user_events", rec["customer_id"], orjson.dumps(body), ts)
        rows.append((ts, 0, eid, msg))
    for p in payments_of(ds):
        msg = OutMessage("payments", p.customer_id, orjson.dumps(payment_message(p)), p.ts_ms)
        rows.append((p.ts_ms, 1, p.payment_id, msg))
    if with_orders:
        orders = ds.orders
        o_ms = to_ms(orders["order_ts"])
        for ts, rec in zip(o_ms.tolist(), orders.astype(object).to_dict("records"), strict=True):
            body = {k: v for k, v in rec.items() if k != "order_ts"}
            body["order_ts"] = format_ts(ts)
            msg = OutMessage("orders", rec["customer_id"], orjson.dumps(body), ts)
            rows.append((ts, 2, rec["order_id"], msg))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return [r[3] for r in rows]
