"""Who may see and manage accounts, and invite people."""

from enum import StrEnum

from consult.auth.models import User
from consult.core.permissions import is_leader, rule


class AuthAction(StrEnum):
    INVITE = "invite"
    VIEW = "view"
    MANAGE = "manage"
    REINVITE = "reinvite"


A = AuthAction


@rule(None, A.INVITE)
def _invite(user: User, _obj) -> bool:
    return user.is_staff


@rule(User, A.VIEW)
def _view_user(user: User, other: User) -> bool:
    if user.is_staff or user.id == other.id:
        return True
    return any(is_leader(user, m.co_id) for m in other.current_memberships())


@rule(User, A.MANAGE)
def _manage_user(user: User, other: User) -> bool:
    return user.is_admin


@rule(User, A.REINVITE)
def _reinvite_user(user: User, other: User) -> bool:
    """A fresh invitation link from the account page: administrators only."""
    return user.is_admin
