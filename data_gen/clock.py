"""Time in the dataset: the window, customers' time zones, seasonality and ISO formatting.

All instants are integer milliseconds since the Unix epoch (UTC).  Customers live in IANA time
zones; local wall time matters for realism (people shop in the evening) and for the detector's
UNUSUAL_HOUR rule, so local <-> UTC conversion uses real zone rules, including the US/Canada
DST change on 2 November 2025.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from data_gen.rand import Draw, cumulative

MS_S = 1000
MS_MIN = 60 * MS_S
MS_H = 60 * MS_MIN
MS_DAY = 24 * MS_H

# Home time zones per country with population-like weights.
COUNTRY_ZONES: dict[str, tuple[tuple[str, float], ...]] = {
    "FR": (("Europe/Paris", 1.0),),
    "US": (
        ("America/New_York", 0.46),
        ("America/Chicago", 0.29),
        ("America/Denver", 0.07),
        ("America/Phoenix", 0.02),
        ("America/Los_Angeles", 0.16),
    ),
    "UK": (("Europe/London", 1.0),),
    "DE": (("Europe/Berlin", 1.0),),
    "ES": (("Europe/Madrid", 0.95), ("Atlantic/Canary", 0.05)),
    "IT": (("Europe/Rome", 1.0),),
    "CA": (
        ("America/Toronto", 0.55),
        ("America/Vancouver", 0.18),
        ("America/Edmonton", 0.12),
        ("America/Winnipeg", 0.05),
        ("America/Halifax", 0.10),
    ),
    "BE": (("Europe/Brussels", 1.0),),
    "CH": (("Europe/Zurich", 1.0),),
    "NL": (("Europe/Amsterdam", 1.0),),
}
ZONES: tuple[str, ...] = tuple(z for zones in COUNTRY_ZONES.values() for z, _ in zones)

# Relative shopping activity per local hour (0-23): lunch and evening peaks, quiet 02-06.
DAY_HOURS = (
    1.6, 0.8, 0.30, 0.20, 0.20, 0.30, 0.9, 1.8, 3.0, 4.0, 4.5, 5.0,
    6.0, 6.0, 5.0, 4.8, 5.0, 5.5, 6.2, 7.2, 8.0, 8.0, 6.2, 3.6,
)  # fmt: skip
# Night owls: most activity between 23:00 and 06:00.
NIGHT_HOURS = (
    6.0, 6.0, 5.5, 5.0, 4.0, 2.5, 0.8, 0.4, 0.4, 0.5, 0.6, 0.8,
    1.0, 1.0, 0.8, 0.8, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0,
)  # fmt: skip
DAY_HOURS_CUM = cumulative(DAY_HOURS)
NIGHT_HOURS_CUM = cumulative(NIGHT_HOURS)


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


_SEASON_WEIGHT = {
    "black_friday": 2.6,
    "black_friday_week": 1.7,
    "christmas": 1.35,
    "christmas_days": 0.55,
    "winter_sale": 1.1,
    "": 1.0,
}


def season(d: date) -> str:
    """Commercial season of a calendar day (drives traffic and e-mail campaign names)."""
    nov_first = date(d.year, 11, 1)
    black_friday = nov_first + timedelta(days=(4 - nov_first.weekday()) % 7 + 21)
    offset = (d - black_friday).days
    if offset == 0:
        return "black_friday"
    if -4 <= offset <= 3:  # the week around it, through Cyber Monday
        return "black_friday_week"
    if d.month == 12 and d.day <= 21:
        return "christmas"
    if d.month == 12 and d.day in (24, 25):
        return "christmas_days"
    if (d.month == 12 and d.day >= 26) or (d.month == 1 and d.day <= 3):
        return "winter_sale"
    return ""


def day_weight(d: date) -> float:
    """Relative traffic of a calendar day: weekends and the season."""
    return (1.15 if d.weekday() >= 5 else 1.0) * _SEASON_WEIGHT[season(d)]


class Clock:
    """The generation window plus per-zone UTC offsets for fast local <-> UTC conversion."""

    # Offsets are sampled hourly; every zone used here changes offset on a UTC hour boundary.
    _PAD_H = 72

    def __init__(self, start: date, days: int) -> None:
        self.start_ms = to_ms(datetime(start.year, start.month, start.day, tzinfo=UTC))
        self.days = days
        self.end_ms = self.start_ms + days * MS_DAY
        self.dates = tuple(start + timedelta(days=i) for i in range(days))
        self.day_cum = cumulative([day_weight(d) for d in self.dates])
        self._base_ms = self.start_ms - self._PAD_H * MS_H
        n_hours = days * 24 + 2 * self._PAD_H
        base = datetime.fromtimestamp(self._base_ms / 1000, tz=UTC)
        self._offsets: list[list[int]] = []
        for name in ZONES:
            zone = ZoneInfo(name)
            self._offsets.append(
                [
                    int(_utcoffset(base + timedelta(hours=h), zone).total_seconds()) * MS_S
                    for h in range(n_hours)
                ]
            )
        self._last_hour = n_hours - 1

    def offset_ms(self, zone: int, utc_ms: int) -> int:
        h = (utc_ms - self._base_ms) // MS_H
        return self._offsets[zone][min(max(h, 0), self._last_hour)]

    def local_to_utc(self, zone: int, local_ms: int) -> int:
        """UTC instant of a local wall time (naive ms); gap/overlap hours resolve sensibly."""
        guess = local_ms - self._offsets[zone][0]
        return local_ms - self.offset_ms(zone, guess)

    def local_hour(self, zone: int, utc_ms: int) -> int:
        return (utc_ms + self.offset_ms(zone, utc_ms)) // MS_H % 24

    def local_midnight(self, zone: int, utc_ms: int) -> int:
        """Naive local ms of the local midnight starting the day containing ``utc_ms``."""
        local = utc_ms + self.offset_ms(zone, utc_ms)
        return local - local % MS_DAY

    def date_of(self, ms: int) -> date:
        return self.dates[min(max((ms - self.start_ms) // MS_DAY, 0), self.days - 1)]

    def random_day(self, draw: Draw, first_day: int = 0) -> int:
        """Index of a window day drawn by seasonal weight, not before ``first_day``."""
        lo = self.day_cum[first_day - 1] if first_day > 0 else 0.0
        u = lo + draw.random() * (self.day_cum[-1] - lo)
        return min(bisect_right(self.day_cum, u, first_day), self.days - 1)

    def local_time_on_day(
        self, draw: Draw, zone: int, day: int, hours_cum: Sequence[float] = DAY_HOURS_CUM
    ) -> int:
        """UTC instant at a local time of day drawn from ``hours_cum`` on window day ``day``."""
        hour = draw.weighted(hours_cum)
        local = self.start_ms + day * MS_DAY + hour * MS_H + int(draw.random() * MS_H)
        return self.local_to_utc(zone, local)


def iso_ms(ms: np.ndarray) -> list[str]:
    """Format epoch milliseconds as ``2025-11-03T14:22:05.123Z`` (vectorised)."""
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")
    return [t + "Z" for t in text.tolist()]


def _utcoffset(instant: datetime, zone: ZoneInfo) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    if offset is None:  # an aware datetime in a ZoneInfo always has one
        raise ValueError(f"{zone.key}: no UTC offset at {instant}")
    return offset
