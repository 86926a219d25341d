"""Rules for the problems a CO records: reporting, correcting, closing and reopening.

Services check the rule, change state, write the audit event and flush; the view commits.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l

from consult.attachments import service as attachments
from consult.audit.service import record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation
from consult.core.db import utcnow
from consult.core.enums import ProblemCategory, ProblemStatus
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.problems.models import Problem

#: what a reporter or leader may set on a problem (besides its meeting and photos)
FIELDS = (
    "title",
    "category",
    "description",
    "location",
    "latitude",
    "longitude",
    "households_affected",
)


class ProblemError(Refusal):
    """A readable reason a problem record or status change was refused."""


def report_problem(
    co: CommunityOrganisation,
    *,
    by: User,
    meeting: Meeting | None = None,
    uploads: list[attachments.Upload] = (),
    now: datetime | None = None,
    **details,
) -> Problem:
    """Record a problem for ``co``, optionally raised at one of its meetings, with photos;
    ``now`` is when it is recorded (the current time unless given)."""
    problem = Problem(
        organisation=co,
        reported_by_id=by.id,
        status=ProblemStatus.OPEN,
        created_at=now or utcnow(),
    )
    _set_details(problem, details)
    _set_meeting(problem, co.id, meeting)
    db.session.add(problem)
    db.session.flush()
    files = attachments.store(uploads, owner=problem, by=by)
    record(
        "problem.reported",
        problem,
        by,
        co_id=co.id,
        title=problem.title,
        category=problem.category,
        meeting_id=problem.meeting_id,
        files=len(files),
    )
    return problem


def edit_problem(
    problem: Problem,
    *,
    by: User,
    meeting: Meeting | None = None,
    uploads: list[attachments.Upload] = (),
    **details,
) -> None:
    """Correct a problem's description; new photos are added to those already there."""
    names = (*FIELDS, "meeting_id")
    before = {name: getattr(problem, name) for name in names}
    _set_details(problem, details)
    _set_meeting(problem, problem.co_id, meeting)
    problem.updated_at = utcnow()
    db.session.flush()  # so meeting_id reflects the new meeting
    files = attachments.store(uploads, owner=problem, by=by)
    changed = {
        name: [before[name], getattr(problem, name)]
        for name in names
        if before[name] != getattr(problem, name)
    }
    record("problem.edited", problem, by, co_id=problem.co_id, changed=changed, files=len(files))


def close_problem(problem: Problem, *, by: User) -> None:
    """The leader closes an open problem (solved another way, or no longer a problem)."""
    _change_status(problem, ProblemStatus.OPEN, ProblemStatus.CLOSED, by)


def reopen_problem(problem: Problem, *, by: User) -> None:
    """The leader reopens a closed problem."""
    _change_status(problem, ProblemStatus.CLOSED, ProblemStatus.OPEN, by)


def proposals_answering(problem: Problem) -> list:
    """The proposals that answer ``problem``, newest first (the relationship is declared by
    proposals), read afresh."""
    db.session.expire(problem, ["answered_by"])
    return list(problem.answered_by)


def _change_status(problem: Problem, expected: ProblemStatus, to: ProblemStatus, by: User):
    # "addressed" and "resolved" belong to the proposal workflow; only open <-> closed here.
    if problem.status != expected:
        raise ProblemError(
            _l(
                "This problem is %(status)s; it cannot be changed here.",
                status=problem.status.label,
            )
        )
    problem.status = to
    problem.updated_at = utcnow()
    record(
        f"problem.{'closed' if to == ProblemStatus.CLOSED else 'reopened'}",
        problem,
        by,
        co_id=problem.co_id,
        before=expected,
        after=to,
    )


def _set_details(problem: Problem, details: dict) -> None:
    unknown = set(details) - set(FIELDS)
    if unknown:
        raise TypeError(f"not problem fields: {sorted(unknown)}")
    for name, value in details.items():
        if name == "category":
            value = ProblemCategory(value)
        elif name in ("title", "description", "location"):
            value = (value or "").strip() or None
        setattr(problem, name, value)
    if not problem.title:
        raise ProblemError(_l("Give the problem a short title."))
    if (problem.latitude is None) != (problem.longitude is None):
        raise ProblemError(_l("Give both latitude and longitude, or neither."))
    if problem.latitude is not None and not (
        -90 <= problem.latitude <= 90 and -180 <= problem.longitude <= 180
    ):
        raise ProblemError(_l("The location is outside the map."))
    if problem.households_affected is not None and problem.households_affected < 0:
        raise ProblemError(_l("Households affected cannot be negative."))


def _set_meeting(problem: Problem, co_id: int, meeting: Meeting | None) -> None:
    if meeting is not None and meeting.co_id != co_id:
        raise ProblemError(_l("Choose a meeting of this community organisation."))
    problem.meeting = meeting
