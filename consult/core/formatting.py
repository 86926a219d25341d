"""Showing money, dates, times and counts the way the reader expects, in their language.

Everything goes through Babel (CLDR) in the reader's locale (Flask-Babel's ``get_locale``).
Times are shown in a municipality's zone — the one passed in, else the reader's own
(``consult.__init__._select_timezone``: the municipality they work or live in) — and without
seconds.
"""

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError, dates
from babel.core import get_global
from babel.dates import get_timezone_location
from babel.languages import get_official_languages
from babel.numbers import NumberPattern, format_currency, get_currency_symbol, parse_pattern
from flask import current_app, has_request_context, request, session
from flask_babel import format_decimal, get_locale, get_timezone

from consult.core import numbers

_FRACTION = re.compile(r"0\.0+")


def page_language(account_language: str | None) -> str:
    """The language a page is written in for a reader whose account says
    ``account_language`` (None: no one is logged in): the account's, else the one chosen in
    this session, else the browser's best match among the app's ``LANGUAGES``, else English.
    Flask-Babel's locale selector; also read before the account is loaded (a repeat view)."""
    if not has_request_context():  # command line: English
        return "en"
    languages = list(current_app.config["LANGUAGES"])
    if account_language in languages:
        return account_language
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or "en"


def _locale() -> Locale:
    return get_locale() or Locale.parse("en")


#: symbols several currencies share: shown only where the reader's locale says which one
#: it means (CLDR's own symbol for the locale), else the ISO code is clearer
SHARED_SYMBOLS = frozenset({"$", "£", "¥", "kr", "Rs", "R", "K", "Fr"})


def money(amount: Decimal | None, currency: str) -> str:
    """``amount`` as the reader's locale writes money (CLDR, via Babel) with the currency's
    own symbol — the reader's locale's, else the one it has at home (``home_symbol``): riel
    are ``15,000,000៛`` in Khmer and ``៛15,000,000`` in English; the ISO code where no
    unambiguous symbol exists (``MXN 1,500.00`` in Khmer). As many decimals as the currency
    has in practice (``numbers.currency_places``)."""
    if amount is None:
        return "—"
    locale = _locale()
    pattern, symbol, home = _money_format(locale, currency)
    text = format_currency(amount, currency, pattern, locale=locale, currency_digits=False)
    if home is not None:
        text, symbol = text.replace(symbol, home), home
    return _currency_spacing(text, symbol)


@cache
def _money_format(locale: Locale, currency: str) -> tuple[NumberPattern, str, str | None]:
    """What :func:`money` needs of a locale and a currency, worked out once (a list of 20
    amounts would parse the same pattern 20 times): the locale's currency pattern with the
    currency's decimals, parsed; the symbol CLDR gives; the home symbol to show instead, or
    None."""
    places = numbers.currency_places(currency)
    pattern = _FRACTION.sub("0." + "0" * places if places else "0", _currency_pattern(locale))
    symbol = get_currency_symbol(currency, locale)
    home = home_symbol(currency)
    shown = home if symbol == currency and home and home not in SHARED_SYMBOLS else None
    return parse_pattern(pattern), symbol, shown


@cache
def home_symbol(currency: str) -> str | None:
    """The symbol a currency has at home, from CLDR: in the (official or de facto) language
    of a territory where it is legal tender today — ៛ for the riel, ₭ for the kip."""
    for territory, tenders in get_global("territory_currencies").items():
        if not any(code == currency and end is None for code, _start, end, _tender in tenders):
            continue
        for language in get_official_languages(territory, de_facto=True):
            try:
                symbol = Locale.parse(f"{language}_{territory}").currency_symbols.get(currency)
            except (UnknownLocaleError, ValueError):
                continue
            if symbol and symbol != currency:
                return symbol
    return None


def _currency_pattern(locale: Locale) -> str:
    return locale.currency_formats["standard"].pattern


def _currency_spacing(text: str, symbol: str) -> str:
    """CLDR's ``currencySpacing``: a no-break space between digits and a symbol that ends (or
    starts) with a letter — ``KHR 15,000,000``, but ``$1,500.50`` and ``15,000,000៛``."""

    def wordlike(ch: str) -> bool:
        return unicodedata.category(ch)[0] not in ("S", "Z")

    if not symbol:
        return text
    if wordlike(symbol[-1]):
        text = re.sub(re.escape(symbol) + r"(?=\d)", symbol + "\u00a0", text)
    if wordlike(symbol[0]):
        text = re.sub(r"(?<=\d)" + re.escape(symbol), "\u00a0" + symbol, text)
    return text


@cache
def datetime_pattern(locale: Locale, fmt: str = "medium") -> str:
    """CLDR's date-time pattern of ``fmt`` with the *short* time: hours and minutes, no
    seconds (``Dec 3, 2026, 4:07 PM``; ``3 ធ្នូ 2026, 4:07 PM`` in Khmer)."""
    combined = str(locale.datetime_formats[fmt])
    return combined.replace("{1}", locale.date_formats[fmt].pattern).replace(
        "{0}", locale.time_formats["short"].pattern
    )


def local_datetime(value: datetime | None, timezone: str | None = None, fmt: str = "medium"):
    """An instant as the clock shows it in ``timezone`` (else the reader's zone), no seconds."""
    if value is None:
        return "—"
    zone = ZoneInfo(timezone) if timezone else ZoneInfo(str(get_timezone() or "UTC"))
    wall = value.astimezone(zone).replace(tzinfo=None)
    locale = _locale()
    # Babel itself (Flask-Babel's wrapper adds only look-ups, for each of a thread's times)
    return dates.format_datetime(wall, datetime_pattern(locale, fmt), locale=locale)


def local_date(value: date | datetime | None, fmt: str = "medium", timezone: str | None = None):
    """A date; an instant is first placed on the calendar of ``timezone`` (else the
    reader's zone), so a record made at 01:00 in Phnom Penh is dated that day, not the day
    before as in UTC."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        zone = ZoneInfo(timezone) if timezone else ZoneInfo(str(get_timezone() or "UTC"))
        value = value.astimezone(zone).date()
    return dates.format_date(value, fmt, locale=_locale())


def zone_label(timezone: str | None) -> str:
    """A time zone as people name it, in their language (CLDR): "Cambodia Time"; the zone
    Flask-Babel uses for the reader when ``timezone`` is None."""
    zone = timezone or str(get_timezone() or "UTC")
    if zone in ("UTC", "Etc/UTC"):
        return "UTC"
    return get_timezone_location(ZoneInfo(zone), locale=_locale(), return_city=False) or zone


def number(value) -> str:
    return "—" if value is None else format_decimal(value)


def count(value) -> str:
    """A count for a list's heading: ``1,000+`` when counting stopped at its cap."""
    text = format_decimal(int(value))
    return f"{text}+" if getattr(value, "capped", False) else text


def percent(part: int, whole: int) -> str:
    if not whole:
        return "—"
    return f"{round(100 * part / whole)}%"
