"""The programme's indicators, computed in SQL for a scope and a period.

Every indicator is one ``GROUP BY`` statement (two for the settlements target and for votes),
so a dashboard costs the same number of statements whatever the size of the programme.

Definitions (shown on the pages as footnotes):

- **Scope**: one CO, one municipality, one country, or everything.
- **Period**: ``start`` to ``end``, both dates included, as days of the municipality in scope
  (its time zone); a scope whose municipalities are in several zones takes its days in UTC,
  and the pages say so.
- **COs formed**: COs whose ``formed_on`` falls in the period.
- **Meetings held**: meetings whose ``held_at`` falls in the period; **attendance** is the sum of
  their head-counts of women, men and other / not stated; the women's share is women / all.
- **Votes by gender**: online votes cast in the period (by the voter's recorded gender) plus
  show-of-hands tallies recorded in the period.
- **Problems**: problems recorded (``created_at``) in the period, by category and current status.
- **Proposals**: proposals created in the period, by current state, in workflow order.
- **Response time**: for proposals first submitted in the period, days from ``submitted_at`` to
  the municipality's ``first_response_at``; the median counts answered proposals only; the share
  within target is answered within the municipality's ``response_target_days`` / all submitted
  (so unanswered ones count against it).
- **Agreed funding**: proposals agreed in the period (``agreed_at``) and now agreed, in progress
  or completed; municipal share = ``amount_requested``, community share = ``community_cash +
  community_labour``; per currency, never added across currencies.
- **Infrastructure completed**: proposals completed (``completed_on``) in the period, by type.
- **Families benefited**: the sum over those of ``households_benefited``, or of
  ``households_benefiting`` (the planned figure) where the actual figure was not recorded.
- **Settlements improved**: distinct settlements with at least one proposal completed in the
  period, per calendar year, against the sum of ``annual_target_settlements`` of the
  municipalities in scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, extract, func, select, type_coerce

from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership, Municipality, Settlement
from consult.core.db import Money
from consult.core.enums import (
    Gender,
    InfrastructureType,
    ProblemCategory,
    ProblemStatus,
    ProposalState,
)
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.monitoring.scope import (
    Scope,
    by_co,
    by_municipality,
    by_proposal,
    in_period_at,
    in_period_on,
)
from consult.problems.models import Problem
from consult.proposals.models import Proposal
from consult.votes.models import Vote, VoteRound, VoteTally

CO = CommunityOrganisation
AGREED_STATES = (ProposalState.AGREED, ProposalState.IN_PROGRESS, ProposalState.COMPLETED)
#: the main path of the workflow, in order; the funnel counts proposals at or beyond each step
MAIN_PATH = (
    ProposalState.DRAFT,
    ProposalState.VOTING,
    ProposalState.APPROVED,
    ProposalState.SUBMITTED,
    ProposalState.UNDER_REVIEW,
    ProposalState.NEGOTIATING,
    ProposalState.AGREED,
    ProposalState.IN_PROGRESS,
    ProposalState.COMPLETED,
)
OFF_PATH = (ProposalState.DECLINED, ProposalState.WITHDRAWN)
SECONDS_PER_DAY = 86400


# --- indicators -----------------------------------------------------------------------------


def cos_formed(scope: Scope) -> int:
    """COs whose ``formed_on`` is in the period."""
    stmt = select(func.count(CO.id)).where(in_period_on(CO.formed_on, scope))
    return db.session.scalar(by_co(stmt, scope, CO.id)) or 0


@dataclass
class Attendance:
    meetings: int
    women: int
    men: int
    other: int

    @property
    def people(self) -> int:
        return self.women + self.men + self.other


def attendance(scope: Scope) -> Attendance:
    """Meetings held in the period and the sum of their head-counts by gender."""
    stmt = select(
        func.count(Meeting.id),
        func.coalesce(func.sum(Meeting.women_present), 0),
        func.coalesce(func.sum(Meeting.men_present), 0),
        func.coalesce(func.sum(Meeting.other_present), 0),
    ).where(in_period_at(Meeting.held_at, scope))
    row = db.session.execute(by_co(stmt, scope, Meeting.co_id)).one()
    return Attendance(*(int(v) for v in row))


def votes_by_gender(scope: Scope) -> dict[Gender, int]:
    """Votes cast in the period, by gender: online votes by the voter's gender plus
    show-of-hands tallies (two statements)."""
    online = (
        select(User.gender, func.count(Vote.id))
        .join(Membership, Membership.id == Vote.membership_id)
        .join(User, User.id == Membership.user_id)
        .where(in_period_at(Vote.cast_at, scope))
        .group_by(User.gender)
    )
    counts = {g: 0 for g in Gender}
    for gender, n in db.session.execute(by_co(online, scope, Membership.co_id)):
        counts[gender] += n
    t = VoteTally
    tallies = (
        select(
            func.coalesce(func.sum(t.yes_women + t.no_women + t.abstain_women), 0),
            func.coalesce(func.sum(t.yes_men + t.no_men + t.abstain_men), 0),
            func.coalesce(func.sum(t.yes_other + t.no_other + t.abstain_other), 0),
        )
        .join(VoteRound, VoteRound.id == t.round_id)
        .join(Proposal, Proposal.id == VoteRound.proposal_id)
        .where(in_period_at(t.created_at, scope))
    )
    women, men, other = db.session.execute(by_proposal(tallies, scope)).one()
    counts[Gender.WOMAN] += int(women)
    counts[Gender.MAN] += int(men)
    counts[Gender.OTHER] += int(other)
    return counts


@dataclass
class ProblemRow:
    category: ProblemCategory
    by_status: dict[ProblemStatus, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def problems(scope: Scope) -> list[ProblemRow]:
    """Problems recorded in the period, by category and current status (every category)."""
    stmt = (
        select(Problem.category, Problem.status, func.count(Problem.id))
        .where(in_period_at(Problem.created_at, scope))
        .group_by(Problem.category, Problem.status)
    )
    rows = {c: ProblemRow(c, {s: 0 for s in ProblemStatus}) for c in ProblemCategory}
    for category, status, n in db.session.execute(by_co(stmt, scope, Problem.co_id)):
        rows[category].by_status[status] = n
    return list(rows.values())


@dataclass
class StateRow:
    state: ProposalState
    count: int
    #: proposals now at this step of the main path or beyond it (None off the path)
    reached: int | None


def proposals_by_state(scope: Scope) -> list[StateRow]:
    """Proposals created in the period by current state, main path first, with the funnel."""
    stmt = (
        select(Proposal.state, func.count(Proposal.id))
        .where(in_period_at(Proposal.created_at, scope))
        .group_by(Proposal.state)
    )
    counts = {s: 0 for s in ProposalState}
    counts.update(dict(db.session.execute(by_proposal(stmt, scope)).all()))
    rows, reached = [], 0
    for state in reversed(MAIN_PATH):
        reached += counts[state]
        rows.append(StateRow(state, counts[state], reached))
    rows.reverse()
    rows.extend(StateRow(s, counts[s], None) for s in OFF_PATH)
    return rows


@dataclass
class ResponseRow:
    municipality_id: int
    name: str
    target_days: int
    submitted: int
    answered: int
    median_days: float | None
    within_target: int

    @property
    def share_within(self) -> float | None:
        return self.within_target / self.submitted if self.submitted else None


def _days(later, earlier):
    """Days between two timestamps, as a fraction, in SQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        return extract("epoch", later - earlier) / SECONDS_PER_DAY
    return func.julianday(later) - func.julianday(earlier)


