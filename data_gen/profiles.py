"""Customer profiles: who a customer is and how they usually shop.

A profile holds the stable traits that make a customer's history coherent: home country and
time zone, signup date, one or two usual devices, usual traffic source, spending level, cards.
Fraudsters' accounts are built with the same function so that their non-signal columns
(segment, spend level, birthdate...) are drawn from the same distributions as everybody's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from data_gen.clock import COUNTRY_ZONES, DAY_HOURS_CUM, MS_DAY, MS_H, ZONES, Clock
from data_gen.rand import Choices, Draw

COUNTRY = Choices(
    (
        ("FR", 0.30), ("US", 0.14), ("UK", 0.11), ("DE", 0.10), ("ES", 0.08),
        ("IT", 0.07), ("CA", 0.06), ("BE", 0.06), ("CH", 0.04), ("NL", 0.04),
    )
)  # fmt: skip
_ZONE_CHOICES = {
    country: Choices(tuple((ZONES.index(z), w) for z, w in zones))
    for country, zones in COUNTRY_ZONES.items()
}
# Desktop keeps about 45% of traffic; "mobile" is the mobile web browser of unknown OS.
PRIMARY_DEVICE = Choices((("desktop", 0.45), ("ios", 0.22), ("android", 0.19), ("mobile", 0.14)))
SOURCE = Choices(
    (("google", 0.35), ("seo", 0.20), ("facebook", 0.15), ("email", 0.13), ("direct", 0.17))
)
SEGMENT = Choices((("occasional", 0.58), ("regular", 0.30), ("loyal", 0.12)))
# level, median typical basket in cents, share of customers
SPEND_LEVELS: tuple[tuple[str, int, float], ...] = (
    ("low", 4_500, 0.35),
    ("medium", 14_000, 0.40),
    ("high", 38_000, 0.20),
    ("premium", 95_000, 0.05),
)
_SPEND = Choices(tuple((name, share) for name, _, share in SPEND_LEVELS))
_SPEND_MEDIAN = {name: median for name, median, _ in SPEND_LEVELS}

SIGNUP_IN_WINDOW = 0.09  # share of customers who register during the window
MINOR_SHARE = 0.02


@dataclass(frozen=True, slots=True)
class Profile:
    local: int  # chunk-local customer index
    signup_ms: int
    country: str
    zone: int  # index into clock.ZONES
    devices: tuple[int, ...]  # chunk-local device indices, usual one first
    source: str
    spend_cents: int  # typical basket
    spend_level: str
    segment: str
    birthdate: date
    is_minor: bool
    home_ip: str
    cards: tuple[str, ...]  # card BINs
    method: str  # usual payment method
    behaviours: frozenset[str]  # legitimate rule-firing behaviours (see scenarios.py)

    @property
    def timezone(self) -> str:
        return ZONES[self.zone]


class DeviceRegistry:
    """Allocates chunk-local device indices and remembers each device's type."""

    def __init__(self) -> None:
        self.kinds: list[str] = []

    def new(self, kind: str) -> int:
        self.kinds.append(kind)
        return len(self.kinds) - 1


def second_device_kind(draw: Draw, primary: str) -> str:
    if primary == "desktop":
        return PRIMARY_DEVICE.values[1 + draw.integers(0, 2)]
    return "desktop" if draw.chance(0.7) else "mobile"


def make_profile(
    draw: Draw,
    clock: Clock,
    devices: DeviceRegistry,
    bins: Mapping[str, tuple[str, ...]],
    local: int,
    *,
    signup_ms: int | None = None,
    country: str | None = None,
    zone: int | None = None,
    device_ids: tuple[int, ...] | None = None,
    segment: str | None = None,
    behaviours: frozenset[str] = frozenset(),
) -> Profile:
    """A customer; keyword arguments pin the traits a scenario needs, the rest is drawn."""
    country = country or COUNTRY.pick(draw)
    if zone is None:
        zone = pick_zone(draw, country)
    if signup_ms is None:
        signup_ms = draw_signup(draw, clock, zone)
    if device_ids is None:
        primary = PRIMARY_DEVICE.pick(draw)
        kinds = (primary, second_device_kind(draw, primary))[: 1 + draw.chance(0.4)]
        device_ids = tuple(devices.new(k) for k in kinds)
    level = _SPEND.pick(draw)
    cards = tuple(draw.choice(bins[country]) for _ in range(1 + draw.chance(0.3)))
    birthdate, minor = _birthdate(draw, clock)
    return Profile(
        local=local,
        signup_ms=signup_ms,
        country=country,
        zone=zone,
        devices=device_ids,
        source=SOURCE.pick(draw),
        spend_cents=int(draw.lognormal(_SPEND_MEDIAN[level], 0.3)),
        spend_level=level,
        segment=segment or SEGMENT.pick(draw),
        birthdate=birthdate,
        is_minor=minor,
        home_ip=draw.hex64(),
        cards=cards,
        method=_usual_method(draw, tuple(devices.kinds[d] for d in device_ids)),
        behaviours=behaviours,
    )


def pick_zone(draw: Draw, country: str) -> int:
    return _ZONE_CHOICES[country].pick(draw)


def draw_signup(draw: Draw, clock: Clock, zone: int) -> int:
    if draw.chance(SIGNUP_IN_WINDOW):
        return clock.local_time_on_day(draw, zone, clock.random_day(draw))
    days_before = 8 + min(draw.lognormal(420, 0.8), 2200)
    local = clock.start_ms - int(days_before) * MS_DAY
    hour = draw.weighted(DAY_HOURS_CUM)
    return clock.local_to_utc(zone, local + hour * MS_H + int(draw.random() * MS_H))


def _usual_method(draw: Draw, kinds: tuple[str, ...]) -> str:
    u = draw.random()
    if u < 0.18:
        return "paypal"
    if u < 0.34 and "ios" in kinds:
        return "apple_pay"
    if u < 0.34 and "android" in kinds:
        return "google_pay"
    return "card"


def _birthdate(draw: Draw, clock: Clock) -> tuple[date, bool]:
    start = clock.dates[0]
    age = draw.integers(16, 17) if draw.chance(MINOR_SHARE) else 18 + int(draw.random() ** 1.3 * 62)
    born = start - timedelta(days=365 * age + age // 4 + draw.integers(1, 364))
    adult_on = date(born.year + 18, born.month, 28 if born.month == 2 else born.day)
    return born, adult_on > start
