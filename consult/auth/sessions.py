"""Sessions that end.

Every session and remember cookie carries the account's ``session_token`` (see
``User.get_id``); a new token — at logout, a new password, disabling, a role change — ends them
all at once, on every device. On top of that a session ends by itself after
``SESSION_IDLE_MINUTES`` without a request and ``SESSION_ABSOLUTE_HOURS`` after the login. "Keep
me logged in on this phone" swaps both for ``REMEMBER_DAYS`` from the login,
checked on the server from the signed time inside the remember cookie (a new value at each login).
"""

import secrets
import time

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from consult.auth.models import User, tokens_match
from consult.core import conditional, security_log
from consult.extensions import login_manager

REMEMBER_COOKIE = "consult_remember"
#: what survives a login or a logout in the session (not who is logged in)
_KEPT = ("lang",)


def _seconds(name: str, unit: int) -> int:
    return int(current_app.config[name]) * unit


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="consult-remember")


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The account whose current session token is in ``session_id`` ("<id>:<token>")."""
    named = _named_in(session_id)
    if named is None:
        return None
    user_id, token = named
    # with the memberships every page's policies and menu read (one statement, not two), and
    # a versioned page's version (see core.conditional)
    user = conditional.load_reader(_account, user_id)
    if user is None or not user.holds_session(token):
        return None
    return user


def _named_in(session_id) -> tuple[int, str] | None:
    """The account id and session token a session's ``session_id`` ("<id>:<token>") names;
    None when it is not one."""
    user_id, _sep, token = str(session_id).partition(":")
    if not user_id.isdigit() or len(user_id) > 18 or not token:
        return None
    return int(user_id), token


def _account():
    return select(User).options(joinedload(User.memberships)).where(User.id == conditional.READER)


@login_manager.request_loader
def load_remembered_user(req) -> User | None:
    """A new session from the remember cookie, if it is genuine, young enough and current."""
    raw = req.cookies.get(REMEMBER_COOKIE)
    if not raw:
        return None
    max_age = _seconds("REMEMBER_DAYS", 86400)
    try:
        (session_id, _nonce), issued = _serializer().loads(
            raw, max_age=max_age, return_timestamp=True
        )
        user = load_user(session_id)
    except (BadSignature, TypeError, ValueError):
        user = None
    if user is None or not user.is_active:
        g.forget_remember = True
        return None
    _clear_session()
    session["_user_id"] = user.get_id()
    session["_fresh"] = False
    session["_started"] = int(issued.timestamp())
    session["_seen"] = int(time.time())
    session["_remembered"] = True
    return user


def _clear_session() -> None:
    kept = {key: session[key] for key in _KEPT if key in session}
    session.clear()
    session.update(kept)


def start(user: User, *, remember: bool = False) -> None:
    """Log ``user`` in on this device with a fresh session (nothing of the one before kept
    but the language), remembered on this phone if asked."""
    _clear_session()
    login_user(user, remember=False, fresh=True)
    now = int(time.time())
    session["_started"] = session["_seen"] = now
    if remember:
        session["_remembered"] = True
        g.remember_as = user.get_id()
    else:
        g.forget_remember = True


def end() -> None:
    """Log out on this device: the session is emptied and the remember cookie deleted."""
    logout_user()
    _clear_session()
    g.forget_remember = True


def remembered() -> bool:
    return bool(session.get("_remembered"))


def _check_timeouts():
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = int(time.time())
    if _expired(now):
        security_log.event("session.expired", current_user)
        end()
        flash(_("Your session has ended. Please log in again."), "info")
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target))
    _seen_at(now)
    return None


def _expired(now: int) -> bool:
    """Whether the session has outlived its idle or absolute limit (or the remembered
    login its days) at ``now`` (seconds since the epoch)."""
    started, seen = session.get("_started"), session.get("_seen")
    if started is None or seen is None:  # a session from before timeouts existed
        return False
    if remembered():
        return now - started > _seconds("REMEMBER_DAYS", 86400)
    return now - started > _seconds("SESSION_ABSOLUTE_HOURS", 3600) or now - seen > _seconds(
        "SESSION_IDLE_MINUTES", 60
    )


def _seen_at(now: int) -> None:
    started, seen = session.get("_started"), session.get("_seen")
    if started is None or seen is None:
        session["_started"] = session["_seen"] = now
    elif now - seen >= 60:  # a new cookie at most once a minute
        session["_seen"] = now


def _repeat_view():
    """A repeat view of a versioned page, answered 304 before the account is loaded
    (``conditional.repeat_view``): when the session names an account, passes Flask-Login's
    session protection and has not ended by time. Else the request goes on, and the usual
    path (the remember cookie, the time-outs' redirect) handles it."""
    if not conditional.may_repeat():
        return None
    named = _named_in(session.get("_user_id"))
    if named is None:
        return None
    user_id, token = named
    # the check Flask-Login makes before it loads the account (a private method: there is
    # no public one, and repeating its rules here would let them drift apart)
    if login_manager._session_protection_failed():
        return None
    now = int(time.time())
    if session.get("_started") is None or session.get("_seen") is None or _expired(now):
        return None
    response = conditional.repeat_view(
        _tagged_account,
        user_id,
        lambda account: account.active and tokens_match(account.session_token, token),
    )
    if response is not None:
        _seen_at(now)
    return response


def _tagged_account():
    columns = [getattr(User, name) for name in conditional.ACCOUNT_TAGGED]
    return select(*columns, User.active).where(User.id == conditional.READER)


def _remember_cookie(response):
    config = current_app.config
    if "remember_token" in request.cookies:  # Flask-Login's own, from before: never again
        response.delete_cookie("remember_token")
    if getattr(g, "remember_as", None):
        response.set_cookie(
            REMEMBER_COOKIE,
            _serializer().dumps([g.remember_as, secrets.token_hex(8)]),  # new at each login
            max_age=_seconds("REMEMBER_DAYS", 86400),
            secure=bool(config["REMEMBER_COOKIE_SECURE"]),
            httponly=True,
            samesite=config["REMEMBER_COOKIE_SAMESITE"],
        )
    elif getattr(g, "forget_remember", False) and REMEMBER_COOKIE in request.cookies:
        response.delete_cookie(
            REMEMBER_COOKIE,
            secure=bool(config["REMEMBER_COOKIE_SECURE"]),
            httponly=True,
            samesite=config["REMEMBER_COOKIE_SAMESITE"],
        )
    return response


def init_app(app: Flask) -> None:
    app.before_request(_repeat_view)
    app.before_request(_check_timeouts)
    app.after_request(_remember_cookie)
