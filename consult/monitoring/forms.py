"""The filters of the dashboard and the summaries: a GET form, validated like any other."""

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from consult.monitoring.scope import Scope, last_12_months, this_year

PERIODS = [
    SelectChoice("this_year", _l("This year")),
    SelectChoice("last_12_months", _l("Last 12 months")),
    SelectChoice("custom", _l("Custom dates")),
]


class PeriodForm(FlaskForm):
    """Period only: for a CO's or a municipality's own summary."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    period = SelectField(_l("Period"), choices=PERIODS, default="this_year")
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To (included)"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if not ok or self.period.data != "custom":
            return ok
        if self.start.data is None:
            self.start.errors.append(_l("Give the first day of the period."))
            ok = False
        if self.end.data is None:
            self.end.errors.append(_l("Give the last day of the period."))
            ok = False
        if ok and self.end.data < self.start.data:
            self.end.errors.append(_l("The last day must not be before the first."))
            ok = False
        return ok

    def dates(self, today: date) -> tuple[date, date]:
        if self.period.data == "custom" and self.start.data and self.end.data:
            return self.start.data, self.end.data
        if self.period.data == "last_12_months":
            return last_12_months(today)
        return this_year(today)


class DashboardForm(PeriodForm):
    """Staff: which part of the programme, and when."""

    area = SelectField(_l("Where"), default="all")

    def set_places(self, municipalities, countries) -> None:
        """The choices, from ``service.places()`` (kept: they also give the zones)."""
        self.municipalities = municipalities
        everywhere, country, municipality = _l("Everywhere"), _l("Country"), _l("Municipality")
        self.area.choices = [
            SelectChoice("all", _l("All municipalities"), optgroup=everywhere),
            *(SelectChoice(f"country:{c}", c, optgroup=country) for c in countries),
            *(
                SelectChoice(f"municipality:{i}", f"{name} ({c})", optgroup=municipality)
                for i, name, c, _zone in municipalities
            ),
        ]

    def places_chosen(self) -> dict:
        """Which part of the programme, as ``Scope``'s keyword arguments."""
        kind, _, value = (self.area.data or "all").partition(":")
        if kind == "country":
            return {"country": value}
        if kind == "municipality":
            return {"municipality_id": int(value)}
        return {}

    def scope(self, today: date, **days) -> Scope:
        """``days``: ``timezone`` and ``several_zones``, see ``Scope``."""
        start, end = self.dates(today)
        return Scope(start, end, **days, **self.places_chosen())
