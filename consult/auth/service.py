"""Accounts: finding people by phone or e-mail, checking passwords, invitations."""

import hashlib
import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from consult.audit.service import record
from consult.auth.models import Invitation, User
from consult.core.db import utcnow
from consult.core.enums import Gender, UserRole
from consult.core.refusal import Refusal
from consult.extensions import db


class AccountError(Refusal):
    """A readable reason an account action was refused."""


#: zxcvbn's score (0–4) a new password must reach: 0 and 1 are common or close to common
#: passwords ("12345678", "password", "Welcome123") that a guesser tries first
MIN_PASSWORD_SCORE = 2


def check_new_password(password: str, user: User | None = None) -> None:
    """Refuse a password that is common, breached-list or easy to guess (zxcvbn's frequency
    lists of leaked passwords, words and patterns), also from the person's own name or login."""
    import zxcvbn

    hints: list[str] = []
    if user is not None:
        hints += (user.name or "").split()
        hints += [v for v in (user.email, (user.email or "").split("@")[0], user.phone) if v]
    if zxcvbn.zxcvbn(password[:100], user_inputs=hints)["score"] < MIN_PASSWORD_SCORE:
        raise AccountError(
            _l(
                "This password is too common or too easy to guess. Use a few words that "
                "belong together only for you."
            ),
            "password",
        )


def end_sessions(user: User) -> None:
    """End every session and remember cookie of ``user``, on every device."""
    user.new_session_token()


def change_password(user: User, current: str, new: str) -> None:
    """The person's own change: the current password proves it is them; every other session
    of theirs ends (the view starts a fresh one here)."""
    if not user.check_password(current or ""):
        raise AccountError(_l("This is not your current password."), "current")
    if current == new:
        raise AccountError(_l("Choose a password different from the current one."), "password")
    check_new_password(new, user)
    user.set_password(new)
    end_sessions(user)
    record("user.password_changed", user, user)


def normalise_phone(raw: str | None) -> str | None:
    """Digits only, keeping a leading +: "+855 12-345 678" → "+85512345678"."""
    if not raw:
        return None
    raw = raw.strip()
    digits = re.sub(r"\D", "", raw)
    if not digits:
        return None
    return ("+" if raw.startswith("+") else "") + digits


def normalise_email(raw: str | None) -> str | None:
    return raw.strip().lower() if raw and raw.strip() else None


def login_key(identifier: str | None) -> str:
    """A stable, non-reversible name for the account a login is for (rate limits, the
    security log), the same for every spelling of one phone number or e-mail."""
    identifier = (identifier or "").strip()
    normal = normalise_email(identifier) if "@" in identifier else normalise_phone(identifier)
    return hashlib.sha256((normal or identifier).encode()).hexdigest()


def find_by_login(identifier: str) -> User | None:
    """The user whose e-mail or phone number is ``identifier``."""
    identifier = (identifier or "").strip()
    if "@" in identifier:
        return db.session.scalar(select(User).where(User.email == normalise_email(identifier)))
    phone = normalise_phone(identifier)
    if phone is None:
        return None
    return db.session.scalar(select(User).where(User.phone == phone))


# Checked against when no account matches, so a wrong login costs as long as a wrong password.
_DUMMY_HASH = None


def authenticate(identifier: str, password: str) -> User:
    """The active user with these credentials, or :class:`AccountError` saying why not.

    Unknown login and wrong password get the same message, so the form does not reveal
    who has an account.
    """
    global _DUMMY_HASH
    user = find_by_login(identifier)
    if user is None or not user.password_hash:
        if _DUMMY_HASH is None:
            from werkzeug.security import generate_password_hash

            _DUMMY_HASH = generate_password_hash(secrets.token_hex(8))
        from werkzeug.security import check_password_hash

        check_password_hash(_DUMMY_HASH, password or "")
        raise AccountError(_l("Wrong phone number, e-mail or password."))
    if not user.check_password(password or ""):
        raise AccountError(_l("Wrong phone number, e-mail or password."))
    if not user.active:
        raise AccountError(
            _l("This account has been disabled. Please ask your CO leader or programme staff.")
        )
    user.last_login_at = utcnow()
    return user


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def login_taken(
    email: str | None, phone: str | None, *, except_id: int | None = None
) -> str | None:
    """Which of the two is already used by another account, if any."""
    if email:
        other = db.session.scalar(select(User).where(User.email == email))
        if other and other.id != except_id:
            return "email"
    if phone:
        other = db.session.scalar(select(User).where(User.phone == phone))
        if other and other.id != except_id:
            return "phone"
    return None


