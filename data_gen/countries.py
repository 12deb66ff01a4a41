"""ISO 3166-1 alpha-2 country codes and their time zones, from the tz database's own tables.

The tz database (the ``tzdata`` package) ships ``iso3166.tab`` (every code it knows, with its
name) and ``zone.tab`` (each country's zones).  zone.tab's first zone of a country is a
geographical choice (Canada's is St. John's, Russia's Kaliningrad), so a country with several
zones takes its most populous one from ``primary_zones.tab``, generated from GeoNames' city
populations (see :mod:`data_gen.primary_zones`); zone.tab's first zone only where that table has
no figure (Antarctica, the US minor outlying islands).  The shop writes the United Kingdom
``UK``; ``GB`` is read as ``UK`` and both resolve to GB's zones.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

UK_ALIAS: Mapping[str, str] = {"GB": "UK"}
_ISO_OF = {"UK": "GB"}
NO_ZONE = "UTC"  # uninhabited territories (BV, HM) have no zone of their own
PRIMARY_ZONES_FILE = "primary_zones.tab"


def _rows(name: str) -> list[list[str]]:
    text = (resources.files("tzdata") / "zoneinfo" / name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@cache
def country_names() -> Mapping[str, str]:
    """ISO code -> English name; ``UK`` included as the shop's spelling of ``GB``."""
    names = {row[0]: row[1] for row in _rows("iso3166.tab")}
    names["UK"] = names["GB"]
    return names


@cache
def _zones() -> Mapping[str, tuple[str, ...]]:
    zones: dict[str, list[str]] = {}
    for row in _rows("zone.tab"):
        zones.setdefault(row[0], []).append(row[2])
    return {code: tuple(z) for code, z in zones.items()}


def zones_of(code: str) -> tuple[str, ...]:
    """The country's zones in zone.tab's order; empty for a code with none (or not a country)."""
    return _zones().get(_ISO_OF.get(code, code), ())


@cache
def _primary() -> Mapping[str, tuple[str, float]]:
    text = (resources.files("data_gen") / PRIMARY_ZONES_FILE).read_text(encoding="utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return {code: (zone, float(share)) for code, zone, share in rows}


def primary_zone(code: str) -> str:
    """The zone most of the country's people live in (its only zone, or UTC for none)."""
    zones = zones_of(code)
    if not zones:
        return NO_ZONE
    ranked = _primary().get(_ISO_OF.get(code, code))
    return ranked[0] if ranked and ranked[0] in zones else zones[0]


def primary_share(code: str) -> float | None:
    """Share of the country's people living in its primary zone (None: not known)."""
    ranked = _primary().get(_ISO_OF.get(code, code))
    return ranked[1] if ranked and ranked[0] in zones_of(code) else None


@dataclass(frozen=True)
class ZoneChoice:
    """Customers whose zone was derived from a country with several zones (or none)."""

    country: str
    zone: str
    zones: int  # how many zones the country has (0: none, UTC taken)
    customers: int
    examples: tuple[str, ...]
    share: float | None = None  # of the country's people living in ``zone`` (None: unknown)


def derive_zones(
    countries: pd.Series, ids: pd.Series, examples: int = 3
) -> tuple[pd.Series, tuple[ZoneChoice, ...]]:
    """Each row's primary zone (vectorised over the distinct countries) and what was guessed.

    ``countries`` must already be valid codes (see :func:`known_codes`).
    """
    distinct = pd.unique(countries.to_numpy())
    zone_of = {code: primary_zone(code) for code in distinct}
    derived = countries.map(zone_of).astype(countries.dtype)
    choices = []
    for code in sorted(distinct):
        n = len(zones_of(code))
        if n == 1:
            continue
        mask = (countries == code).to_numpy()
        picked = ids[mask]
        choices.append(
            ZoneChoice(
                code,
                zone_of[code],
                n,
                int(mask.sum()),
                tuple(picked.iloc[:examples]),
                primary_share(code) if n else None,
            )
        )
    return derived, tuple(choices)


@cache
def known_codes() -> frozenset[str]:
    return frozenset(country_names())


@cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() | {"UTC"})
