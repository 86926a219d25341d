from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from consult.auth.forms import PersonFields
from consult.core.enums import MembershipRole


class AddMemberForm(PersonFields, FlaskForm):
    role = SelectField(_l("Role in the CO"), choices=MembershipRole.choices(), default="member")


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
