"""The code lists a municipality is checked against: countries, currencies, time zones.

Babel and zoneinfo hold the lists; this module only picks the real ISO codes out of them and
names them in the reader's language.
"""

import warnings
import zoneinfo
from functools import cache

from babel import Locale
from babel.numbers import get_currency_name, list_currencies
from flask_babel import get_locale

#: two-letter codes CLDR knows that are not ISO 3166-1 countries (regions, reserved codes)
NOT_COUNTRIES = {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB"}
NOT_COUNTRIES |= {"XK", "ZZ"}

#: offered first in the time zone list: where the programme's cities are likely to be
COMMON_TIMEZONES = (
    "Asia/Phnom_Penh",
    "Asia/Bangkok",
    "Asia/Ho_Chi_Minh",
    "Asia/Vientiane",
    "Asia/Yangon",
    "Asia/Jakarta",
    "Asia/Manila",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Kathmandu",
    "Asia/Karachi",
    "Asia/Colombo",
    "Africa/Nairobi",
    "Africa/Kampala",
    "Africa/Dar_es_Salaam",
    "Africa/Lagos",
    "Africa/Accra",
    "Africa/Johannesburg",
    "Africa/Addis_Ababa",
    "Africa/Dakar",
    "Africa/Cairo",
    "America/Mexico_City",
    "America/Bogota",
    "America/Lima",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/Santiago",
    "America/Guatemala",
    "America/Port-au-Prince",
    "Europe/London",
    "UTC",
)


@cache
def _country_codes() -> frozenset[str]:
    return frozenset(
        code
        for code in Locale("en").territories
        if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
    )


def is_country(code: str | None) -> bool:
    return bool(code) and code in _country_codes()


def is_currency(code: str | None) -> bool:
    return bool(code) and code in list_currencies()


@cache
def _timezones() -> frozenset[str]:
    # available_timezones() looks for the optional tzdata package; pygal's import hook turns
    # that look into an ImportWarning, which is noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImportWarning)
        return frozenset(zoneinfo.available_timezones())


def is_timezone(name: str | None) -> bool:
    return bool(name) and name in _timezones()


def _reader() -> Locale:
    try:
        return Locale.parse(str(get_locale()))
    except (ValueError, TypeError, RuntimeError):
        return Locale("en")


def country_name(code: str | None) -> str:
    """ "Cambodia" for "KH" in English, in Khmer for a Khmer reader; the code if unknown."""
    if not code:
        return ""
    return _reader().territories.get(code) or Locale("en").territories.get(code) or code


def currency_name(code: str | None) -> str:
    if not code:
        return ""
    return get_currency_name(code, locale=_reader())


def countries() -> list[tuple[str, str]]:
    """(code, name) for every country, by name in the reader's language."""
    return sorted(((c, country_name(c)) for c in _country_codes()), key=lambda p: p[1])


def currencies() -> list[tuple[str, str]]:
    return [(c, currency_name(c)) for c in sorted(list_currencies())]


def timezones(country: str | None = None) -> list[str]:
    """The zones to suggest: the country's (CLDR's list) when it is known, else the common
    ones. Every valid zone is still accepted; suggesting all ~600 made the page 25 KB heavier."""
    from babel.core import get_global

    zones = get_global("territory_zones").get((country or "").upper()) if country else None
    if zones:
        return sorted(z for z in zones if is_timezone(z))
    return [z for z in COMMON_TIMEZONES if is_timezone(z)]
