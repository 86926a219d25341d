"""Forms of the negotiation thread and of the municipality's inbox."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from consult.core.enums import MessageKind, ProposalState
from consult.core.permissions import SEEN_BY_MUNICIPALITY

#: the longest message body; long enough for a detailed answer, short enough for a phone
MAX_BODY = 5000


class MessageForm(FlaskForm):
    """A comment or question in the thread; the view narrows ``kind`` to the writer's side."""

    kind = SelectField(
        _l("Kind of message"), choices=MessageKind.choices(), default=MessageKind.COMMENT.value
    )
    body = TextAreaField(
        _l("Message"),
        validators=[
            DataRequired(_l("Write your message.")),
            Length(max=MAX_BODY, message=_l("At most %(max)d characters.", max=MAX_BODY)),
        ],
        render_kw={"rows": 5},
    )

    def limit_kinds(self, kinds: list[MessageKind]) -> None:
        self.kind.choices = [SelectChoice(k.value, k.label) for k in kinds]


class AcknowledgeForm(FlaskForm):
    note = TextAreaField(
        _l("Note to the community (optional)"),
        default=_l("We have received your proposal and are reviewing it."),
        validators=[
            Optional(),
            Length(max=MAX_BODY, message=_l("At most %(max)d characters.", max=MAX_BODY)),
        ],
        render_kw={"rows": 2},
    )


class AcceptForm(FlaskForm):
    #: the version the officer read; the service refuses it unless it is still the latest
    version_id = HiddenField(validators=[InputRequired()])
    note = TextAreaField(
        _l("Note to the community (optional)"),
        validators=[
            Optional(),
            Length(max=MAX_BODY, message=_l("At most %(max)d characters.", max=MAX_BODY)),
        ],
        render_kw={"rows": 2},
    )


class DeclineForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for declining"),
        validators=[
            DataRequired(_l("Give the reason for declining; the community will read it.")),
            Length(max=MAX_BODY, message=_l("At most %(max)d characters.", max=MAX_BODY)),
        ],
        render_kw={"rows": 3},
    )


SORTS = [
    SelectChoice("newest", _l("Newest first")),
    SelectChoice("waiting", _l("Oldest waiting first")),
]


class InboxFilterForm(Form):
    """GET filters of the inbox: a plain form (no CSRF: it changes nothing)."""

    state = SelectField(
        _l("State"),
        choices=[SelectChoice("", _l("All states"))]
        + [
            SelectChoice(s.value, s.label)
            for s in ProposalState
            if s in SEEN_BY_MUNICIPALITY or s == ProposalState.WITHDRAWN
        ],
        default="",
    )
    settlement = SelectField(
        _l("Settlement"), choices=[SelectChoice("", _l("All settlements"))], default=""
    )
    sort = SelectField(_l("Order"), choices=SORTS, default="newest")
