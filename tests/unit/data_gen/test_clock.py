from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from data_gen.clock import MS_H, ZONES, Clock, day_weight, iso_ms, season, to_ms
from data_gen.rand import Draw


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(date(2025, 11, 1), 61)


def test_iso_ms_format() -> None:
    ms = np.array([to_ms(datetime(2025, 11, 3, 14, 22, 5, 123000, tzinfo=UTC)), 0])
    assert iso_ms(ms) == ["2025-11-03T14:22:05.123Z", "1970-01-01T00:00:00.000Z"]


@pytest.mark.parametrize("zone", ["America/New_York", "America/Phoenix", "Europe/Paris"])
def test_local_hour_follows_real_zone_rules_across_dst(clock: Clock, zone: str) -> None:
    z = ZONES.index(zone)
    # 1 Nov to 4 Nov 2025 spans the US DST change (2 Nov 06:00 UTC)
    start = to_ms(datetime(2025, 11, 1, tzinfo=UTC))
    for h in range(0, 96):
        utc_ms = start + h * MS_H + 1234
        expected = datetime.fromtimestamp(utc_ms / 1000, tz=UTC).astimezone(ZoneInfo(zone)).hour
        assert clock.local_hour(z, utc_ms) == expected


def test_local_to_utc_round_trips(clock: Clock) -> None:
    z = ZONES.index("America/Los_Angeles")
    draw = Draw(1)
    for _ in range(500):
        day = draw.integers(0, 60)
        t = clock.local_time_on_day(draw, z, day)
        local = datetime.fromtimestamp(t / 1000, tz=UTC).astimezone(ZoneInfo(ZONES[z]))
        assert (local.date() - date(2025, 11, 1)).days == day


def test_season_and_weights() -> None:
    assert season(date(2025, 11, 28)) == "black_friday"  # fourth Friday of November
    assert season(date(2025, 12, 1)) == "black_friday_week"  # Cyber Monday
    assert season(date(2025, 12, 25)) == "christmas_days"
    assert season(date(2025, 11, 12)) == ""
    assert day_weight(date(2025, 11, 28)) > 2 * day_weight(date(2025, 11, 12))
    assert day_weight(date(2025, 12, 25)) < day_weight(date(2025, 11, 12))


def test_random_day_respects_first_day(clock: Clock) -> None:
    draw = Draw(2)
    days = [clock.random_day(draw, 50) for _ in range(300)]
    assert min(days) >= 50 and max(days) <= 60
