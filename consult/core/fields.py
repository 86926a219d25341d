"""The one number field and the one money field every form uses: numbers typed the way the
reader writes them, read strictly in their locale (``consult.core.numbers``)."""

from decimal import Decimal

from babel import Locale
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from wtforms import Field
from wtforms.validators import Optional, StopValidation
from wtforms.widgets import TextInput

from consult.core import numbers


def _reader_locale():
    locale = get_locale()
    return locale if locale is not None else Locale.parse("en")


def _refusal_message(error: numbers.NumberRefused, locale, money: bool = False) -> str:
    p = error.params
    language = locale.get_display_name(locale) or str(locale)
    if error.reason == "whole":
        return gettext(
            "Whole numbers only, without decimals: write it like %(example)s.",
            example=p["example"],
        )
    if error.reason == "places":
        return gettext(
            "At most %(places)d decimals: write it like %(example)s.",
            places=p["places"],
            example=p["example"],
        )
    if error.reason == "negative":
        if money:
            return gettext("An amount cannot be negative.")
        return gettext("A number here cannot be negative.")
    if error.reason == "range":
        return gettext(
            "Enter a number from %(minimum)s to %(maximum)s.",
            minimum=p["minimum"],
            maximum=p["maximum"],
        )
    decimal, group, _minus = numbers.symbols(locale)
    if not p.get("places"):
        return gettext(
            "Not a number as written in %(language)s: write it like %(example)s "
            "(“%(group)s” between thousands), or with digits only.",
            language=language,
            example=p["example"],
            group=group,
        )
    return gettext(
        "Not a number as written in %(language)s: write it like %(example)s "
        "(“%(group)s” between thousands, “%(decimal)s” before decimals), or with digits only.",
        language=language,
        example=p["example"],
        group=group,
        decimal=decimal,
    )


class NumberField(Field):
    """One number, typed as the reader writes numbers (their locale's separators, read
    strictly by Babel) — the only number field of Consult's forms.

    ``places`` decimals at most (0: a whole number, ``data`` is an ``int``; else a
    ``Decimal``, or what ``coerce`` makes of it); ``minimum``..``maximum`` fits the column.
    Refused text stays in the field with a message showing the accepted spelling; a value
    from the database is shown the same way (``30,000,000``, not ``30000000.00``).
    """

    widget = TextInput()

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        places: int = 0,
        minimum=0,
        maximum=numbers.MAX_COUNT,
        coerce=None,
        message=None,
        grouping: bool | None = None,
        **kwargs,
    ):
        render_kw = {
            # a phone's digit pad where only digits are needed; else one with a decimal mark
            "inputmode": "numeric" if places == 0 and minimum >= 0 else "decimal",
            "autocomplete": "off",
        }
        render_kw.update(
            {k: v for k, v in (kwargs.pop("render_kw", None) or {}).items() if k not in _HTML5}
        )
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self.places = places
        self.minimum = Decimal(minimum)
        self.maximum = Decimal(maximum)
        self.coerce = coerce or (int if places == 0 else None)
        #: the field's own words for a value out of range (else a general message)
        self.message = message
        #: pre-filled with group separators (default: whole numbers and amounts)
        self.grouping = places == 0 if grouping is None else grouping

    def _places(self) -> int:
        return self.places

    def _read(self, text: str, places: int):
        locale = _reader_locale()
        try:
            value = numbers.read_number(
                text, locale, places=places, minimum=self.minimum, maximum=self.maximum
            )
        except numbers.NumberRefused as error:
            if self.message and error.reason in ("negative", "range"):
                raise ValueError(str(self.message)) from None
            raise ValueError(
                _refusal_message(error, locale, money=isinstance(self, MoneyField))
            ) from None
        return self.coerce(value) if self.coerce else value

    def process_formdata(self, valuelist):
        if not valuelist:
            return  # not in the form: the default stays
        text = valuelist[0] or ""
        self.data = None
        if text.strip():
            self.data = self._read(text, self._places())

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the refusal is already shown; no second message

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]  # what was typed, as typed
        if self.data is None or self.data == "":
            return ""
        places = self._places()
        return numbers.write_number(
            Decimal(str(self.data)),
            _reader_locale(),
            places,
            grouping=self.grouping or isinstance(self, MoneyField),
            fixed=isinstance(self, MoneyField),
        )


#: attributes of <input type=number> that mean nothing on a text input
_HTML5 = {"min", "max", "step"}


class MoneyField(NumberField):
    """An amount of money in the currency the view names with ``set_currency``: as many
    decimals as the currency has in practice (``numbers.currency_places``: none for riel and
    kip), 0 to ``numbers.MAX_AMOUNT`` (fits ``Money``'s NUMERIC(14, 2)); ``data`` is a
    ``Decimal``."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("maximum", numbers.MAX_AMOUNT)
        super().__init__(label, validators, places=2, **kwargs)
        self.coerce = None
        self.currency: str | None = None

    def _places(self) -> int:
        if self.currency is None:
            return 2  # read at most the column's decimals now; pre_validate checks the rest
        return numbers.currency_places(self.currency)

    def pre_validate(self, form):
        super().pre_validate(form)
        if self.currency is None:
            raise RuntimeError(f"{self.name}: the view must call set_currency(form, code)")
        if self.raw_data and (self.raw_data[0] or "").strip():
            try:
                self.data = self._read(self.raw_data[0], self._places())
            except ValueError as error:
                self.data = None
                raise StopValidation(error.args[0]) from None

    def _inputmode(self) -> str:
        return "numeric" if self._places() == 0 else "decimal"


def set_currency(form, currency: str) -> None:
    """Tell every money field of ``form`` its currency (which decides the decimals allowed
    and how a pre-filled amount is written); call it right after building the form."""
    for field in form:
        if isinstance(field, MoneyField):
            field.currency = currency
            field.render_kw = {**(field.render_kw or {}), "inputmode": field._inputmode()}


def number_fields(form) -> list[NumberField]:
    """The form's number and money fields (the fuzz test finds them this way)."""
    return [field for field in form if isinstance(field, NumberField)]


#: decimals a pasted map coordinate may carry (a float keeps them; 12 is below a millimetre)
COORDINATE_PLACES = 12


def latitude_field():
    return NumberField(
        _l("Latitude (optional)"),
        message=_l("Between -90 and 90."),
        validators=[Optional()],
        places=COORDINATE_PLACES,
        minimum=-90,
        maximum=90,
        coerce=float,
    )


def longitude_field():
    return NumberField(
        _l("Longitude (optional)"),
        message=_l("Between -180 and 180."),
        validators=[Optional()],
        places=COORDINATE_PLACES,
        minimum=-180,
        maximum=180,
        coerce=float,
    )
