"""Forms for drafting proposals and the proposal's workflow buttons (ballot and tally forms
are the votes feature's)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    Form,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from consult.core.enums import InfrastructureType, ProposalState
from consult.core.fields import MoneyField, NumberField, latitude_field, longitude_field
from consult.submissions.forms import CreateForm

#: more households than any settlement has
HOUSEHOLDS_MAX = 1_000_000


def _money(label):
    return MoneyField(label, validators=[InputRequired(_l("Enter an amount (0 if none)."))])


class CheckboxListField(SelectMultipleField):
    """A tick list: one checkbox per choice, usable on a phone without JavaScript."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ProposalForm(CreateForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(_l("Give the proposal a title.")), Length(max=200)]
    )
    infrastructure_type = SelectField(
        _l("Type of infrastructure"), choices=InfrastructureType.choices()
    )
    description = TextAreaField(_l("What will be built"), validators=[Optional()])
    location = StringField(_l("Where"), validators=[Optional(), Length(max=200)])
    latitude = latitude_field()
    longitude = longitude_field()
    estimated_cost = _money(_l("Estimated cost"))
    amount_requested = _money(_l("Requested from the municipality"))
    community_cash = _money(_l("Community contribution in cash"))
    community_labour = _money(_l("Community labour (value of the work given)"))
    households_benefiting = NumberField(
        _l("Households benefiting"),
        validators=[Optional()],
        maximum=HOUSEHOLDS_MAX,
        message=_l("Cannot be negative."),
    )
    timeline = StringField(
        _l("Timeline"),
        validators=[Optional(), Length(max=200)],
        render_kw={"placeholder": _l("e.g. 3 months, before the rainy season")},
    )
    problems = CheckboxListField(_l("Problems it answers"), coerce=int, validators=[Optional()])

    def terms(self) -> dict:
        """What the service needs, typed: enum, Decimals, ints, None for empty text."""
        return {
            "title": self.title.data.strip(),
            "infrastructure_type": InfrastructureType(self.infrastructure_type.data),
            "description": self.description.data or None,
            "location": self.location.data or None,
            "latitude": self.latitude.data,
            "longitude": self.longitude.data,
            "estimated_cost": self.estimated_cost.data,
            "community_cash": self.community_cash.data,
            "community_labour": self.community_labour.data,
            "amount_requested": self.amount_requested.data,
            "households_benefiting": self.households_benefiting.data,
            "timeline": self.timeline.data or None,
        }


class OpenVoteForm(FlaskForm):
    closes_at = DateTimeLocalField(
        _l("Voting closes at"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(_l("Give the closing date and time."))],
    )


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Why is the proposal withdrawn?"),
        validators=[DataRequired(_l("Say why the proposal is withdrawn.")), Length(max=1000)],
    )


class ProposalFilterForm(Form):
    """The filter of a CO's proposals list, read from the query string (GET: no CSRF)."""

    state = SelectField(
        _l("State"),
        choices=[SelectChoice("", _l("All states")), *ProposalState.choices()],
        default="",
    )
