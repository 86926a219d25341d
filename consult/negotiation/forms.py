"""Forms of the negotiation thread and of the municipality's inbox."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    Form,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from consult.attachments.forms import AttachmentsField
from consult.core.enums import MessageKind, ProposalState
from consult.core.fields import MoneyField, NumberField
from consult.proposals.policy import SEEN_BY_MUNICIPALITY
from consult.submissions.forms import CreateForm

#: the largest id an INTEGER column holds (PostgreSQL); a larger one names no message
MAX_ID = 2_147_483_647
#: the longest message body; long enough for a detailed answer, short enough for a phone
MAX_BODY = 5000


class MessageForm(CreateForm):
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
    files = AttachmentsField(_l("Photos or documents (optional)"))

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


# --- counter-offers -------------------------------------------------------------------------


def _amount(label):
    return MoneyField(label, validators=[InputRequired(_l("Give an amount, 0 if none."))])


class CounterOfferForm(CreateForm):
    """The officer's other terms; it starts from the latest version's, so only what changes
    needs typing."""

    municipal_share = _amount(_l("Municipality pays"))
    community_cash = _amount(_l("Community cash"))
    community_labour = _amount(_l("Community labour (value)"))
    scope = TextAreaField(
        _l("Change of scope (optional)"),
        validators=[
            Optional(),
            Length(max=2000, message=_l("At most %(max)d characters.", max=2000)),
        ],
        render_kw={"rows": 3},
    )
    timeline = StringField(
        _l("Timeline"),
        validators=[
            Optional(),
            Length(max=200, message=_l("At most %(max)d characters.", max=200)),
        ],
    )
    body = TextAreaField(
        _l("Message to the community (optional)"),
        validators=[
            Optional(),
            Length(max=MAX_BODY, message=_l("At most %(max)d characters.", max=MAX_BODY)),
        ],
        render_kw={"rows": 3},
        id="offer-body",  # the thread also has the message form's "body": ids stay unique
    )
    files = AttachmentsField(_l("Photos or documents (optional)"), id="offer-files")


class OfferAcceptForm(FlaskForm):
    note = TextAreaField(
        _l("Note to the municipality (optional)"),
        validators=[
            Optional(),
            Length(max=MAX_BODY, message=_l("At most %(max)d characters.", max=MAX_BODY)),
        ],
        render_kw={"rows": 2},
    )


class OfferRejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Why the community rejects it"),
        validators=[
            DataRequired(_l("Say why the community rejects it; the municipality will read it.")),
            Length(max=MAX_BODY, message=_l("At most %(max)d characters.", max=MAX_BODY)),
        ],
        render_kw={"rows": 2},
    )


class OfferVoteForm(FlaskForm):
    closes_at = DateTimeLocalField(
        _l("Voting closes at"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(_l("Give the closing date and time."))],
    )


class ReadForm(FlaskForm):
    """The reader's receipt: the newest message on the page they read."""

    #: a message id, sent by the page (never typed): digits only, within an INTEGER column
    up_to = NumberField(
        widget=HiddenInput(),
        validators=[InputRequired()],
        minimum=1,
        maximum=MAX_ID,
        grouping=False,
    )
