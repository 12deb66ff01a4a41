"""Local time (UNUSUAL_HOUR's input) is zoneinfo's own at every minute, transitions included."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from zoneinfo._zoneinfo import ZoneInfo as PyZoneInfo

import pytest

from detector import conditions
from detector.conditions import local_minute_of_day, zone_info
from tests.unit.detector.factories import ms

MIN = 60_000


def _expected(ts_ms: int, tz: str) -> int:
    local = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(zone_info(tz))
    return local.hour * 60 + local.minute


@pytest.mark.parametrize(
    "tz",
    [
        "Europe/Paris",
        "America/New_York",
        "Asia/Kolkata",  # +05:30, no DST
        "Asia/Kathmandu",  # +05:45, no DST
        "Australia/Lord_Howe",  # +10:30 / +11: a half-hour DST
    ],
)
def test_every_minute_of_2025_matches_astimezone(tz: str) -> None:
    conditions._OFFSETS.clear()
    start = ms("2025-01-01T00:00:00")
    minutes = 365 * 24 * 60
    wrong = [
        t
        for t in range(start, start + minutes * MIN, MIN)
        if local_minute_of_day(t, tz) != _expected(t, tz)
    ]
    assert not wrong, f"{len(wrong)} wrong minutes, first at {wrong[0]}"


@pytest.mark.parametrize(
    ("utc", "tz", "local"),
    [
        # The two cases: the old code gave 03:30 and 02:30.
        ("2025-10-26T01:30:00", "Europe/Paris", "02:30"),  # CET again after 01:00 UTC
        ("2025-10-26T00:59:00", "Europe/Paris", "02:59"),  # still CEST
        ("2025-03-09T06:30:00", "America/New_York", "01:30"),  # EST until 07:00 UTC
        ("2025-03-09T07:00:00", "America/New_York", "03:00"),  # EDT from 07:00 UTC
        ("2025-03-30T01:00:00", "Europe/Paris", "03:00"),  # 02:00 CET does not exist
        ("2025-04-05T14:59:00", "Australia/Lord_Howe", "01:59"),  # +11 until 15:00 UTC
        ("2025-04-05T15:00:00", "Australia/Lord_Howe", "01:30"),  # +10:30: 01:30 again
    ],
)
def test_local_time_at_transitions(utc: str, tz: str, local: str) -> None:
    minute = local_minute_of_day(ms(utc), tz)
    assert f"{minute // 60:02d}:{minute % 60:02d}" == local


def test_a_transition_day_is_computed_per_payment_and_exact() -> None:
    conditions._OFFSETS.clear()
    # Amsterdam moved from +01:19:32 to +01:20 at 1937-06-30 22:40:28 UTC, off any round time.
    t0 = int(datetime(1937, 6, 30, 22, 0, tzinfo=UTC).timestamp() * 1000)
    for t in range(t0, t0 + 90 * MIN, 7_000):  # every 7 s across the change
        assert local_minute_of_day(t, "Europe/Amsterdam") == _expected(t, "Europe/Amsterdam")
    day = t0 // conditions._OFFSET_BUCKET_MS
    assert ("Europe/Amsterdam", day) not in conditions._OFFSETS
    local_minute_of_day(t0 + 86_400_000, "Europe/Amsterdam")
    assert ("Europe/Amsterdam", day + 1) in conditions._OFFSETS


def test_no_zone_changes_offset_twice_in_one_utc_day() -> None:
    # The day cache rests on this: equal offsets at both ends of a UTC day mean none inside.
    # The pure-Python zoneinfo exposes the explicit transitions (later ones follow the zone's
    # yearly rule, two a year at most).
    for name in sorted(zoneinfo.available_timezones()):
        trans = PyZoneInfo(name)._trans_utc  # type: ignore[attr-defined]
        days = [t // 86_400 for t in trans]
        assert len(days) == len(set(days)), name