def create_person(
    name: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    gender: Gender = Gender.OTHER,
    role: UserRole = UserRole.RESIDENT,
    municipality_id: int | None = None,
    password: str | None = None,
    language: str | None = None,
    by: User | None = None,
) -> User:
    """A new account. Without a password the person sets one through an invitation."""
    email, phone = normalise_email(email), normalise_phone(phone)
    if not email and not phone:
        raise AccountError(_l("Give a phone number or an e-mail address."))
    taken = login_taken(email, phone)
    if taken == "email":
        raise AccountError(_l("Another account already uses this e-mail address."))
    if taken == "phone":
        raise AccountError(_l("Another account already uses this phone number."))
    if role == UserRole.OFFICER and municipality_id is None:
        raise AccountError(_l("An officer must belong to a municipality."))
    user = User(
        name=name.strip(),
        email=email,
        phone=phone,
        gender=gender,
        role=role,
        municipality_id=municipality_id,
        language=language,
    )
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record("user.created", user, by, role=role, municipality_id=municipality_id)
    return user


def resident_for(
    name: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    gender: Gender = Gender.OTHER,
    by: User | None = None,
) -> tuple[User, bool]:
    """The resident with this phone or e-mail, or a new account: ``(user, created)``.

    Someone who left a CO and comes back keeps their account (and their history): the same
    phone number or e-mail finds it. Refused when the phone and the e-mail belong to two
    different accounts, when the account is not a resident's, or when it is disabled.
    """
    email_n, phone_n = normalise_email(email), normalise_phone(phone)
    by_email = email_n and db.session.scalar(select(User).where(User.email == email_n))
    by_phone = phone_n and db.session.scalar(select(User).where(User.phone == phone_n))
    if by_email and by_phone and by_email.id != by_phone.id:
        raise AccountError(
            _l("This phone number and this e-mail address belong to two different people.")
        )
    found = by_phone or by_email
    if not found:
        return create_person(name, email=email, phone=phone, gender=gender, by=by), True
    if found.role != UserRole.RESIDENT:
        raise AccountError(
            _l("This phone number or e-mail belongs to an account that is not a resident's.")
        )
    if not found.active:
        raise AccountError(
            _l("%(name)s's account is disabled. An administrator can enable it.", name=found.name)
        )
    return found, False


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(user: User, by: User | None, days: int = 14) -> str:
    """Make an invitation for ``user`` and return its token (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        Invitation(
            user_id=user.id,
            token_hash=_hash_token(token),
            invited_by_id=getattr(by, "id", None),
            expires_at=utcnow() + timedelta(days=days),
        )
    )
    db.session.flush()
    record("user.invited", user, by)
    return token


def find_invitation(token: str) -> Invitation | None:
    """The unused, unexpired invitation for ``token``."""
    inv = db.session.scalar(select(Invitation).where(Invitation.token_hash == _hash_token(token)))
    if inv is None or inv.used_at is not None or inv.expires_at < utcnow():
        return None
    return inv


def accept_invitation(inv: Invitation, password: str) -> User:
    """Set the password from the invitation; every earlier session of the account ends."""
    check_new_password(password, inv.user)
    inv.user.set_password(password)
    end_sessions(inv.user)
    inv.used_at = utcnow()
    record("user.password_set", inv.user, inv.user)
    return inv.user


def revoke_invitations(user: User) -> int:
    """End every unused, unexpired invitation of ``user`` now; how many there were."""
    now = utcnow()
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.user_id == user.id,
            Invitation.used_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def new_invitation(user: User, *, by: User | None, days: int) -> str:
    """A fresh invitation link token for someone who lost their password or their first link.

    Earlier unused links stop working: a lost link may be in someone else's hands, and only the
    newest one should set the password. Following the link sets a new password, so it also
    serves as a password reset.
    """
    if not user.active:
        raise AccountError(_l("This account is disabled. Enable it first."))
    revoked = revoke_invitations(user)
    token = invite(user, by, days)
    record("user.reinvited", user, by, invitations_revoked=revoked)
    return token