def response_times(scope: Scope) -> list[ResponseRow]:
    """Per municipality: submissions in the period, median days to first response,
    and how many were answered within the municipality's target.

    PostgreSQL computes the median with ``percentile_cont(0.5)``; elsewhere the middle one or
    two answered rows are picked with window functions (``row_number``/``count`` over the
    municipality) and averaged — the same value.
    """
    days = _days(Proposal.first_response_at, Proposal.submitted_at)
    # one second of slack so float arithmetic never pushes "exactly on target" out
    within = case((days <= Municipality.response_target_days + 1.0 / SECONDS_PER_DAY, 1), else_=0)
    base = (
        select(Proposal.municipality_id)
        .join(Municipality, Municipality.id == Proposal.municipality_id)
        .where(in_period_at(Proposal.submitted_at, scope))
    )
    base = by_proposal(base, scope)
    keys = (Proposal.municipality_id, Municipality.name, Municipality.response_target_days)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = base.with_only_columns(
            *keys,
            func.count(Proposal.id),
            func.count(Proposal.first_response_at),
            func.percentile_cont(0.5).within_group(days),
            func.sum(within),
        ).group_by(*keys)
    else:
        answered_first = case((Proposal.first_response_at.is_(None), 1), else_=0)
        inner = base.with_only_columns(
            *keys,
            Proposal.id.label("pid"),
            Proposal.first_response_at.label("answered_at"),
            days.label("days"),
            within.label("within"),
            func.row_number()
            .over(partition_by=Proposal.municipality_id, order_by=(answered_first, days))
            .label("rn"),
            func.count(Proposal.first_response_at)
            .over(partition_by=Proposal.municipality_id)
            .label("n"),
        ).subquery()
        middle = inner.c.rn.in_([(inner.c.n + 1) // 2, (inner.c.n + 2) // 2])
        outer_keys = (inner.c.municipality_id, inner.c.name, inner.c.response_target_days)
        stmt = select(
            *outer_keys,
            func.count(inner.c.pid),
            func.count(inner.c.answered_at),
            func.avg(case((and_(inner.c.n > 0, middle), inner.c.days))),
            func.sum(inner.c.within),
        ).group_by(*outer_keys)
    rows = [
        ResponseRow(
            mid,
            name,
            target,
            submitted,
            answered,
            None if median is None else round(float(median), 2),
            int(within_n or 0),
        )
        for mid, name, target, submitted, answered, median, within_n in db.session.execute(stmt)
    ]
    return sorted(rows, key=lambda r: r.name)


@dataclass
class FundingRow:
    currency: str
    proposals: int
    municipal: object  # Decimal
    community: object  # Decimal


def funding(scope: Scope) -> list[FundingRow]:
    """Agreed funding per currency: municipal and community shares of proposals agreed in the
    period that are agreed, in progress or completed."""
    stmt = (
        select(
            Proposal.currency,
            func.count(Proposal.id),
            type_coerce(func.sum(Proposal.amount_requested), Money()),
            type_coerce(func.sum(Proposal.community_cash + Proposal.community_labour), Money()),
        )
        .where(Proposal.state.in_(AGREED_STATES), in_period_at(Proposal.agreed_at, scope))
        .group_by(Proposal.currency)
        .order_by(Proposal.currency)
    )
    return [FundingRow(*row) for row in db.session.execute(by_proposal(stmt, scope))]


@dataclass
class InfrastructureRow:
    type: InfrastructureType
    completed: int
    families: int
    #: of ``completed``, how many had no actual household count (the plan was used)
    estimated: int


def infrastructure(scope: Scope) -> list[InfrastructureRow]:
    """Proposals completed in the period by infrastructure type, with families benefited
    (actual ``households_benefited``, else the planned ``households_benefiting``)."""
    families = func.coalesce(Proposal.households_benefited, Proposal.households_benefiting, 0)
    stmt = (
        select(
            Proposal.infrastructure_type,
            func.count(Proposal.id),
            func.sum(families),
            func.sum(case((Proposal.households_benefited.is_(None), 1), else_=0)),
        )
        .where(
            Proposal.state == ProposalState.COMPLETED, in_period_on(Proposal.completed_on, scope)
        )
        .group_by(Proposal.infrastructure_type)
    )
    found = {
        t: (n, int(f or 0), int(e or 0))
        for t, n, f, e in db.session.execute(by_proposal(stmt, scope))
    }
    return [InfrastructureRow(t, *found[t]) for t in InfrastructureType if t in found]


@dataclass
class SettlementsRow:
    year: int
    improved: int
    target: int | None


def settlements_improved(scope: Scope) -> list[SettlementsRow]:
    """Distinct settlements with a proposal completed in the period, per calendar year, each
    against the annual target of the municipalities in scope (no target for a single CO)."""
    year = extract("year", Proposal.completed_on)
    stmt = (
        select(year, func.count(func.distinct(CO.settlement_id)))
        .join(CO, CO.id == Proposal.co_id)
        .where(
            Proposal.state == ProposalState.COMPLETED, in_period_on(Proposal.completed_on, scope)
        )
        .group_by(year)
    )
    improved = {int(y): n for y, n in db.session.execute(by_proposal(stmt, scope))}
    target = None
    if scope.co_id is None:
        target_stmt = by_municipality(
            select(func.coalesce(func.sum(Municipality.annual_target_settlements), 0)), scope
        )
        target = int(db.session.scalar(target_stmt) or 0)
    return [
        SettlementsRow(y, improved.get(y, 0), target)
        for y in range(scope.start.year, scope.end.year + 1)
    ]


@dataclass
class Indicators:
    scope: Scope
    cos_formed: int
    attendance: Attendance
    votes: dict[Gender, int]
    problems: list[ProblemRow]
    proposals: list[StateRow]
    response: list[ResponseRow]
    funding: list[FundingRow]
    infrastructure: list[InfrastructureRow]
    settlements: list[SettlementsRow]
    #: until when online ballots are counted (figures from the summary rows), else None
    votes_until: datetime | None = None

    @property
    def families_benefited(self) -> int:
        return sum(r.families for r in self.infrastructure)

    @property
    def infrastructure_completed(self) -> int:
        return sum(r.completed for r in self.infrastructure)

    @property
    def votes_total(self) -> int:
        return sum(self.votes.values())


def indicators(scope: Scope) -> Indicators:
    """Every indicator for ``scope``: a fixed number of SQL statements."""
    return Indicators(
        scope=scope,
        cos_formed=cos_formed(scope),
        attendance=attendance(scope),
        votes=votes_by_gender(scope),
        problems=problems(scope),
        proposals=proposals_by_state(scope),
        response=response_times(scope),
        funding=funding(scope),
        infrastructure=infrastructure(scope),
        settlements=settlements_improved(scope),
    )


# --- the map --------------------------------------------------------------------------------


@dataclass
class MapPoint:
    kind: str  # "settlement" or "proposal"
    id: int
    name: str
    latitude: float
    longitude: float
    state: ProposalState | None
    municipality: str


def map_points(scope: Scope, limit: int) -> tuple[list[MapPoint], int]:
    """Settlements with a location, and proposals created in the period with a location of
    their own or their settlement's; at most ``limit`` of each, and how many there are in all."""
    s_stmt = (
        select(
            Settlement.id,
            Settlement.name,
            Settlement.latitude,
            Settlement.longitude,
            Municipality.name,
        )
        .join(Municipality, Municipality.id == Settlement.municipality_id)
        .where(Settlement.latitude.is_not(None), Settlement.longitude.is_not(None))
    )
    if scope.co_id is not None:
        s_stmt = s_stmt.where(
            Settlement.id.in_(select(CO.settlement_id).where(CO.id == scope.co_id))
        )
    else:
        s_stmt = by_municipality(s_stmt, scope)
    lat = func.coalesce(Proposal.latitude, Settlement.latitude)
    lon = func.coalesce(Proposal.longitude, Settlement.longitude)
    p_stmt = (
        select(Proposal.id, Proposal.title, lat, lon, Proposal.state, Municipality.name)
        .join(CO, CO.id == Proposal.co_id)
        .join(Settlement, Settlement.id == CO.settlement_id)
        .join(Municipality, Municipality.id == Proposal.municipality_id)
        .where(lat.is_not(None), lon.is_not(None), in_period_at(Proposal.created_at, scope))
    )
    p_stmt = by_proposal(p_stmt, scope)
    total = db.session.scalar(
        select(
            select(func.count()).select_from(s_stmt.subquery()).scalar_subquery()
            + select(func.count()).select_from(p_stmt.subquery()).scalar_subquery()
        )
    )
    points = [
        MapPoint("settlement", i, n, la, lo, None, m)
        for i, n, la, lo, m in db.session.execute(s_stmt.order_by(Settlement.name).limit(limit))
    ]
    points += [
        MapPoint("proposal", i, n, la, lo, st, m)
        for i, n, la, lo, st, m in db.session.execute(
            p_stmt.order_by(Proposal.id.desc()).limit(limit)
        )
    ]
    return points, int(total or 0)


def places() -> tuple[list[tuple[int, str, str, str]], list[str]]:
    """Municipalities (id, name, country, time zone) and countries, for the scope filter (and
    the days a scope counts in: ``scope.days_among``)."""
    rows = db.session.execute(
        select(
            Municipality.id, Municipality.name, Municipality.country, Municipality.timezone
        ).order_by(Municipality.country, Municipality.name)
    ).all()
    countries = sorted({r[2] for r in rows})
    return [tuple(r) for r in rows], countries
