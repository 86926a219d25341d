"""Who issues a CO's Open311 keys."""

from enum import StrEnum

from consult.auth.models import User
from consult.communities.models import CommunityOrganisation
from consult.core.permissions import is_leader, rule


class Open311Action(StrEnum):
    MANAGE_KEYS = "manage_open311_keys"


A = Open311Action


@rule(CommunityOrganisation, A.MANAGE_KEYS)
def _manage_open311_keys(user: User, co: CommunityOrganisation) -> bool:
    """Issue, list and revoke the keys that file the CO's problems: its leader."""
    return is_leader(user, co.id)
