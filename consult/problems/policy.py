"""Who may report, see, correct, close and reopen a CO's problems."""

from enum import StrEnum

from consult.auth.models import User
from consult.communities.models import CommunityOrganisation
from consult.core.enums import ProblemStatus
from consult.core.permissions import is_leader, is_member, is_officer_of, rule
from consult.problems.models import Problem


class ProblemAction(StrEnum):
    REPORT = "report_problem"
    VIEW = "view"
    EDIT = "edit"
    CHANGE_STATUS = "change_status"
    CLOSE = "close"
    REOPEN = "reopen"


A = ProblemAction


@rule(CommunityOrganisation, A.REPORT)
def _report_problem(user: User, co: CommunityOrganisation) -> bool:
    return is_member(user, co.id)


@rule(Problem, A.VIEW)
def _view_problem(user: User, problem: Problem) -> bool:
    return (
        user.is_staff
        or is_member(user, problem.co_id)
        or is_officer_of(user, problem.organisation.municipality_id)
    )


@rule(Problem, A.EDIT)
def _edit_problem(user: User, problem: Problem) -> bool:
    if is_leader(user, problem.co_id):
        return True
    # whoever reported it may correct it while nothing has been built on it yet
    return (
        problem.reported_by_id == user.id
        and is_member(user, problem.co_id)
        and problem.status.value == "open"
    )


@rule(Problem, A.CHANGE_STATUS)
def _change_problem_status(user: User, problem: Problem) -> bool:
    """Close or reopen a problem at all; "close"/"reopen" below also say whether now."""
    return is_leader(user, problem.co_id)


@rule(Problem, A.CLOSE)
def _close_problem(user: User, problem: Problem) -> bool:
    """The CO's leader closes an open problem (e.g. solved otherwise, or not a problem)."""
    return problem.status == ProblemStatus.OPEN and is_leader(user, problem.co_id)


@rule(Problem, A.REOPEN)
def _reopen_problem(user: User, problem: Problem) -> bool:
    """Only a *closed* problem reopens; addressed/resolved are the proposal workflow's."""
    return problem.status == ProblemStatus.CLOSED and is_leader(user, problem.co_id)
