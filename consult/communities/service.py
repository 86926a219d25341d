"""Rules for municipalities, settlements, community organisations and their members."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from consult.audit.service import events_in, events_on, record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership, Municipality, Settlement
from consult.core import localtime
from consult.core.enums import COStatus, MembershipRole, Tenure
from consult.core.refusal import Refusal
from consult.extensions import db


class MembershipError(Refusal):
    """A readable reason a membership change was refused."""


def add_member(
    co: CommunityOrganisation,
    user: User,
    role: MembershipRole = MembershipRole.MEMBER,
    *,
    by: User | None,
    joined_on: date | None = None,
) -> Membership:
    """Make ``user`` a current member of ``co``."""
    if user.membership_in(co.id) is not None:
        raise MembershipError(_l("%(name)s is already a member.", name=user.name))
    m = Membership(user=user, organisation=co, role=role, joined_on=joined_on or date.today())
    db.session.add(m)
    db.session.flush()
    record("membership.added", m, by, co_id=co.id, user_id=user.id, role=role)
    return m


def change_role(m: Membership, role: MembershipRole, *, by: User) -> None:
    if m.role == role:
        return
    if m.role == MembershipRole.LEADER and leader_count(m.co_id) == 1:
        raise MembershipError(_l("A CO needs at least one leader. Name another leader first."))
    before = m.role
    m.role = role
    record("membership.role_changed", m, by, co_id=m.co_id, before=before, after=role)


def end_membership(m: Membership, *, by: User, on: date | None = None) -> None:
    if m.role == MembershipRole.LEADER and leader_count(m.co_id) == 1:
        raise MembershipError(_l("A CO needs at least one leader. Name another leader first."))
    m.left_on = on or date.today()
    record("membership.ended", m, by, co_id=m.co_id, user_id=m.user_id)


def leader_count(co_id: int) -> int:
    return db.session.scalar(
        select(func.count(Membership.id)).where(
            Membership.co_id == co_id,
            Membership.role == MembershipRole.LEADER,
            Membership.left_on.is_(None),
        )
    )


def member_count(co_id: int) -> int:
    """Current members: the denominator of quorum and turnout."""
    return db.session.scalar(select(member_count_sql(co_id)))


def member_count_sql(co_id):
    """SQL (a scalar subquery): :func:`member_count`, to read with other figures."""
    return (
        select(func.count(Membership.id))
        .where(Membership.co_id == co_id, Membership.left_on.is_(None))
        .scalar_subquery()
    )


def members_of(co_id: int) -> list[User]:
    """The CO's current members with an enabled account, as people (to tell them something)."""
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.co_id == co_id, Membership.left_on.is_(None), User.active.is_(True))
        )
    )


def current_members(co_id: int) -> list[Membership]:
    return list(
        db.session.scalars(
            select(Membership)
            .join(Membership.user)
            .where(Membership.co_id == co_id, Membership.left_on.is_(None))
            .order_by(User.name)
        )
    )


def update_voting_rules(
    co: CommunityOrganisation, *, quorum: int, threshold: int, points: int, by: User
) -> None:
    """Change the CO's quorum, approval threshold and priority points; audited."""
    before = {
        "quorum_percent": co.quorum_percent,
        "threshold_percent": co.threshold_percent,
        "priority_points": co.priority_points,
    }
    co.quorum_percent, co.threshold_percent, co.priority_points = quorum, threshold, points
    record(
        "co.rules_changed",
        co,
        by,
        co_id=co.id,
        before=before,
        after={"quorum_percent": quorum, "threshold_percent": threshold, "priority_points": points},
    )


# --- staff registration of settlements and COs --------------------------------------------


class RegistryError(Refusal):
    """A readable reason a registration was refused; ``field`` names the form field it is
    about (None: the whole form)."""


SETTLEMENT_FIELDS = (
    "name",
    "ward",
    "commune",
    "district",
    "households",
    "population",
    "tenure",
    "latitude",
    "longitude",
)
CO_FIELDS = ("name", "formed_on", "status", "description")


def _text(value) -> str | None:
    value = (value or "").strip()
    return value or None


def _flush_unique(error: RegistryError) -> None:
    """Flush in a savepoint: a name taken by another request a moment ago becomes the same
    readable refusal as one found by the check, and the transaction stays usable."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise error from exc


def _changes(obj, data: dict) -> dict:
    return {k: (getattr(obj, k), v) for k, v in data.items() if getattr(obj, k) != v}


def _apply(obj, changes: dict) -> tuple[dict, dict]:
    for key, (_before, after) in changes.items():
        setattr(obj, key, after)
    return (
        {k: b for k, (b, _a) in changes.items()},
        {k: a for k, (_b, a) in changes.items()},
    )


def _clean_settlement(fields: dict) -> dict:
    data = {k: fields.get(k) for k in SETTLEMENT_FIELDS}
    data["name"] = _text(data["name"])
    for key in ("ward", "commune", "district"):
        data[key] = _text(data[key])
    data["tenure"] = data["tenure"] or Tenure.UNKNOWN
    if not data["name"]:
        raise RegistryError(_l("Enter a name."), "name")
    for key in ("households", "population"):
        if data[key] is not None and data[key] < 0:
            raise RegistryError(_l("Enter 0 or more."), key)
    lat, lon = data["latitude"], data["longitude"]
    if (lat is None) != (lon is None):
        raise RegistryError(_l("Give both latitude and longitude, or neither."), "longitude")
    if lat is not None and not -90 <= lat <= 90:
        raise RegistryError(_l("Between -90 and 90."), "latitude")
    if lon is not None and not -180 <= lon <= 180:
        raise RegistryError(_l("Between -180 and 180."), "longitude")
    return data


def _settlement_taken(municipality_id: int, name: str, except_id: int | None) -> bool:
    query = select(Settlement.id).where(
        Settlement.municipality_id == municipality_id,
        func.lower(Settlement.name) == name.lower(),
    )
    if except_id is not None:
        query = query.where(Settlement.id != except_id)
    return db.session.scalar(query) is not None


def _settlement_duplicate(m: Municipality, name: str) -> RegistryError:
    return RegistryError(
        _l(
            "%(municipality)s already has a settlement called “%(name)s”.",
            municipality=m.name,
            name=name,
        ),
        "name",
    )


def register_settlement(m: Municipality, *, by: User | None, **fields) -> Settlement:
    """A new settlement in ``m``; its name must be unused there (whatever its capitals)."""
    data = _clean_settlement(fields)
    if _settlement_taken(m.id, data["name"], None):
        raise _settlement_duplicate(m, data["name"])
    s = Settlement(municipality=m, **data)
    db.session.add(s)
    _flush_unique(_settlement_duplicate(m, data["name"]))
    record("settlement.registered", s, by, municipality_id=m.id, **data)
    return s


def update_settlement(s: Settlement, *, by: User | None, **fields) -> dict:
    """Correct a settlement's details; returns {field: (before, after)} of what changed."""
    data = _clean_settlement(fields)
    if _settlement_taken(s.municipality_id, data["name"], s.id):
        raise _settlement_duplicate(s.municipality, data["name"])
    changes = _changes(s, data)
    if changes:
        before, after = _apply(s, changes)
        _flush_unique(_settlement_duplicate(s.municipality, data["name"]))
        record("settlement.changed", s, by, before=before, after=after)
    return changes


