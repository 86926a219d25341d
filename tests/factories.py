"""Model factories for tests. Each adds to ``db.session`` and flushes; tests commit when they
need a request to see the data."""

import itertools
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

from werkzeug.security import generate_password_hash

from consult.auth.models import User
from consult.auth.service import normalise_phone
from consult.communities.models import CommunityOrganisation, Membership, Municipality, Settlement
from consult.core.db import utcnow
from consult.core.enums import (
    COStatus,
    Gender,
    InfrastructureType,
    MeetingKind,
    MembershipRole,
    ProblemCategory,
    ProposalState,
    UserRole,
)
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.problems.models import Problem
from consult.proposals.models import Proposal

PASSWORD = "correct horse battery"
_seq = itertools.count(1)
_hash: dict[str, str] = {}


def _password_hash(password: str) -> str:
    # scrypt is slow on purpose; hash once per run and reuse it.
    if password not in _hash:
        _hash[password] = generate_password_hash(password)
    return _hash[password]


def municipality(**kw) -> Municipality:
    n = next(_seq)
    m = Municipality(
        name=kw.pop("name", f"Municipality {n}"),
        city=kw.pop("city", f"City {n}"),
        country=kw.pop("country", "KH"),
        currency=kw.pop("currency", "KHR"),
        timezone=kw.pop("timezone", "Asia/Phnom_Penh"),
        **kw,
    )
    db.session.add(m)
    db.session.flush()
    return m


def settlement(municipality_=None, **kw) -> Settlement:
    s = Settlement(
        municipality=municipality_ or municipality(),
        name=kw.pop("name", f"Settlement {next(_seq)}"),
        households=kw.pop("households", 120),
        **kw,
    )
    db.session.add(s)
    db.session.flush()
    return s


def co(settlement_=None, **kw) -> CommunityOrganisation:
    c = CommunityOrganisation(
        settlement=settlement_ or settlement(),
        name=kw.pop("name", f"CO {next(_seq)}"),
        formed_on=kw.pop("formed_on", date(2025, 1, 15)),
        status=kw.pop("status", COStatus.ACTIVE),
        **kw,
    )
    db.session.add(c)
    db.session.flush()
    return c


def user(**kw) -> User:
    n = next(_seq)
    password = kw.pop("password", PASSWORD)
    u = User(
        name=kw.pop("name", f"Person {n}"),
        phone=normalise_phone(kw.pop("phone", f"+8551200{n:04d}")),
        email=kw.pop("email", None),
        role=kw.pop("role", UserRole.RESIDENT),
        gender=kw.pop("gender", Gender.WOMAN if n % 2 else Gender.MAN),
        **kw,
    )
    if password:
        u.password_hash = _password_hash(password)
    db.session.add(u)
    db.session.flush()
    return u


def officer(municipality_: Municipality, **kw) -> User:
    return user(role=UserRole.OFFICER, municipality_id=municipality_.id, **kw)


def staff(**kw) -> User:
    return user(role=UserRole.STAFF, **kw)


def admin(**kw) -> User:
    return user(role=UserRole.ADMIN, **kw)


def member(co_: CommunityOrganisation, role=MembershipRole.MEMBER, user_=None, **kw) -> User:
    u = user_ or user(**kw)
    db.session.add(Membership(user=u, organisation=co_, role=role, joined_on=date(2025, 2, 1)))
    db.session.flush()
    db.session.refresh(u)
    return u


def leader(co_: CommunityOrganisation, **kw) -> User:
    return member(co_, MembershipRole.LEADER, **kw)


def meeting(co_: CommunityOrganisation, **kw) -> Meeting:
    m = Meeting(
        organisation=co_,
        kind=kw.pop("kind", MeetingKind.CONSULTATION),
        held_at=kw.pop("held_at", utcnow() - timedelta(days=3)),
        place=kw.pop("place", "Community hall"),
        women_present=kw.pop("women_present", 12),
        men_present=kw.pop("men_present", 8),
        other_present=kw.pop("other_present", 0),
        **kw,
    )
    db.session.add(m)
    db.session.flush()
    return m


def problem(co_: CommunityOrganisation, **kw) -> Problem:
    p = Problem(
        organisation=co_,
        title=kw.pop("title", f"Flooded lane {next(_seq)}"),
        category=kw.pop("category", ProblemCategory.DRAINAGE),
        households_affected=kw.pop("households_affected", 40),
        **kw,
    )
    db.session.add(p)
    db.session.flush()
    return p


def proposal(co_: CommunityOrganisation, state=ProposalState.DRAFT, **kw) -> Proposal:
    p = Proposal(
        organisation=co_,
        municipality_id=co_.settlement.municipality_id,
        title=kw.pop("title", f"Concrete lane {next(_seq)}"),
        infrastructure_type=kw.pop("infrastructure_type", InfrastructureType.CONCRETE_LANE),
        currency=kw.pop("currency", co_.settlement.municipality.currency),
        estimated_cost=kw.pop("estimated_cost", Decimal("40000000")),
        community_cash=kw.pop("community_cash", Decimal("2000000")),
        community_labour=kw.pop("community_labour", Decimal("4000000")),
        amount_requested=kw.pop("amount_requested", Decimal("34000000")),
        households_benefiting=kw.pop("households_benefiting", 60),
        timeline=kw.pop("timeline", "3 months"),
        state=state,
        **kw,
    )
    if state not in (ProposalState.DRAFT, ProposalState.VOTING, ProposalState.APPROVED):
        p.submitted_at = p.submitted_at or utcnow()
    db.session.add(p)
    db.session.flush()
    return p


def world() -> SimpleNamespace:
    """Two municipalities in two countries, one CO in each, with the people who act on them."""
    pp = municipality(name="Phnom Penh", country="KH", currency="KHR")
    other = municipality(name="Battambang", country="KH", currency="KHR")
    co_a = co(settlement(pp, name="Boeung Kak"), name="Boeung Kak CO")
    co_b = co(settlement(other, name="Prek Preah Sdach"), name="Prek Preah Sdach CO")
    w = SimpleNamespace(
        municipality=pp,
        other_municipality=other,
        co=co_a,
        other_co=co_b,
        leader=leader(co_a, name="Sokha (leader)"),
        member=member(co_a, name="Dara (member)"),
        other_leader=leader(co_b, name="Vanna (other leader)"),
        other_member=member(co_b, name="Bopha (other member)"),
        officer=officer(pp, name="Officer Chan"),
        other_officer=officer(other, name="Officer Kim"),
        staff=staff(name="Programme Staff"),
        admin=admin(name="Admin"),
        outsider=user(name="Outsider"),
    )
    db.session.commit()
    return w
