from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from consult.auth.forms import PersonFields
from consult.core.enums import COStatus, MembershipRole, Tenure
from consult.submissions.forms import CreateForm


class AddMemberForm(PersonFields, CreateForm):
    role = SelectField(_l("Role in the CO"), choices=MembershipRole.choices(), default="member")


class MemberRoleForm(FlaskForm):
    """A member's role in the CO, changed by a leader (one select and a button per member)."""

    role = SelectField(_l("Role in the CO"), choices=MembershipRole.choices())


class VotingRulesForm(FlaskForm):
    quorum_percent = IntegerField(
        _l("Quorum: share of members who must take part (%)"),
        validators=[InputRequired(), NumberRange(0, 100, _l("Between 0 and 100."))],
    )
    threshold_percent = IntegerField(
        _l("A proposal passes when more than this share of yes + no votes are yes (%)"),
        validators=[InputRequired(), NumberRange(0, 99, _l("Between 0 and 99."))],
    )
    priority_points = IntegerField(
        _l("Points each member gives in a priority round"),
        validators=[InputRequired(), NumberRange(1, 20, _l("Between 1 and 20."))],
    )


# --- staff registration of settlements and COs --------------------------------------------


def _place_name(label):
    return StringField(label, validators=[DataRequired(_l("Enter a name.")), Length(max=160)])


def _optional_text(label):
    return StringField(label, validators=[Optional(), Length(max=120)])


def _count(label):
    return IntegerField(
        label,
        validators=[Optional(), NumberRange(0, 10_000_000, _l("Enter 0 or more."))],
        render_kw={"inputmode": "numeric"},
    )


class SettlementForm(FlaskForm):
    name = _place_name(_l("Name of the settlement"))
    ward = _optional_text(_l("Ward / village (optional)"))
    commune = _optional_text(_l("Commune / sangkat (optional)"))
    district = _optional_text(_l("District / khan (optional)"))
    households = _count(_l("Households (optional)"))
    population = _count(_l("Population (optional)"))
    tenure = SelectField(_l("Tenure"), choices=Tenure.choices(), default=Tenure.UNKNOWN.value)
    latitude = FloatField(
        _l("Latitude (optional)"),
        validators=[Optional(), NumberRange(-90, 90, _l("Between -90 and 90."))],
        render_kw={"inputmode": "decimal"},
    )
    longitude = FloatField(
        _l("Longitude (optional)"),
        validators=[Optional(), NumberRange(-180, 180, _l("Between -180 and 180."))],
        render_kw={"inputmode": "decimal"},
    )

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
