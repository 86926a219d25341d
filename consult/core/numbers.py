"""Numbers and amounts as people type and read them: strictly in the reader's locale (CLDR,
through Babel), never guessed at.

``read_number`` turns typed text into exactly one ``Decimal`` or refuses it with a reason the
form shows next to the field, together with the spelling the locale expects. ``write_number``
is its inverse, used to pre-fill a form; ``read_number(write_number(x)) == x`` for every
supported locale (tests/test_numbers.py checks it with Hypothesis).
"""

import unicodedata
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_currency_precision,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
    parse_decimal,
)

#: The largest amount a form accepts: ``Money`` is NUMERIC(14, 2), so 12 digits before the
#: point; a programme's budgets stay far below it (a trillion riel is about 250 million USD).
MAX_AMOUNT = Decimal("999999999999")
#: The largest count a form accepts when its own rule says nothing narrower: an INTEGER
#: column holds 2,147,483,647 on PostgreSQL; no household, attendance or vote count nears it.
MAX_COUNT = 100_000_000

#: **Whole amounts** — currencies written without decimals in practice. The rule: CLDR's
#: currency data (``<currencyData><fractions>`` digits, what ``babel.numbers.
#: get_currency_precision`` returns; LAK, VND, IDR, MMK, UGX, JPY… have 0), plus the riel:
#: CLDR keeps ISO 4217's two digits for KHR, but its subunit (the sen) has not circulated since
#: the 1970s, the smallest note is 50 riel, and prices, budgets and the National Bank of
#: Cambodia's own figures are in whole riel.
WHOLE_IN_PRACTICE = frozenset({"KHR"})

#: Spaces people type or paste between digit groups in locales that group with a space.
_SPACES = {"\u00a0", "\u202f", " "}


def currency_places(currency: str) -> int:
    """How many decimals an amount in ``currency`` may have (see ``WHOLE_IN_PRACTICE``)."""
    if currency in WHOLE_IN_PRACTICE:
        return 0
    return min(get_currency_precision(currency), 2)  # Money keeps two decimals at most


def stored_amount(value, currency: str, field: str | None = None) -> Decimal:
    """``value`` (a ``Decimal``, int or decimal string) as a money column keeps it: two
    places. Refuses, with :class:`~consult.core.refusal.Refusal` on ``field``, an amount that
    is not finite or has more decimals than ``currency`` takes (``currency_places``): the forms
    refuse such text as typed, and the services refuse the amount itself, so the JSON API and
    the command line keep the same rule instead of rounding cents away."""
    from flask_babel import lazy_gettext as _l

    from consult.core.db import CENT
    from consult.core.refusal import Refusal

    try:
        amount = Decimal(value)
    except (ArithmeticError, ValueError, TypeError):
        raise Refusal(_l("Give an amount in digits."), field=field) from None
    if not amount.is_finite():
        raise Refusal(_l("Give an amount in digits."), field=field)
    places = currency_places(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        if places == 0:
            message = _l("Amounts in %(currency)s are whole: no decimals.", currency=currency)
        else:
            message = _l("At most %(places)d decimals.", places=places)
        raise Refusal(message, field=field)
    return amount.quantize(CENT)


class NumberRefused(ValueError):
    """Typed text that is not exactly one acceptable number. ``reason`` says which rule it
    broke; ``params`` carry what the message shows (the accepted spelling, the bounds)."""

    def __init__(self, reason: str, **params):
        super().__init__(reason)
        self.reason = reason
        self.params = params


def symbols(locale: Locale | str) -> tuple[str, str, str]:
    """The locale's (decimal mark, group separator, minus sign)."""
    return get_decimal_symbol(locale), get_group_symbol(locale), get_minus_sign_symbol(locale)


def example(locale: Locale | str, places: int) -> str:
    """The accepted spelling, shown in refusals: a sample number written in the locale."""
    return write_number(Decimal("1234567.89") if places else Decimal("1234567"), locale, places)


def write_number(
    value, locale: Locale | str, places: int, *, grouping: bool = True, fixed: bool = True
) -> str:
    """``value`` as the locale writes it, with ``places`` decimals (all of them if ``fixed``,
    else only those that are not zero): a pre-filled form field. ``read_number`` reads it back
    to the same value."""
    pattern = ("#,##0" if grouping else "0") + (
        "." + ("0" if fixed else "#") * places if places else ""
    )
    return format_decimal(Decimal(value), format=pattern, locale=locale)


def _normalise(text: str, locale: Locale | str) -> str:
    """Digits of any script (Khmer ០-៩, Lao ໐-໙, …) as ASCII digits; a typed hyphen or a
    Unicode minus as the locale's minus; the spaces a phone keyboard adds trimmed."""
    _decimal, group, minus = symbols(locale)
    out = []
    for ch in text.strip():
        if ch.isdecimal():
            out.append(str(unicodedata.decimal(ch)))
        elif ch in ("-", "\u2212"):
            out.append(minus)
        elif ch in _SPACES and group in _SPACES:
            out.append(group)
        else:
            out.append(ch)
    return "".join(out)


def read_number(
    text: str,
    locale: Locale | str,
    *,
    places: int,
    minimum: Decimal | int = 0,
    maximum: Decimal | int = MAX_COUNT,
) -> Decimal:
    """Exactly one number from ``text`` as written in ``locale``, or ``NumberRefused``.

    Refused: anything but digits, the locale's group separator and decimal mark and a leading
    minus (so no exponents, ``inf`` or ``nan``); separators the locale would read otherwise
    (``40.000.000`` or ``41,5`` in English); more decimals than ``places`` (so ``41.000`` in
    English is not silently 41 for someone who groups with dots); values outside
    ``minimum``..``maximum``.
    """
    decimal, group, minus = symbols(locale)
    s = _normalise(text, locale)
    body = s[len(minus) :] if s.startswith(minus) else s
    allowed = set("0123456789") | {decimal, group}
    if not body or not set(body) <= allowed or not body[0].isdigit():
        raise NumberRefused("spelling", places=places, example=example(locale, places))
    try:
        value = parse_decimal(s, locale, strict=True)
    except (NumberFormatError, InvalidOperation):
        raise NumberRefused("spelling", places=places, example=example(locale, places)) from None
    if not value.is_finite():
        raise NumberRefused("spelling", places=places, example=example(locale, places))
    typed_places = len(body.partition(decimal)[2]) if decimal in body else 0
    if typed_places > places:
        if places == 0:
            raise NumberRefused("whole", example=example(locale, 0))
        raise NumberRefused("places", places=places, example=example(locale, places))
    if value < 0 <= minimum:
        raise NumberRefused("negative")
    if value < minimum or value > maximum:
        raise NumberRefused(
            "range",
            minimum=write_number(minimum, locale, 0),
            maximum=write_number(maximum, locale, 0),
        )
    return value + 0  # -0 is 0
