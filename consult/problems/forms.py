from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    Form,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Length, Optional

from consult.attachments.forms import AttachmentsField
from consult.attachments.service import IMAGES
from consult.core.enums import ProblemCategory, ProblemStatus
from consult.core.fields import NumberField, latitude_field, longitude_field
from consult.core.formatting import local_datetime
from consult.core.ids import id_choice
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.submissions.forms import CreateForm

NO_MEETING = 0
#: how many of the CO's latest meetings the "raised at" list offers
MEETING_CHOICES = 50


class ProblemForm(CreateForm):
    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Give the problem a short title.")), Length(max=200)],
    )
    category = SelectField(_l("Category"), choices=ProblemCategory.choices())
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    location = StringField(_l("Where is it?"), validators=[Optional(), Length(max=200)])
    latitude = latitude_field()
    longitude = longitude_field()
    households_affected = NumberField(
        _l("Households affected (optional)"),
        validators=[Optional()],
        maximum=1_000_000,
        message=_l("Enter 0 or more."),
    )
    meeting_id = SelectField(
        _l("Raised at a meeting?"), coerce=id_choice, default=NO_MEETING, validate_choice=False
    )
    photos = AttachmentsField(_l("Photos (optional)"), allowed=IMAGES)

    def __init__(self, co, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._co = co
        tz = co.municipality.timezone
        meetings = db.session.scalars(
            select(Meeting)
            .where(Meeting.co_id == co.id)
            .order_by(Meeting.held_at.desc())
            .limit(MEETING_CHOICES)
        )
        self.meeting_id.choices = [SelectChoice(NO_MEETING, _l("No, or not known"))] + [
            SelectChoice(m.id, f"{local_datetime(m.held_at, tz, 'short')} · {m.kind.label}")
            for m in meetings
        ]

    def validate_meeting_id(self, field):
        if not field.data:
            return
        meeting = db.session.get(Meeting, field.data)
        # Checked against the database, not the offered list: an older meeting is fine too.
        if meeting is None or meeting.co_id != self._co.id:
            raise ValidationError(_l("Choose a meeting of this community organisation."))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if (self.latitude.data is None) != (self.longitude.data is None) and not (
            self.latitude.errors or self.longitude.errors
        ):
            self.longitude.errors.append(_l("Give both latitude and longitude, or neither."))
            return False
        return ok

    def meeting(self) -> Meeting | None:
        return db.session.get(Meeting, self.meeting_id.data) if self.meeting_id.data else None


class ProblemFilterForm(Form):
    """The list's filters, read from the query string (GET: no CSRF, nothing changes)."""

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any status")), *ProblemStatus.choices()],
        default="",
    )
    category = SelectField(
        _l("Category"),
        choices=[SelectChoice("", _l("Any category")), *ProblemCategory.choices()],
        default="",
    )
