"""What the Flink job decides without Flink: which messages it scores, which rule-set version
scores a payment.

Kept free of PyFlink so that these rules are unit-tested in the main environment.  (The order
of a customer's events is kept by the Java operator in detector/flink/java.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from data_gen.wire_format import BadMessage
from detector.codec import decode_activity, decode_payment, load_json
from detector.errors import RuleSetError
from detector.events import STATEFUL_EVENT_TYPES, Activity, Payment
from detector.ordering import ahead_of_clock, ahead_of_partition
from detector.rules import RuleSet

Event = Payment | Activity
# (applies to payments after this event time, version, RuleSet.to_dict())
Entry = tuple[int, str, dict[str, Any]]
NO_TIME = -(2**63)


def decode(
    is_payment: bool,
    value: bytes | None,
    max_bytes: int,
    ahead: str | None = None,
    partition: int = 0,
    max_ahead: tuple[int, int] = (0, 0),
) -> Event | None:
    """The engine event of an input message; None for a behavioural event that changes no
    state (a page view: the engine would ignore it).  Raises BadMessage, as the service:
    `future_timestamp` when the source found the time too far ahead (`ahead`, from
    detector/flink/java FutureTime: "partition:MS" or "clock:MS"; `max_ahead` is the
    (partition, clock) allowance it applied)."""
    obj = load_json(value, max_bytes)
    event: Event = decode_payment(obj) if is_payment else decode_activity(obj)
    if ahead is not None:
        raise BadMessage("future_timestamp", _ahead_detail(event, ahead, partition, max_ahead))
    if isinstance(event, Activity) and event.event_type not in STATEFUL_EVENT_TYPES:
        return None
    return event


def _ahead_detail(event: Event, ahead: str, partition: int, max_ahead: tuple[int, int]) -> str:
    field = "attempt_ts" if isinstance(event, Payment) else "event_timestamp"
    what, _, ms = ahead.partition(":")
    if what == "partition":
        return f"{field} {ahead_of_partition(event.ts_ms, partition, int(ms), max_ahead[0])}"
    return f"{field} {ahead_of_clock(event.ts_ms, int(ms), max_ahead[1])}"


# --- rule sets ----------------------------------------------------------------------------


def ruleset_message(ruleset: RuleSet, effective_ms: int | None = None) -> bytes:
    """The rulesets-topic message announcing `ruleset` (its version names the stored row).

    Without `effective_ms` it applies to every payment the job has not yet scored when it
    arrives; with it, to payments from that event time on (a change planned ahead)."""
    return orjson.dumps(
        {"version": ruleset.version, "ruleset": ruleset.to_dict(), "effective_ms": effective_ms}
    )


def read_ruleset_message(raw: str | bytes) -> tuple[RuleSet, int | None]:
    try:
        obj = orjson.loads(raw)
        ruleset = RuleSet.from_dict(obj["ruleset"], version=str(obj["version"]))
        effective = obj.get("effective_ms")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, RuleSetError) as exc:
        raise BadMessage("bad_ruleset", f"rulesets topic: {exc}"[:200]) from None
    if effective is not None and not isinstance(effective, int):
        raise BadMessage("bad_ruleset", f"effective_ms: expected an integer, got {effective!r}")
    return ruleset, effective


def add_version(
    entries: Sequence[Entry], ruleset: RuleSet, effective_ms: int | None, watermark: int
) -> list[Entry] | None:
    """The timeline with `ruleset` appended, or None when it is already the latest.

    A version never applies to a payment already scored (event time at or before the
    watermark when it arrives), so a replay after a failure scores as the first run did."""
    if entries and entries[-1][1] == ruleset.version:
        return None
    after = max(watermark, NO_TIME if effective_ms is None else effective_ms - 1)
    return [*entries, (after, ruleset.version, ruleset.to_dict())]


def version_for(entries: Iterable[Entry], ts_ms: int) -> Entry | None:
    """The latest version that applies to a payment at `ts_ms`."""
    found = None
    for entry in entries:
        if entry[0] < ts_ms:
            found = entry
    return found
