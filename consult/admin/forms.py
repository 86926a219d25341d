from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import Form, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from consult.communities.models import Municipality
from consult.core.enums import UserRole
from consult.core.fields import NumberField
from consult.extensions import db

ANY = ""


class MunicipalityForm(FlaskForm):
    """Codes are typed (with suggestions) rather than picked, so a wrong one is shown back as
    typed next to its error; the service checks them against the ISO and time zone lists."""

    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=160)])
    city = StringField(
        _l("City"), validators=[DataRequired(_l("Enter the city.")), Length(max=120)]
    )
    country = StringField(
        _l("Country (ISO code, e.g. KH)"),
        validators=[DataRequired(_l("Enter the country code.")), Length(max=8)],
        render_kw={"list": "countries", "autocapitalize": "characters", "autocomplete": "off"},
    )
    currency = StringField(
        _l("Currency (ISO code, e.g. KHR)"),
        validators=[DataRequired(_l("Enter the currency code.")), Length(max=8)],
        render_kw={"list": "currencies", "autocapitalize": "characters", "autocomplete": "off"},
    )
    timezone = StringField(
        _l("Time zone"),
        validators=[DataRequired(_l("Enter the time zone.")), Length(max=64)],
        default="Asia/Phnom_Penh",
        render_kw={"list": "timezones", "autocapitalize": "none", "autocomplete": "off"},
    )
    default_language = SelectField(_l("Default language"), choices=[])
    response_target_days = NumberField(
        _l("Response target (days)"),
        default=14,
        validators=[InputRequired(_l("Enter a number of days."))],
        minimum=1,
        maximum=365,
        message=_l("Between 1 and 365 days."),
    )
    annual_target_settlements = NumberField(
        _l("Settlements to improve each year"),
        default=0,
        validators=[InputRequired(_l("Enter a number (0 for none)."))],
        maximum=100_000,
        message=_l("Enter 0 or more."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        languages = current_app.config["LANGUAGES"]
        self.default_language.choices = [SelectChoice(k, v) for k, v in languages.items()]

    def values(self) -> dict:
        return {
            "name": self.name.data,
            "city": self.city.data,
            "country": self.country.data,
            "currency": self.currency.data,
            "timezone": self.timezone.data,
            "default_language": self.default_language.data,
            "response_target_days": self.response_target_days.data,
            "annual_target_settlements": self.annual_target_settlements.data,
        }


def _municipality_choices(first: SelectChoice) -> list[SelectChoice]:
    return [first] + [
        SelectChoice(m.id, f"{m.name} ({m.country})")
        for m in db.session.scalars(select(Municipality).order_by(Municipality.name))
    ]


class PeopleFilterForm(Form):
    """The account list's filters, read from the query string (GET: no CSRF)."""

    q = StringField(_l("Name, phone or e-mail"), validators=[Optional(), Length(max=120)])
    role = SelectField(
        _l("Role"), choices=[SelectChoice(ANY, _l("Any role")), *UserRole.choices()], default=ANY
    )
    municipality_id = SelectField(_l("Municipality"), coerce=int, default=0, choices=[])
    active = SelectField(
        _l("Status"),
        choices=[
            SelectChoice(ANY, _l("Active and disabled")),
            SelectChoice("yes", _l("Active")),
            SelectChoice("no", _l("Disabled")),
        ],
        default=ANY,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.municipality_id.choices = _municipality_choices(
            SelectChoice(0, _l("Any municipality"))
        )


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=UserRole.choices())
    municipality_id = SelectField(
        _l("Municipality (for officers)"), coerce=int, default=0, choices=[]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.municipality_id.choices = _municipality_choices(SelectChoice(0, "—"))
