"""Rules for municipalities, settlements, community organisations and their members."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from consult.audit.service import record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership
from consult.core.enums import MembershipRole
from consult.extensions import db


class MembershipError(ValueError):
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
    return db.session.scalar(
        select(func.count(Membership.id)).where(
            Membership.co_id == co_id, Membership.left_on.is_(None)
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
