"""Numbers and dates the way each language writes them (Babel's CLDR data): 7 530 and
7,530; 3,1 % and 3.1%; "2 nov. 2025" and "Nov 2, 2025".

Every front end formats through here rather than with ``f"{n:,}"`` or ``strftime``, which
always write English.  Times are shown in the zone they are given in; callers convert first.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_decimal, format_percent

__all__ = [
    "day",
    "day_short",
    "grid_moment",
    "moment",
    "number",
    "percent",
    "picker_day",
    "plain",
    "plotly_separators",
]

_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(_LOCALES.get(lang, "en_GB"))


def number(value: float, lang: str, digits: int = 0) -> str:
    """``value`` with the language's grouping and decimal signs, ``digits`` decimals."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, pattern, locale=_locale(lang))


def plain(value: float, lang: str) -> str:
    """``value`` with as many decimals as it has (up to 6), the language's signs: what
    ``f"{value:g}"`` writes, in French too ("0,5", "1 500")."""
    return format_decimal(value, "#,##0.######", locale=_locale(lang))


def percent(share: float, lang: str, digits: int = 1) -> str:
    """A share (0.031) as a percentage with ``digits`` decimals: "3,1 %" / "3.1%"."""
    base = _locale(lang).percent_formats[None].pattern  # e.g. "#,##0 %" in French
    # The locale's pattern has one "0" before its sign; give it the decimals asked for.
    head, _, tail = base.rpartition("0")
    pattern = f"{head}0.{'0' * digits}{tail}" if digits > 0 else base
    return format_percent(share, pattern, locale=_locale(lang))


def day(value: date, lang: str) -> str:
    """A calendar day: "2 nov. 2025" / "2 Nov 2025"."""
    return format_date(value, "medium", locale=_locale(lang))


def day_short(value: date, lang: str) -> str:
    """A day of a chart axis, without the year: "2 nov." / "2 Nov"."""
    return format_skeleton("dMMM", value, locale=_locale(lang))


def moment(value: datetime, lang: str, seconds: bool = False) -> str:
    """A date and time: "2 nov. 2025 13:05" / "2 Nov 2025 13:05" (24-hour in both: the
    desk's users read logs and event times, where 1:05 PM is one more thing to convert)."""
    clock = format_time(value, "HH:mm:ss" if seconds else "HH:mm", locale=_locale(lang))
    return f"{day(value, lang)} {clock}"


def plotly_separators(lang: str) -> str:
    """Plotly's ``layout.separators`` (decimal sign, then group sign) for ``lang``."""
    loc = _locale(lang)
    return loc.number_symbols["latn"]["decimal"] + loc.number_symbols["latn"]["group"]


def _short_day_parts(lang: str) -> tuple[str, str]:
    """The order of day, month and year in the language's short date ("dmy" for "dd/MM/y")
    and its separator ("/")."""
    pattern = _locale(lang).date_formats["short"].pattern
    order = "".join(dict.fromkeys(ch for ch in pattern.lower() if ch in "dmy"))
    sep = next((ch for ch in pattern if ch in "/-."), "/")
    return order, sep


def picker_day(lang: str) -> str:
    """A date picker's ``format`` (Streamlit takes YYYY, MM and DD in any order, joined by
    "/", "-" or "."): the language's short date, "DD/MM/YYYY" for fr_FR and en_GB alike,
    rather than Streamlit's own "YYYY/MM/DD"."""
    order, sep = _short_day_parts(lang)
    return sep.join({"d": "DD", "m": "MM", "y": "YYYY"}[ch] for ch in order)


def grid_moment(lang: str, seconds: bool = False) -> str:
    """A data grid's date-time format (moment.js tokens): the language's short date and a
    24-hour clock, in digits only, since a grid writes month names in the browser's own
    language, not the desk's."""
    return f"{picker_day(lang)} HH:mm{':ss' if seconds else ''}"
