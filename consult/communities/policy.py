"""Who may see and run municipalities, settlements, COs and their memberships."""

from enum import StrEnum

from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership, Municipality, Settlement
from consult.core.enums import UserRole
from consult.core.permissions import is_leader, is_member, is_officer_of, rule


class CommunityAction(StrEnum):
    VIEW = "view"
    VIEW_ALL = "view_all"
    REGISTER_SETTLEMENT = "register_settlement"
    REGISTER_CO = "register_co"
    EDIT = "edit"
    VIEW_INTERNAL = "view_internal"
    VIEW_MEMBERS = "view_members"
    MANAGE_MEMBERS = "manage_members"
    EDIT_RULES = "edit_rules"
    EDIT_REGISTRATION = "edit_registration"
    INVITE_LEADER = "invite_leader"
    REINVITE = "reinvite"


A = CommunityAction


@rule(None, A.VIEW_ALL, A.REGISTER_SETTLEMENT)
def _staff(user: User, _obj) -> bool:
    return user.is_staff


@rule(Municipality, A.VIEW)
def _view_municipality(user: User, m: Municipality) -> bool:
    return user.is_staff or is_officer_of(user, m.id)


@rule(Settlement, A.VIEW)
def _view_settlement(user: User, s: Settlement) -> bool:
    return user.is_staff or is_officer_of(user, s.municipality_id)


@rule(Settlement, A.REGISTER_CO)
def _register_co(user: User, s: Settlement) -> bool:
    return user.is_staff


@rule(Settlement, A.EDIT)
def _edit_settlement(user: User, s: Settlement) -> bool:
    """Staff correct a settlement they (or a colleague) registered."""
    return user.is_staff


@rule(CommunityOrganisation, A.VIEW)
def _view_co(user: User, co: CommunityOrganisation) -> bool:
    # Officers see a CO's public page: name, settlement, problems, submitted proposals.
    return user.is_staff or is_member(user, co.id) or is_officer_of(user, co.municipality_id)


@rule(CommunityOrganisation, A.VIEW_INTERNAL, A.VIEW_MEMBERS)
def _view_co_internal(user: User, co: CommunityOrganisation) -> bool:
    return user.is_staff or is_member(user, co.id)


@rule(CommunityOrganisation, A.MANAGE_MEMBERS, A.EDIT_RULES)
def _leader_of_co(user: User, co: CommunityOrganisation) -> bool:
    return is_leader(user, co.id)


@rule(CommunityOrganisation, A.INVITE_LEADER)
def _invite_leader(user: User, co: CommunityOrganisation) -> bool:
    return user.is_staff


@rule(CommunityOrganisation, A.EDIT_REGISTRATION)
def _edit_co_registration(user: User, co: CommunityOrganisation) -> bool:
    """Staff correct a CO's name, date formed and description, and change its status."""
    return user.is_staff


@rule(Membership, A.REINVITE)
def _reinvite_member(user: User, m: Membership) -> bool:
    """A leader makes a fresh invitation link for a current member of their CO who is a plain
    resident. Following the link sets the account's password, so whoever makes it could take
    the account over: never for officers, staff or admins, and never for someone who also
    belongs to a CO this leader does not lead (that would reach into the other CO)."""
    if m.left_on is not None or m.user.role != UserRole.RESIDENT:
        return False
    if not is_leader(user, m.co_id):
        return False
    return all(is_leader(user, other.co_id) for other in m.user.current_memberships())