def local_today(m: Municipality) -> date:
    """Today's date where the municipality is (the CO's "today", not the server's)."""
    return localtime.local_today(m.timezone or "UTC")


def _clean_co(settlement: Settlement, fields: dict) -> dict:
    data = {k: fields.get(k) for k in CO_FIELDS}
    data["name"] = _text(data["name"])
    data["description"] = _text(data["description"])
    data["status"] = data["status"] or COStatus.FORMING
    if not data["name"]:
        raise RegistryError(_l("Enter a name."), "name")
    if data["formed_on"] is None:
        raise RegistryError(_l("Enter the date the CO was formed."), "formed_on")
    if data["formed_on"] > local_today(settlement.municipality):
        raise RegistryError(_l("The date formed cannot be in the future."), "formed_on")
    return data


def _co_taken(settlement_id: int, name: str, except_id: int | None) -> bool:
    query = select(CommunityOrganisation.id).where(
        CommunityOrganisation.settlement_id == settlement_id,
        func.lower(CommunityOrganisation.name) == name.lower(),
    )
    if except_id is not None:
        query = query.where(CommunityOrganisation.id != except_id)
    return db.session.scalar(query) is not None


def _co_duplicate(s: Settlement, name: str) -> RegistryError:
    return RegistryError(
        _l("%(settlement)s already has a CO called “%(name)s”.", settlement=s.name, name=name),
        "name",
    )


def register_co(s: Settlement, *, by: User | None, **fields) -> CommunityOrganisation:
    """A new community organisation in settlement ``s``; its name must be unused there."""
    data = _clean_co(s, fields)
    if _co_taken(s.id, data["name"], None):
        raise _co_duplicate(s, data["name"])
    co = CommunityOrganisation(settlement=s, **data)
    db.session.add(co)
    _flush_unique(_co_duplicate(s, data["name"]))
    record("co.registered", co, by, co_id=co.id, settlement_id=s.id, **data)
    return co


def update_co(co: CommunityOrganisation, *, by: User | None, **fields) -> dict:
    """Correct a CO's name, date formed or description, or change its status (forming,
    active, dormant); returns {field: (before, after)} of what changed."""
    data = _clean_co(co.settlement, fields)
    if _co_taken(co.settlement_id, data["name"], co.id):
        raise _co_duplicate(co.settlement, data["name"])
    changes = _changes(co, data)
    if changes:
        before, after = _apply(co, changes)
        _flush_unique(_co_duplicate(co.settlement, data["name"]))
        record("co.changed", co, by, co_id=co.id, before=before, after=after)
    return changes


# --- versions for conditional GET (see consult.core.conditional) ------------------------------


def co_version(co_id) -> list:
    """SQL for the tag of a page about the CO ``co_id`` (an id or a SQL expression giving
    one): every audited change in the CO, and in its settlement and municipality (names,
    currency and time zone shown on its pages)."""
    settlement = select(CommunityOrganisation.settlement_id).where(
        CommunityOrganisation.id == co_id
    )
    municipality = select(Settlement.municipality_id).where(Settlement.id.in_(settlement))
    return [
        events_in(co_id),
        events_on("Settlement", settlement),
        events_on("Municipality", municipality),
    ]


def co_page_version() -> tuple[list, Select]:
    """A CO's page (its home and lists): its version's columns and its COs, in terms of the
    bound parameter ``co_id`` (see ``consult.core.conditional.page_tag``)."""
    co_id = bindparam("co_id", type_=Integer)
    return co_version(co_id), select(co_id)


def municipality_page_version() -> tuple[list, None]:
    """A page about every CO of a municipality (the officer's inbox), in terms of the bound
    parameter ``municipality_id``: every audited change in its COs, its settlements and
    itself."""
    municipality_id = bindparam("municipality_id", type_=Integer)
    settlements = select(Settlement.id).where(Settlement.municipality_id == municipality_id)
    cos = select(CommunityOrganisation.id).where(
        CommunityOrganisation.settlement_id.in_(settlements)
    )
    columns = [
        events_in(cos),
        events_on("Settlement", settlements),
        events_on("Municipality", municipality_id),
    ]
    return columns, None
