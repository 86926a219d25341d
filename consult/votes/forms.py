"""The ballot and the show-of-hands tally form, for every vote a CO holds (on a proposal or
on a counter-offer)."""

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import Optional

from consult.core.enums import VoteChoice
from consult.core.fields import NumberField
from consult.submissions.forms import CreateForm
from consult.votes.service import TALLY_FIELDS

#: more hands than any meeting hall holds: a typing mistake
COUNT_MAX = 100_000


class VoteForm(CreateForm):
    choice = SelectField(_l("Your vote"), choices=VoteChoice.choices())

    def outcome_message(self, outcome: str) -> str:
        """What to tell the voter after the ballot service answered "cast", "changed" or
        "unchanged" (the same words for proposal and counter-offer votes)."""
        label = VoteChoice(self.choice.data).label
        return {
            "cast": gettext("Your vote is counted: %(choice)s.", choice=label),
            "changed": gettext("Your vote is changed to: %(choice)s.", choice=label),
            "unchanged": gettext("Your vote was already: %(choice)s.", choice=label),
        }[outcome]


def _count(label):
    # left empty counts as none
    return NumberField(
        label,
        default=0,
        validators=[Optional()],
        maximum=COUNT_MAX,
        message=_l("Cannot be negative."),
    )


class TallyForm(FlaskForm):
    """Hands raised at a meeting by people who have NOT voted online (no double counting)."""

    meeting_id = SelectField(_l("Meeting"), coerce=int)
    yes_women = _count(_l("Women"))
    yes_men = _count(_l("Men"))
    yes_other = _count(_l("Other / not stated"))
    no_women = _count(_l("Women"))
    no_men = _count(_l("Men"))
    no_other = _count(_l("Other / not stated"))
    abstain_women = _count(_l("Women"))
    abstain_men = _count(_l("Men"))
    abstain_other = _count(_l("Other / not stated"))

    def counts(self) -> dict[str, int]:
        return {name: self[name].data or 0 for name in TALLY_FIELDS}
