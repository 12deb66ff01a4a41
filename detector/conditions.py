"""Rule conditions: for each rule id, when it fires and what it measured.

Every condition reads the payment and the customer's state *before* that payment, plus the
rule's parameters.  Times come from the events only.  `fires` is on the hot path of the
backtest (millions of calls), so it stays branch-light; `measure` runs only for rules that
fired, to explain the score with the measured values.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detector.errors import EventError
from detector.events import Payment
from detector.state import CustomerState

Params = Mapping[str, float]
MS_PER_DAY = 86_400_000
MOBILE = frozenset({"mobile", "ios", "android"})
_OFFSET_BUCKET_MS = 86_400_000  # one UTC day


@lru_cache(maxsize=64)
def zone_info(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise EventError(f"customer_tz: unknown time zone {tz!r}") from None


_OFFSETS: dict[tuple[str, int], int] = {}


def _utc_offset_ms(zone: ZoneInfo, ts_ms: int) -> int:
    # fromtimestamp converts from UTC (fold included); utcoffset() on a naive or UTC datetime
    # would read it as wall time and be off for hours around every DST change.
    offset = datetime.fromtimestamp(ts_ms / 1000, zone).utcoffset()
    return 0 if offset is None else int(offset.total_seconds() * 1000)


def _offset_ms(tz: str, ts_ms: int, bucket: int) -> int:
    # A day's offset is cached only when both ends of the UTC day agree: no zone in tzdata
    # has two transitions in one UTC day, so equal ends mean no change inside.  On the two
    # transition days of a year each payment's offset is computed on its own, exactly.
    zone = zone_info(tz)
    start = bucket * _OFFSET_BUCKET_MS
    first = _utc_offset_ms(zone, start)
    if first != _utc_offset_ms(zone, start + _OFFSET_BUCKET_MS - 1):
        return _utc_offset_ms(zone, ts_ms)
    if len(_OFFSETS) > 1 << 18:
        _OFFSETS.clear()
    _OFFSETS[(tz, bucket)] = first
    return first


def local_minute_of_day(ts_ms: int, tz: str) -> int:
    bucket = ts_ms // _OFFSET_BUCKET_MS
    offset = _OFFSETS.get((tz, bucket))
    if offset is None:
        offset = _offset_ms(tz, ts_ms, bucket)
    return ((ts_ms + offset) % MS_PER_DAY) // 60_000


def _window_count(p: Payment, s: CustomerState, params: Params) -> tuple[int, int]:
    """Payments in the window ending at this one (included), and the window's span in ms."""
    recent = s.recent_ms  # sorted ascending
    lo = bisect_right(recent, p.ts_ms - params["window_minutes"] * 60_000)
    hi = bisect_right(recent, p.ts_ms)
    count = 1 + hi - lo
    return count, (p.ts_ms - recent[lo]) if count > 1 else 0


def _in_hours(minute: int, params: Params) -> bool:
    start, end = params["start_hour"] * 60, params["end_hour"] * 60
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end


def _checkout_ms(p: Payment, s: CustomerState) -> int | None:
    start = s.cart_start_ms.get(p.session_id)
    return None if start is None or start > p.ts_ms else p.ts_ms - start


def _first_payment(p: Payment, s: CustomerState, _: Params) -> bool:
    return s.payments == 0


def _new_customer(p: Payment, s: CustomerState, params: Params) -> bool:
    signup = p.customer_signup_ms
    return signup is not None and 0 <= p.ts_ms - signup < params["days"] * MS_PER_DAY


def _unusual_hour(p: Payment, s: CustomerState, params: Params) -> bool:
    return _in_hours(local_minute_of_day(p.ts_ms, p.customer_tz), params)


def _mobile(p: Payment, s: CustomerState, _: Params) -> bool:
    return p.device in MOBILE


def _direct(p: Payment, s: CustomerState, _: Params) -> bool:
    return p.utm_source == "direct"


def _failed(p: Payment, s: CustomerState, _: Params) -> bool:
    return p.result == "failed"


def _velocity(p: Payment, s: CustomerState, params: Params) -> bool:
    if len(s.recent_ms) + 1 < params["min_payments"]:
        return False
    return _window_count(p, s, params)[0] >= params["min_payments"]


def _new_device(p: Payment, s: CustomerState, _: Params) -> bool:
    return bool(s.devices) and bool(p.device_id) and p.device_id not in s.devices


def _unusual_amount(p: Payment, s: CustomerState, params: Params) -> bool:
    n = s.success_n
    return n >= params["min_history"] and p.amount > params["multiplier"] * s.success_sum / n


