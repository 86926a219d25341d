"""Running the platform: municipalities, accounts and their roles (invitations are auth's).

Pure functions on models: each checks its rule, changes state, writes the audit event and
flushes. None commits; the view does, once.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from consult.admin import codes
from consult.audit.service import record
from consult.auth import service as accounts
from consult.auth.models import User
from consult.communities.models import Municipality
from consult.core.enums import UserRole
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.proposals.models import Proposal


class AdminError(Refusal):
    """A readable reason an administrative change was refused; ``field`` names the form field
    the message belongs to (None: the whole form)."""


# --- municipalities -----------------------------------------------------------------------

MUNICIPALITY_FIELDS = (
    "name",
    "city",
    "country",
    "currency",
    "timezone",
    "default_language",
    "response_target_days",
    "annual_target_settlements",
)


def _clean_municipality(fields: dict, languages) -> dict:
    """Trimmed, upper-cased where codes are, and checked against the ISO and tz lists."""
    out = {k: fields[k] for k in MUNICIPALITY_FIELDS}
    for key in ("name", "city", "timezone"):
        out[key] = (out[key] or "").strip()
    out["country"] = (out["country"] or "").strip().upper()
    out["currency"] = (out["currency"] or "").strip().upper()
    if not out["name"]:
        raise AdminError(_l("Enter a name."), "name")
    if not codes.is_country(out["country"]):
        raise AdminError(
            _l("“%(code)s” is not an ISO 3166 country code (e.g. KH).", code=out["country"]),
            "country",
        )
    if not codes.is_currency(out["currency"]):
        raise AdminError(
            _l("“%(code)s” is not an ISO 4217 currency code (e.g. KHR).", code=out["currency"]),
            "currency",
        )
    if not codes.is_timezone(out["timezone"]):
        raise AdminError(
            _l("“%(zone)s” is not a time zone (e.g. Asia/Phnom_Penh).", zone=out["timezone"]),
            "timezone",
        )
    if out["default_language"] not in languages:
        raise AdminError(_l("Choose one of the offered languages."), "default_language")
    if out["response_target_days"] is None or out["response_target_days"] < 1:
        raise AdminError(_l("At least 1 day."), "response_target_days")
    if out["annual_target_settlements"] is None or out["annual_target_settlements"] < 0:
        raise AdminError(_l("Enter 0 or more."), "annual_target_settlements")
    return out


def _name_taken(name: str, except_id: int | None) -> bool:
    query = select(Municipality.id).where(func.lower(Municipality.name) == name.lower())
    if except_id is not None:
        query = query.where(Municipality.id != except_id)
    return db.session.scalar(query) is not None


def _duplicate_name(name: str) -> AdminError:
    return AdminError(_l("There is already a municipality called “%(name)s”.", name=name), "name")


def _flush_unique(name: str) -> None:
    """Flush in a savepoint, so a name another request took a moment ago is refused with a
    field error instead of failing the whole transaction."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        raise _duplicate_name(name) from error


def has_proposals(m: Municipality) -> bool:
    return bool(db.session.scalar(select(exists().where(Proposal.municipality_id == m.id))))


def create_municipality(*, by: User | None, languages, **fields) -> Municipality:
    """A new municipality; the name must be unused (whatever its capitals)."""
    data = _clean_municipality(fields, languages)
    if _name_taken(data["name"], None):
        raise _duplicate_name(data["name"])
    m = Municipality(**data)
    db.session.add(m)
    _flush_unique(data["name"])
    record("municipality.created", m, by, **data)
    return m


def update_municipality(m: Municipality, *, by: User | None, languages, **fields) -> dict:
    """Change a municipality's details; returns the changed fields as {name: (before, after)}.

    Its currency is fixed once a proposal has been made there: amounts are stored without
    their currency on many rows, so changing it would silently change what they mean.
    """
    data = _clean_municipality(fields, languages)
    if _name_taken(data["name"], m.id):
        raise _duplicate_name(data["name"])
    if data["currency"] != m.currency and has_proposals(m):
        raise AdminError(
            _l(
                "The currency cannot change: this municipality already has proposals in "
                "%(code)s, and their amounts would change meaning.",
                code=m.currency,
            ),
            "currency",
        )
    changes = {k: (getattr(m, k), v) for k, v in data.items() if getattr(m, k) != v}
    if not changes:
        return {}
    for key, (_before, after) in changes.items():
        setattr(m, key, after)
    _flush_unique(data["name"])
    record(
        "municipality.changed",
        m,
        by,
        before={k: b for k, (b, _a) in changes.items()},
        after={k: a for k, (_b, a) in changes.items()},
    )
    return changes


# --- accounts -----------------------------------------------------------------------------


def active_admin_count(*, excluding: User | None = None) -> int:
    query = select(func.count(User.id)).where(User.role == UserRole.ADMIN, User.active.is_(True))
    if excluding is not None:
        query = query.where(User.id != excluding.id)
    return db.session.scalar(query)


def _keep_an_admin(user: User, by: User | None, message) -> None:
    """Refuse to take ``user``'s administrator role or access away when that is the actor
    themself or would leave the platform without an active administrator."""
    if not (user.is_admin and user.active):
        return
    if by is not None and by.id == user.id:
        raise AdminError(message)
    if active_admin_count(excluding=user) == 0:
        raise AdminError(_l("This is the last active administrator. Make someone else one first."))


def disable_user(user: User, *, by: User | None) -> None:
    """Disable an account: it can no longer log in, and its open sessions stop working (Flask-
    Login refuses inactive users on every request). Its unused invitation links die too."""
    if not user.active:
        return
    _keep_an_admin(user, by, _l("You cannot disable your own account."))
    user.active = False
    accounts.end_sessions(user)
    revoked = accounts.revoke_invitations(user)
    record("user.disabled", user, by, invitations_revoked=revoked)


def enable_user(user: User, *, by: User | None) -> None:
    if user.active:
        return
    user.active = True
    record("user.enabled", user, by)


def change_role(
    user: User, role: UserRole, *, municipality_id: int | None, by: User | None
) -> bool:
    """Give ``user`` a new role (and, for an officer, a municipality). False when nothing
    changed. Only officers keep a municipality: it says whose inbox they answer."""
    if role == UserRole.OFFICER:
        if not municipality_id or db.session.get(Municipality, municipality_id) is None:
            raise AdminError(_l("Choose the officer's municipality."), "municipality_id")
    else:
        municipality_id = None
    if role == user.role and municipality_id == user.municipality_id:
        return False
    if role != UserRole.ADMIN:
        _keep_an_admin(user, by, _l("You cannot remove your own administrator role."))
    before = {"role": user.role, "municipality_id": user.municipality_id}
    user.role, user.municipality_id = role, municipality_id
    accounts.end_sessions(user)  # whatever a session was allowed is worked out afresh
    db.session.flush()
    record(
        "user.role_changed",
        user,
        by,
        before=before,
        after={"role": role, "municipality_id": municipality_id},
    )
    return True
