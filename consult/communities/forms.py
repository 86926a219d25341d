from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from consult.auth.forms import PersonFields
from consult.core.enums import COStatus, MembershipRole, Tenure
from consult.core.fields import NumberField, latitude_field, longitude_field
from consult.submissions.forms import CreateForm


class AddMemberForm(PersonFields, CreateForm):
    role = SelectField(_l("Role in the CO"), choices=MembershipRole.choices(), default="member")


class MemberRoleForm(FlaskForm):
    """A member's role in the CO, changed by a leader (one select and a button per member)."""

    role = SelectField(_l("Role in the CO"), choices=MembershipRole.choices())


class VotingRulesForm(FlaskForm):
    quorum_percent = NumberField(
        _l("Quorum: share of members who must take part (%)"),
        validators=[InputRequired()],
        maximum=100,
        message=_l("Between 0 and 100."),
    )
    threshold_percent = NumberField(
        _l("A proposal passes when more than this share of yes + no votes are yes (%)"),
        validators=[InputRequired()],
        maximum=99,
        message=_l("Between 0 and 99."),
    )
    priority_points = NumberField(
        _l("Points each member gives in a priority round"),
        validators=[InputRequired()],
        minimum=1,
        maximum=20,
        message=_l("Between 1 and 20."),
    )


# --- staff registration of settlements and COs --------------------------------------------


def _place_name(label):
    return StringField(label, validators=[DataRequired(_l("Enter a name.")), Length(max=160)])


def _optional_text(label):
    return StringField(label, validators=[Optional(), Length(max=120)])


def _count(label):
    return NumberField(
        label, validators=[Optional()], maximum=10_000_000, message=_l("Enter 0 or more.")
    )


class SettlementForm(FlaskForm):
    name = _place_name(_l("Name of the settlement"))
    ward = _optional_text(_l("Ward / village (optional)"))
    commune = _optional_text(_l("Commune / sangkat (optional)"))
    district = _optional_text(_l("District / khan (optional)"))
    households = _count(_l("Households (optional)"))
    population = _count(_l("Population (optional)"))
    tenure = SelectField(_l("Tenure"), choices=Tenure.choices(), default=Tenure.UNKNOWN.value)
    latitude = latitude_field()
    longitude = longitude_field()

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if (self.latitude.data is None) != (self.longitude.data is None) and not (
            self.latitude.errors or self.longitude.errors
        ):
            self.longitude.errors.append(_l("Give both latitude and longitude, or neither."))
            return False
        return ok

    def values(self) -> dict:
        return {
            "name": self.name.data,
            "ward": self.ward.data,
            "commune": self.commune.data,
            "district": self.district.data,
            "households": self.households.data,
            "population": self.population.data,
            "tenure": Tenure(self.tenure.data),
            "latitude": self.latitude.data,
            "longitude": self.longitude.data,
        }


class OrganisationForm(FlaskForm):
    name = _place_name(_l("Name of the community organisation"))
    formed_on = DateField(
        _l("Date formed"), validators=[DataRequired(_l("Enter the date the CO was formed."))]
    )
    status = SelectField(_l("Status"), choices=COStatus.choices(), default=COStatus.FORMING.value)
    description = TextAreaField(_l("Description (optional)"), validators=[Length(max=5000)])

    def values(self) -> dict:
        return {
            "name": self.name.data,
            "formed_on": self.formed_on.data,
            "status": COStatus(self.status.data),
            "description": self.description.data,
        }
