"""What the Flink job decides without Flink: which messages it scores, which rule-set version
scores a payment.

Kept free of PyFlink so that these rules are unit-tested in the main environment.  (The order
of a customer's events is kept by the Java operator in detector/flink/java.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from detector.codec import BadMessage, decode_activity, decode_payment, load_json
from detector.errors import RuleSetError
from detector.events import STATEFUL_EVENT_TYPES, Activity, Payment
from detector.rules import RuleSet

Event = Payment | Activity
# (applies to payments after this event time, version, RuleSet.to_dict())
Entry = tuple[int, str, dict[str, Any]]
NO_TIME = -(2**63)


def decode(is_payment: bool, value: bytes | None, max_bytes: int) -> Event | None:
    """The engine event of an input message; None for a behavioural event that changes no
    state (a page view: the engine would ignore it).  Raises BadMessage, as the service."""
    obj = load_json(value, max_bytes)
    if is_payment:
        return decode_payment(obj)
    a = decode_activity(obj)
    return a if a.event_type in STATEFUL_EVENT_TYPES else None


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
