"""Bearer tokens: issuing, finding, listing, revoking.

Services flush and never commit; the view commits once.
"""

import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from consult.api.models import ApiToken
from consult.audit.service import record
from consult.auth.models import User
from consult.core.db import utcnow
from consult.core.refusal import Refusal
from consult.core.tokens import hash_secret
from consult.extensions import db

TOKEN_PREFIX = "cst_"  # noqa: S105 - a marker, not a secret


class TokenError(Refusal):
    """A readable reason a token request was refused."""


def issue_token(user: User, *, days: int, name: str | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user`` valid ``days`` days; returns the row and the token, which is
    never stored and cannot be shown again."""
    if not 1 <= days <= 365:
        raise TokenError(_l("A token lasts from 1 to 365 days."), field="days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        token_hash=hash_secret(secret),
        prefix=secret[:10],
        name=(name or "").strip() or None,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    record("api_token.issued", token, user, token_id=token.id, expires_at=token.expires_at)
    return token, secret


def find_token(secret: str) -> ApiToken | None:
    """The live token whose secret is ``secret``: not revoked, not expired, its owner active."""
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    # the owner and their memberships in the same statement: every call asks who is a member
    token = (
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.token_hash == hash_secret(secret))
            .options(joinedload(ApiToken.user).joinedload(User.memberships))
        )
        .unique()
        .first()
    )
    if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    if not token.user.is_active:
        return None
    return token


def tokens_of(user: User) -> list[ApiToken]:
    """``user``'s tokens, newest first, revoked and expired ones included."""
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(token: ApiToken, *, by: User) -> None:
    """Revoke ``token`` for good (revoking twice changes nothing)."""
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    token.revoked_by_id = by.id
    record("api_token.revoked", token, by, token_id=token.id, owner_id=token.user_id)
