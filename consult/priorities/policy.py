"""Who may open, take part in, tally, close and read a priority round."""

from enum import StrEnum

from consult.auth.models import User
from consult.communities.models import CommunityOrganisation
from consult.core.permissions import is_leader, is_member, rule
from consult.problems.models import PriorityRound


class PriorityAction(StrEnum):
    OPEN_ROUND = "open_priority_round"
    GIVE_PRIORITIES = "give_priorities"
    VIEW = "view"
    GIVE_POINTS = "give_points"
    CLOSE = "close"
    RECORD_TALLY = "record_tally"
    VIEW_STANDINGS = "view_standings"


A = PriorityAction


@rule(CommunityOrganisation, A.GIVE_PRIORITIES)
def _give_priorities(user: User, co: CommunityOrganisation) -> bool:
    return is_member(user, co.id)


@rule(CommunityOrganisation, A.OPEN_ROUND)
def _open_round(user: User, co: CommunityOrganisation) -> bool:
    return is_leader(user, co.id)


@rule(PriorityRound, A.VIEW)
def _view_round(user: User, rnd: PriorityRound) -> bool:
    return user.is_staff or is_member(user, rnd.co_id)


@rule(PriorityRound, A.GIVE_POINTS)
def _give_points(user: User, rnd: PriorityRound) -> bool:
    return rnd.closed_at is None and is_member(user, rnd.co_id)


@rule(PriorityRound, A.CLOSE, A.RECORD_TALLY)
def _manage_round(user: User, rnd: PriorityRound) -> bool:
    return rnd.closed_at is None and is_leader(user, rnd.co_id)


@rule(PriorityRound, A.VIEW_STANDINGS)
def _view_standings(user: User, rnd: PriorityRound) -> bool:
    """The running ranking is for leaders (and staff) while the round is open, so it does
    not steer members' points; once closed, every member sees the result."""
    if user.is_staff or is_leader(user, rnd.co_id):
        return True
    return rnd.closed_at is not None and is_member(user, rnd.co_id)