def _fast_checkout(p: Payment, s: CustomerState, params: Params) -> bool:
    elapsed = _checkout_ms(p, s)
    return elapsed is not None and elapsed < params["max_seconds"] * 1000


def _geo_mismatch(p: Payment, s: CustomerState, _: Params) -> bool:
    return bool(p.country) and bool(p.customer_country) and p.country != p.customer_country


def _earlier_failures(p: Payment, s: CustomerState, params: Params) -> int:
    """Failed payments strictly before this one within the window."""
    failed = s.failed_ms
    lo = bisect_right(failed, p.ts_ms - params["window_days"] * MS_PER_DAY)
    return bisect_left(failed, p.ts_ms) - lo


def _repeat_decline(p: Payment, s: CustomerState, params: Params) -> bool:
    return (
        p.result == "failed"
        and bool(s.failed_ms)
        and _earlier_failures(p, s, params) >= params["min_failures"]
    )


# --- explanations -------------------------------------------------------------------------

Measured = dict[str, float | int | str]


def _m_first(p: Payment, s: CustomerState, _: Params) -> Measured:
    return {"earlier_payments": s.payments}


def _m_new_customer(p: Payment, s: CustomerState, _: Params) -> Measured:
    assert p.customer_signup_ms is not None
    return {"account_age_days": round((p.ts_ms - p.customer_signup_ms) / MS_PER_DAY, 1)}


def _m_hour(p: Payment, s: CustomerState, _: Params) -> Measured:
    minute = local_minute_of_day(p.ts_ms, p.customer_tz)
    return {"local_time": f"{minute // 60:02d}:{minute % 60:02d}", "tz": p.customer_tz}


def _m_device(p: Payment, s: CustomerState, _: Params) -> Measured:
    return {"device": p.device}


def _m_source(p: Payment, s: CustomerState, _: Params) -> Measured:
    return {"utm_source": p.utm_source}


def _m_failed(p: Payment, s: CustomerState, _: Params) -> Measured:
    return {"result": p.result}


def _m_velocity(p: Payment, s: CustomerState, params: Params) -> Measured:
    count, span = _window_count(p, s, params)
    return {"payments": count, "span_min": round(span / 60_000, 1)}


def _m_new_device(p: Payment, s: CustomerState, _: Params) -> Measured:
    return {"device_id": p.device_id, "known_devices": len(s.devices)}


def _m_amount(p: Payment, s: CustomerState, _: Params) -> Measured:
    mean = s.success_sum / s.success_n
    return {
        "amount": round(p.amount, 2),
        "mean": round(mean, 2),
        "ratio": round(p.amount / mean, 1) if mean else 0.0,
    }


def _m_checkout(p: Payment, s: CustomerState, _: Params) -> Measured:
    elapsed = _checkout_ms(p, s)
    assert elapsed is not None
    return {"seconds": round(elapsed / 1000, 1)}


def _m_geo(p: Payment, s: CustomerState, _: Params) -> Measured:
    return {"payment_country": p.country, "profile_country": p.customer_country}


def _m_repeat_decline(p: Payment, s: CustomerState, params: Params) -> Measured:
    window = params["window_days"] * MS_PER_DAY
    recent = [t for t in s.failed_ms if p.ts_ms - window < t < p.ts_ms]
    return {
        "earlier_failures": _earlier_failures(p, s, params),
        "window_days": int(params["window_days"]),
        "last_failure_h": round((p.ts_ms - recent[-1]) / 3_600_000, 1) if recent else 0.0,
    }


@dataclass(frozen=True)
class Condition:
    fires: Callable[[Payment, CustomerState, Params], bool]
    measure: Callable[[Payment, CustomerState, Params], Measured]


CONDITIONS: dict[str, Condition] = {
    "FIRST_PAYMENT": Condition(_first_payment, _m_first),
    "NEW_CUSTOMER": Condition(_new_customer, _m_new_customer),
    "UNUSUAL_HOUR": Condition(_unusual_hour, _m_hour),
    "MOBILE_DEVICE": Condition(_mobile, _m_device),
    "DIRECT_TRAFFIC": Condition(_direct, _m_source),
    "PAYMENT_FAILED": Condition(_failed, _m_failed),
    "VELOCITY_HIGH": Condition(_velocity, _m_velocity),
    "NEW_DEVICE": Condition(_new_device, _m_new_device),
    "UNUSUAL_AMOUNT": Condition(_unusual_amount, _m_amount),
    "FAST_CHECKOUT": Condition(_fast_checkout, _m_checkout),
    "GEO_MISMATCH": Condition(_geo_mismatch, _m_geo),
    "REPEAT_DECLINE": Condition(_repeat_decline, _m_repeat_decline),
}
