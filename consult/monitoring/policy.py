"""Who may read the programme's figures."""

from enum import StrEnum

from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Municipality
from consult.core.permissions import is_member, is_officer_of, rule


class MonitoringAction(StrEnum):
    VIEW_DASHBOARD = "view_dashboard"
    VIEW_SUMMARY = "view_summary"


A = MonitoringAction


@rule(None, A.VIEW_DASHBOARD)
def _staff(user: User, _obj) -> bool:
    return user.is_staff


@rule(Municipality, A.VIEW_SUMMARY)
def _municipality_summary(user: User, m: Municipality) -> bool:
    return user.is_staff or is_officer_of(user, m.id)


@rule(CommunityOrganisation, A.VIEW_SUMMARY)
def _co_summary(user: User, co: CommunityOrganisation) -> bool:
    return user.is_staff or is_member(user, co.id)
