"""Forms for priority rounds: opening one, a member's ballot, a meeting's show of hands."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from consult.core import localtime
from consult.core.fields import NumberField
from consult.problems.models import PriorityRound, Problem
from consult.submissions.forms import CreateForm

COUNT_MAX = 100_000  # more hands than any meeting hall holds: a typing mistake


class OpenRoundForm(FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    points_per_member = NumberField(
        _l("Points each member gives"),
        validators=[InputRequired()],
        minimum=1,
        maximum=20,
        message=_l("Between 1 and 20."),
    )
    max_per_problem = NumberField(
        _l("Most points one member may put on one problem"),
        validators=[InputRequired()],
        minimum=1,
        maximum=20,
        message=_l("Between 1 and 20."),
    )
    closes_at = DateTimeLocalField(
        _l("Closing time (optional)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[Optional()],
    )

    def validate_max_per_problem(self, field):
        points = self.points_per_member.data
        if points and field.data and field.data > points:
            raise ValidationError(_l("At most the points each member gives (%(n)d).", n=points))

    def closing_time(self, timezone: str) -> datetime | None:
        """The closing time typed in the municipality's local time, as UTC."""
        if self.closes_at.data is None:
            return None
        return localtime.from_local(self.closes_at.data, timezone, "closes_at")


def _field_name(problem: Problem) -> str:
    return f"problem_{problem.id}"


class _BallotBase(CreateForm):
    total_allowed = 0

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.total() > self.total_allowed:
            self.form_errors.append(
                _l(
                    "You gave %(total)d points; you have %(n)d to give.",
                    total=self.total(),
                    n=self.total_allowed,
                )
            )
            ok = False
        return ok

    def problem_fields(self):
        return [(p, self[_field_name(p)]) for p in self.problems]

    def total(self) -> int:
        return sum(f.data or 0 for _p, f in self.problem_fields())

    def points(self) -> dict[int, int]:
        return {p.id: f.data or 0 for p, f in self.problem_fields()}


def ballot_form(rnd: PriorityRound, problems: list[Problem], current: dict[int, int], **kw):
    """A form with one number per problem (0 to the round's maximum), prefilled with the
    member's current points; built per round since the problems differ."""

    class BallotForm(_BallotBase):
        pass

    BallotForm.total_allowed = rnd.points_per_member
    for p in problems:
        setattr(
            BallotForm,
            _field_name(p),
            NumberField(
                p.title,
                validators=[Optional()],
                maximum=rnd.max_per_problem,
                message=_l("From 0 to %(n)d.", n=rnd.max_per_problem),
                default=current.get(p.id, 0),
            ),
        )
    form = BallotForm(**kw)
    form.problems = problems
    return form


class _TallyBase(FlaskForm):
    meeting_id = SelectField(_l("Meeting"), coerce=int, validators=[InputRequired()])

    def rows(self):
        return [
            (p, self[f"women_{p.id}"], self[f"men_{p.id}"], self[f"other_{p.id}"])
            for p in self.problems
        ]

    def counts(self) -> dict[int, dict[str, int]]:
        return {
            p.id: {"women": w.data or 0, "men": m.data or 0, "other": o.data or 0}
            for p, w, m, o in self.rows()
        }


def tally_form(problems: list[Problem], meetings, current: dict[int, dict[str, int]], **kw):
    """Pick a meeting, then per problem the hands raised by women, men and others."""

    class TallyForm(_TallyBase):
        pass

    def count_field(label, value):
        return NumberField(
            label,
            validators=[Optional()],
            maximum=COUNT_MAX,
            default=value,
            message=_l("A whole number, 0 or more."),
        )

    for p in problems:
        now = current.get(p.id, {})
        setattr(TallyForm, f"women_{p.id}", count_field(_l("Women"), now.get("women", 0)))
        setattr(TallyForm, f"men_{p.id}", count_field(_l("Men"), now.get("men", 0)))
        setattr(TallyForm, f"other_{p.id}", count_field(_l("Other"), now.get("other", 0)))
    form = TallyForm(**kw)
    form.problems = problems
    form.meeting_id.choices = [SelectChoice(m.id, label) for m, label in meetings]
    return form
