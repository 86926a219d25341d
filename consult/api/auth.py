"""Who is calling: a bearer token in ``Authorization``, never the session cookie."""

from flask import abort, g, request

from consult.api import service
from consult.auth.models import User
from consult.core.db import utcnow
from consult.extensions import db

#: endpoints that answer without a token (getting one)
PUBLIC = {"api_auth.token"}


def load_bearer():
    """Before every API request: find the token's user, or refuse with 401."""
    g.api_user = None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    token = service.find_token(secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        if request.endpoint in PUBLIC:
            return None
        abort(401)
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # bookkeeping for the owner's token list, at most once a minute, before the view's
        # own transaction starts
        token.last_used_at = now
        db.session.commit()
    g.api_user = token.user
    g.api_token = token
    # Flask-Login's request-local user, so what reads ``current_user`` (the language, the
    # audit's notifications) sees the caller; nothing is written to the session.
    g._login_user = token.user
    return None


def user() -> User:
    """The calling user (the before-request hook has refused anonymous calls)."""
    return g.api_user
