"""Who may see and revoke API tokens."""

from enum import StrEnum

from consult.api.models import ApiToken
from consult.auth.models import User
from consult.core.permissions import rule


class ApiAction(StrEnum):
    MANAGE_TOKENS = "manage_tokens"
    REVOKE = "revoke"


A = ApiAction


@rule(User, A.MANAGE_TOKENS)
def _manage_tokens(user: User, other: User) -> bool:
    """List someone's API tokens: the person themselves or an administrator."""
    return user.id == other.id or user.is_admin


@rule(ApiToken, A.REVOKE)
def _revoke_token(user: User, token: ApiToken) -> bool:
    """Revoke a token: its owner or an administrator."""
    return token.user_id == user.id or user.is_admin
