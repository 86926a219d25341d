from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from consult.attachments.forms import AttachmentsField
from consult.core.enums import MeetingKind
from consult.core.fields import NumberField
from consult.meetings.service import MeetingError, check_headcount
from consult.submissions.forms import CreateForm

_COUNT = {
    "default": 0,
    "validators": [InputRequired(_l("Enter a number (0 if nobody)."))],
    "maximum": 100_000,  # more people than any meeting hall holds: a typing mistake
    "message": _l("Enter 0 or more."),
}


class CheckboxListField(SelectMultipleField):
    """A tick list: one checkbox per choice, usable without JavaScript."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MeetingForm(CreateForm):
    kind = SelectField(_l("Kind of meeting"), choices=MeetingKind.choices(), default="consultation")
    day = DateField(_l("Date"), validators=[InputRequired(_l("Enter the date."))])
    time = TimeField(_l("Time"), validators=[InputRequired(_l("Enter the time."))])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    agenda = TextAreaField(_l("Agenda"), validators=[Optional(), Length(max=20000)])
    minutes = TextAreaField(_l("Minutes"), validators=[Optional(), Length(max=100000)])
    decisions = TextAreaField(_l("Decisions"), validators=[Optional(), Length(max=20000)])
    present = CheckboxListField(_l("Members present"), coerce=int, choices=[])
    women_present = NumberField(_l("Women"), **_COUNT)
    men_present = NumberField(_l("Men"), **_COUNT)
    other_present = NumberField(_l("Other / not stated"), **_COUNT)
    files = AttachmentsField(_l("Photos or a scanned attendance sheet (optional)"))

    def __init__(self, memberships, *args, **kwargs):
        """``memberships``: the people who can be ticked (the CO's current members, plus
        anyone already recorded as present when editing)."""
        super().__init__(*args, **kwargs)
        self.present.choices = [SelectChoice(m.id, m.user.name) for m in memberships]

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        counts = (self.women_present.data, self.men_present.data, self.other_present.data)
        # Only compare sensible numbers; a missing or negative one has its own error already.
        if all(isinstance(n, int) and n >= 0 for n in counts):
            try:
                check_headcount(len(self.present.data or []), *counts)
            except MeetingError as error:
                self.form_errors.append(str(error))
                return False
        return ok
