"""Who may run the platform: municipalities and accounts."""

from enum import StrEnum

from consult.core.permissions import rule


class AdminAction(StrEnum):
    MANAGE_MUNICIPALITIES = "manage_municipalities"
    MANAGE_USERS = "manage_users"


@rule(None, AdminAction.MANAGE_MUNICIPALITIES, AdminAction.MANAGE_USERS)
def _admin(user, _obj) -> bool:
    return user.is_admin
