"""Who may log, see and correct a CO's meetings."""

from enum import StrEnum

from consult.auth.models import User
from consult.communities.models import CommunityOrganisation
from consult.core.permissions import is_leader, is_member, rule
from consult.meetings.models import Meeting


class MeetingAction(StrEnum):
    VIEW = "view"
    EDIT = "edit"
    RECORD_TALLY = "record_tally"
    LOG = "log_meeting"
    VIEW_MEETINGS = "view_meetings"


A = MeetingAction


@rule(CommunityOrganisation, A.VIEW_MEETINGS)
def _view_meetings(user: User, co: CommunityOrganisation) -> bool:
    return user.is_staff or is_member(user, co.id)


@rule(CommunityOrganisation, A.LOG)
def _log_meeting(user: User, co: CommunityOrganisation) -> bool:
    return is_leader(user, co.id)


@rule(Meeting, A.VIEW)
def _view_meeting(user: User, meeting: Meeting) -> bool:
    return user.is_staff or is_member(user, meeting.co_id)


@rule(Meeting, A.EDIT, A.RECORD_TALLY)
def _edit_meeting(user: User, meeting: Meeting) -> bool:
    return is_leader(user, meeting.co_id)
