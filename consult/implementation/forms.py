from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from consult.attachments.forms import AttachmentsField
from consult.attachments.service import IMAGES
from consult.core.fields import MoneyField, NumberField
from consult.implementation.service import MAX_NOTE
from consult.submissions.forms import CreateForm

_NOTE = Length(max=MAX_NOTE, message=_l("At most %(max)d characters, please."))


class StartForm(FlaskForm):
    started_on = DateField(
        _l("Works started on"), validators=[InputRequired(_l("Enter the date."))]
    )


class UpdateForm(CreateForm):
    """A progress report; shown on the works page with the prefix "update"."""

    progress = NumberField(
        _l("Progress (%)"),
        validators=[InputRequired(_l("Enter a percentage from 0 to 100."))],
        maximum=100,
        message=_l("Enter a percentage from 0 to 100."),
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), _NOTE])
    spent = MoneyField(_l("Spent since the last update (optional)"), validators=[Optional()])
    files = AttachmentsField(_l("Photos (optional)"), allowed=IMAGES)


class CommentForm(CreateForm):
    """A resident's comment; shown on the works page with the prefix "comment"."""

    note = TextAreaField(
        _l("Your comment"), validators=[InputRequired(_l("Write your comment.")), _NOTE]
    )
    files = AttachmentsField(_l("Photos (optional)"), allowed=IMAGES)


class CompleteForm(FlaskForm):
    completed_on = DateField(
        _l("Works completed on"), validators=[InputRequired(_l("Enter the date."))]
    )
    actual_cost = MoneyField(
        _l("Actual cost"), validators=[InputRequired(_l("Enter the actual cost."))]
    )
    households_benefited = NumberField(
        _l("Households actually benefiting"),
        validators=[InputRequired(_l("Enter the number of households benefiting."))],
        maximum=1_000_000,
        message=_l("Cannot be negative."),
    )
