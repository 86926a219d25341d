"""“Needs you now”: what a member (or leader) of a CO is asked to do, in one place.

Pure reads on the features' models, no request and no templates: the CO home shows the list
and the top bar shows its count. What a person may do is still asked of ``can()``.
"""

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Integer, Select, bindparam, exists, func, select, union

from consult.audit.service import events_in
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership
from consult.core import conditional
from consult.core.db import UTCDateTime, utcnow, written
from consult.core.enums import CounterOfferStatus, MessageKind, ProposalState, VoteSubject
from consult.core.permissions import can
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.negotiation.models import Message
from consult.priorities import counting as priorities
from consult.problems.models import PriorityPoints, PriorityRound
from consult.proposals.models import Proposal
from consult.votes import service as votes
from consult.votes.models import Vote, VoteRound

#: how far ahead a meeting counts as "coming up"
MEETINGS_AHEAD = timedelta(days=7)


@dataclass
class Ballot:
    """An open vote the person has not taken part in yet: on the proposal itself, or on a
    counter-offer (``offer``) the leader put to the members."""

    proposal: Proposal
    round: VoteRound
    offer: Message | None = None


@dataclass
class Needs:
    co: CommunityOrganisation
    votes: list[Ballot] = field(default_factory=list)
    points: list[PriorityRound] = field(default_factory=list)
    offers: list[Message] = field(default_factory=list)  # counter-offers to answer (leaders)
    meetings: list[Meeting] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Things to do (meetings are to attend, not to answer: they are not counted)."""
        return len(self.votes) + len(self.points) + len(self.offers)

    def __bool__(self) -> bool:
        return bool(self.count or self.meetings)


def needs(user: User, co: CommunityOrganisation, *, now: datetime | None = None) -> Needs:
    """What ``user`` is asked to do in ``co`` now (empty for someone who is not a member)."""
    now = now or utcnow()
    result = Needs(co)
    membership = user.membership_in(co.id) if user.is_authenticated else None
    if membership is None:
        return result
    asked = _statements(db.engine.dialect.name)
    values = {"co_id": co.id, "membership_id": membership.id, "at": now}
    result.votes = _votes_to_cast(user, membership, db.session.execute(asked.votes, values))
    result.points = _points_to_give(user, membership, db.session.scalars(asked.points, values))
    result.offers = [
        m for m in db.session.scalars(asked.offers, values) if can(user, "accept_offer", m)
    ]
    result.meetings = list(
        db.session.scalars(asked.meetings, {**values, "until": now + MEETINGS_AHEAD})
    )
    return result


def waiting(
    user: User, *, now: datetime | None = None, needs_in=None
) -> tuple[int, CommunityOrganisation | None]:
    """How many things wait for ``user`` across their COs, and the first CO where something
    does (the top bar's number and link); ``(0, None)`` when nothing does. ``needs_in(co)``,
    when given, is asked instead of :func:`needs` (a page that shows a CO's list already
    has it)."""
    total, first = 0, None
    for m in user.current_memberships():
        n = (needs_in(m.organisation) if needs_in else needs(user, m.organisation, now=now)).count
        if n and first is None:
            first = m.organisation
        total += n
    return total, first


#: how far ahead a page's version looks for the next moment something changes by itself: at
#: least a tag's time window, so a moment that passes while a tag is valid was within the
#: horizon when the tag was made
HORIZON = timedelta(seconds=conditional.WINDOW_SECONDS)


def version_columns(cos: Select | None) -> list:
    """SQL for a page's tag (see ``consult.core.conditional``), in terms of its ``READER``
    and ``NOW``: what "Needs you" and the COs' pages depend on beyond what is written — any
    change in the reader's COs (audited: votes, points, offers, meetings, members), and the
    next moment something changes by itself in those COs or in ``cos`` (the page's; a
    SELECT of ids) — a vote or a round closes, a meeting starts or comes within a week.

    Each moment is looked for within :data:`HORIZON` only: a moment further away is seen when
    it comes within the horizon (the tag then changes once, harmlessly), and still before it
    passes. Bounded on both sides, the look-up reads few rows whatever the data, and its cost
    estimate is the same for every reader, so PostgreSQL plans the statement once and reuses
    the plan (a one-sided ``closes_at > now`` made it plan every request anew, or reuse a
    plan that walks every proposal of a big CO)."""
    mine = select(Membership.co_id).where(Membership.user_id == conditional.READER)
    # one IN list (the reader's COs and the page's), so each CO is read from its own index
    scope = mine if cos is None else union(mine, cos)
    now = conditional.NOW
    until = bindparam("agenda_until", type_=UTCDateTime)
    soon = bindparam("agenda_soon", type_=UTCDateTime)
    soon_until = bindparam("agenda_soon_until", type_=UTCDateTime)

    def first(column, *where):
        return select(func.min(column)).where(*where).scalar_subquery()

    return [
        events_in(mine),
        first(
            VoteRound.closes_at,
            # the rounds closing soon (few, from ix_vote_rounds_open), then their COs: from the
            # other end, a big CO's every proposal would be read
            select(Proposal.co_id)
            .where(Proposal.id == VoteRound.proposal_id)
            .correlate(VoteRound)
            .scalar_subquery()
            .in_(scope),
            VoteRound.closed_at.is_(None),
            VoteRound.closes_at > now,
            VoteRound.closes_at <= until,
        ),
        first(
            PriorityRound.closes_at,
            PriorityRound.co_id.in_(scope),
            PriorityRound.closed_at.is_(None),
            PriorityRound.closes_at > now,
            PriorityRound.closes_at <= until,
        ),
        first(
            Meeting.held_at,
            Meeting.co_id.in_(scope),
            Meeting.held_at >= now,
            Meeting.held_at <= until,
        ),
        first(
            Meeting.held_at,
            Meeting.co_id.in_(scope),
            Meeting.held_at >= soon,
            Meeting.held_at <= soon_until,
        ),
    ]


def version_values(now: datetime) -> dict:
    """The bound values :func:`version_columns` adds: when "coming up" ends, and the ends
    of the horizons."""
    soon = now + MEETINGS_AHEAD
    return {"agenda_until": now + HORIZON, "agenda_soon": soon, "agenda_soon_until": soon + HORIZON}


@dataclass(frozen=True)
class _Asked:
    votes: Select
    points: Select
    offers: Select
    meetings: Select


@functools.cache
def _statements(dialect: str) -> _Asked:
    """:func:`needs`'s statements, built once per process (building them cost more than
    running them), in terms of the bound ``co_id``, ``membership_id``, ``at`` (now) and
    ``until`` (the end of "coming up")."""
    co_id = bindparam("co_id", type_=Integer)
    membership_id = bindparam("membership_id", type_=Integer)
    at = bindparam("at", type_=UTCDateTime)
    until = bindparam("until", type_=UTCDateTime)
    open_round = [VoteRound.closed_at.is_(None), VoteRound.closes_at > at]
    if dialect == "postgresql":
        # said again with now(): PostgreSQL estimates a stable function's value from its
        # statistics even in the plan it makes once for every CO (few rounds close later),
        # while a bound time it guesses at a third of the open rounds, and then planned this
        # statement on every request. The bound time still decides.
        open_round.append(VoteRound.closes_at > func.now())
    voted = exists().where(Vote.round_id == VoteRound.id, Vote.membership_id == membership_id)
    given = exists().where(
        PriorityPoints.round_id == PriorityRound.id,
        PriorityPoints.membership_id == membership_id,
    )
    return _Asked(
        votes=select(VoteRound, Proposal)
        .join(Proposal, Proposal.id == VoteRound.proposal_id)
        .where(Proposal.co_id == co_id, *open_round, ~voted)
        .order_by(VoteRound.closes_at, VoteRound.id),
        points=select(PriorityRound)
        .where(
            PriorityRound.co_id == co_id,
            PriorityRound.closed_at.is_(None),
            (PriorityRound.closes_at.is_(None)) | (PriorityRound.closes_at > at),
            ~given,
        )
        .order_by(PriorityRound.id),
        # the kind and status written into the SQL: PostgreSQL then knows that the open
        # offers' index (ix_messages_open_offers) answers, in one plan for every CO
        offers=select(Message)
        .join(Proposal, Proposal.id == Message.proposal_id)
        .where(
            Proposal.co_id == co_id,
            Message.kind == written(MessageKind.COUNTER_OFFER, Message.kind),
            Message.offer_status == written(CounterOfferStatus.PENDING, Message.offer_status),
        )
        .order_by(Message.id),
        meetings=select(Meeting)
        .where(Meeting.co_id == co_id, Meeting.held_at >= at, Meeting.held_at < until)
        .order_by(Meeting.held_at),
    )


def _votes_to_cast(user: User, membership, rows) -> list[Ballot]:
    """The ballots among the open rounds ``rows`` (round, proposal) that ``membership`` has
    not voted in."""
    ballots = []
    for rnd, proposal in rows:
        if not can(user, "ballot", proposal) or not votes.on_roll(rnd, membership):
            continue  # not on this vote's roll (joined after it opened): nothing to ask
        if rnd.subject == VoteSubject.PROPOSAL:
            if proposal.state == ProposalState.VOTING:
                ballots.append(Ballot(proposal, rnd))
            continue
        offer = db.session.get(Message, rnd.counter_offer_id) if rnd.counter_offer_id else None
        if offer is not None and can(user, "vote_on_offer", offer):
            ballots.append(Ballot(proposal, rnd, offer))
    return ballots


def _points_to_give(user: User, membership, rounds) -> list[PriorityRound]:
    """The open priority ``rounds`` ``membership`` may still give points in."""
    return [
        rnd
        for rnd in rounds
        if can(user, "give_points", rnd) and priorities.on_roll(rnd, membership)
    ]
