"""How the demo writes its programme: people and COs, meetings, problems, proposals in every
workflow state, threads and member votes (through the votes service, ``now=`` their
dates, so their counts and results are the rules' own)."""

from datetime import timedelta
from decimal import Decimal

from flask import current_app

from consult.audit.service import record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership
from consult.core.db import utcnow
from consult.core.enums import (
    COStatus,
    CounterOfferStatus,
    Decision,
    MembershipRole,
    MessageKind,
    ProblemStatus,
    ProposalState,
    Side,
    UserRole,
    VoteChoice,
    VoteSubject,
)
from consult.extensions import db
from consult.implementation.models import ImplementationUpdate
from consult.meetings.models import Attendance, Meeting
from consult.negotiation.models import Message
from consult.priorities import counting
from consult.priorities import service as priorities
from consult.problems.models import Problem
from consult.proposals.models import Proposal, ProposalVersion
from consult.votes import service as votes


def _not_the_demo_member(members):
    """Everyone but the CO's second person (the "CO member" login): open ballots still wait
    for them, so their home shows what a member is asked to do."""
    return [m for i, m in enumerate(members) if i != 1]


class Builder:
    def __init__(self):
        self.now = utcnow()
        self.password_hash = None
        self.phone_seq = 0

    # --- people ------------------------------------------------------------------------

    def person(self, name, gender, *, phone=None, email=None, role=UserRole.RESIDENT, **kw):
        user = User(name=name, gender=gender, phone=phone, email=email, role=role, **kw)
        if self.password_hash is None:
            user.set_password(current_app.config["DEMO_PASSWORD"])
            self.password_hash = user.password_hash
        user.password_hash = self.password_hash
        db.session.add(user)
        return user

    def co_with_members(self, settlement, name, names, phone_prefix, formed):
        """A CO whose first person leads it; phones are ``phone_prefix`` + 001, 002, …"""
        co = CommunityOrganisation(
            settlement=settlement, name=name, formed_on=formed, status=COStatus.ACTIVE
        )
        db.session.add(co)
        roles = {0: MembershipRole.LEADER, 2: MembershipRole.SECRETARY, 3: MembershipRole.TREASURER}
        members = []
        for i, (person_name, gender) in enumerate(names):
            user = self.person(person_name, gender, phone=f"{phone_prefix}{i + 1:03d}")
            m = Membership(
                user=user,
                organisation=co,
                joined_on=formed,
                role=roles.get(i, MembershipRole.MEMBER),
            )
            db.session.add(m)
            members.append(m)
        db.session.flush()
        return co, members

    # --- the programme -----------------------------------------------------------------

    def meeting(
        self,
        co,
        members,
        *,
        days_ago,
        kind,
        women,
        men,
        other,
        present,
        agenda,
        minutes=None,
        decisions=None,
    ):
        mt = Meeting(
            organisation=co,
            kind=kind,
            held_at=self.now - timedelta(days=days_ago),
            place="Community hall",
            agenda=agenda,
            minutes=minutes,
            decisions=decisions,
            women_present=women,
            men_present=men,
            other_present=other,
            recorded_by_id=members[0].user.id,
        )
        db.session.add(mt)
        for m in members[:present]:
            db.session.add(Attendance(meeting=mt, membership=m))
        db.session.flush()
        record("meeting.logged", mt, members[0].user, co_id=co.id)
        return mt

    def problem(self, co, meeting, title, category, households, description):
        pr = Problem(
            organisation=co,
            meeting=meeting,
            title=title,
            category=category,
            households_affected=households,
            description=description,
            reported_by_id=None,
            status=ProblemStatus.OPEN,
            created_at=self.now - timedelta(days=70),
        )
        db.session.add(pr)
        db.session.flush()
        return pr

    def proposal(
        self,
        co,
        members,
        title,
        kind,
        cost,
        cash,
        labour,
        state,
        *,
        households,
        currency,
        problems=(),
        votes=(),
        officer=None,
        submitted_days_ago=None,
        negotiation=False,
        progress=0,
    ):
        leader = members[0].user
        created = self.now - timedelta(days=(submitted_days_ago or 10) + 20)
        p = Proposal(
            organisation=co,
            municipality_id=co.settlement.municipality_id,
            title=title,
            description=f"{title}. Prepared with the members at a general assembly.",
            infrastructure_type=kind,
            location=co.settlement.name,
            currency=currency,
            estimated_cost=cost,
            community_cash=cash,
            community_labour=labour,
            amount_requested=cost - cash - labour,
            households_benefiting=households,
            timeline="3 months, before the rainy season",
            state=ProposalState.DRAFT,
            created_by_id=leader.id,
            created_at=created,
            latitude=co.settlement.latitude,
            longitude=co.settlement.longitude,
        )
        p.problems = list(problems)
        db.session.add(p)
        db.session.flush()
        record("proposal.created", p, leader, proposal_id=p.id, co_id=co.id)
        if votes:
            self.vote(p, members, votes, closed=state != ProposalState.VOTING)
        if state == ProposalState.VOTING:
            p.state = state
            return p
        if state in (ProposalState.DRAFT, ProposalState.WITHDRAWN) and not votes:
            p.state = state
            return p
        if state == ProposalState.APPROVED:
            p.state = state
            return p
        # Submitted, and what the municipality did next.
        submitted = self.now - timedelta(days=submitted_days_ago)
        p.submitted_at = submitted
        v1 = ProposalVersion(
            proposal=p,
            number=1,
            reason="submitted",
            created_by_id=leader.id,
            created_at=submitted,
            **p.terms(),
        )
        db.session.add(v1)
        for pr in p.problems:
            pr.status = ProblemStatus.ADDRESSED
        db.session.flush()
        record(
            "proposal.submit",
            p,
            leader,
            proposal_id=p.id,
            co_id=co.id,
            before="approved",
            after="submitted",
        )
        if state == ProposalState.SUBMITTED:
            p.state = state
            return p
        first = submitted + timedelta(days=min(5, submitted_days_ago - 1))
        p.first_response_at = first
        self.message(
            p,
            officer,
            Side.MUNICIPALITY,
            MessageKind.STATUS_NOTE,
            first,
            "Received. The district engineer will visit the site.",
            v1,
        )
        if state == ProposalState.DECLINED:
            self.message(
                p,
                officer,
                Side.MUNICIPALITY,
                MessageKind.DECISION,
                first + timedelta(days=3),
                "The hall is on land planned for the road widening; we cannot fund "
                "a roof there. Please propose another site.",
                v1,
                decision=Decision.DECLINE,
            )
            p.state = state
            return p
        if negotiation:
            self.negotiate(p, members, officer, leader, v1, first, negotiation)
            p.state = state
            return p
        if state == ProposalState.UNDER_REVIEW:
            p.state = state
            return p
        # Agreed, then built.
        agreed = first + timedelta(days=4)
        v1.agreed_at, v1.agreed_by_id = agreed, officer.id
        p.agreed_at = agreed
        self.message(
            p,
            officer,
            Side.MUNICIPALITY,
            MessageKind.DECISION,
            agreed,
            "Agreed as submitted.",
            v1,
            decision=Decision.ACCEPT,
        )
        if state == ProposalState.AGREED:
            p.state = state
            return p
        p.started_on = (agreed + timedelta(days=10)).date()
        p.progress_percent = progress
        for pct in range(25, progress + 1, 25):
            db.session.add(
                ImplementationUpdate(
                    proposal=p,
                    author_id=officer.id,
                    progress_percent=pct,
                    note=f"Works {pct}% done.",
                    created_at=agreed + timedelta(days=10 + pct),
                )
            )
        if state == ProposalState.COMPLETED:
            p.completed_on = (agreed + timedelta(days=90)).date()
            p.actual_cost = p.estimated_cost - Decimal("500000")
            p.households_benefited = households + 12
            for pr in p.problems:
                pr.status = ProblemStatus.RESOLVED
        p.state = state
        return p

    def negotiate(self, p, members, officer, leader, v1, first, how):
        """A thread with a question, a reply and a counter-offer that is ``how``: "pending",
        "accepted" (it became version 2) or "in_vote" (put to the members)."""
        self.message(
            p,
            officer,
            Side.MUNICIPALITY,
            MessageKind.QUESTION,
            first + timedelta(days=1),
            "Can the works connect to the main sewer on Street 271?",
            v1,
        )
        self.message(
            p,
            leader,
            Side.COMMUNITY,
            MessageKind.COMMENT,
            first + timedelta(days=2),
            "Yes. Our members measured 120 m to the sewer inlet.",
            v1,
        )
        municipal = (v1.amount_requested * 7 / 8).quantize(Decimal("1"))
        offer = self.message(
            p,
            officer,
            Side.MUNICIPALITY,
            MessageKind.COUNTER_OFFER,
            first + timedelta(days=3),
            "We can fund most of it this year if the community adds labour for the trench.",
            v1,
        )
        # Terms the offer leaves as they were are stored as None.
        offer.offer_municipal_share = municipal
        offer.offer_community_labour = v1.community_labour + v1.amount_requested - municipal
        offer.offer_timeline = "4 months"
        offer.offer_status = CounterOfferStatus.PENDING
        if how == "accepted":
            terms = {
                **v1.terms(),
                "amount_requested": municipal,
                "community_labour": offer.offer_community_labour,
                "timeline": "4 months",
            }
            terms["estimated_cost"] = (
                terms["amount_requested"] + terms["community_cash"] + terms["community_labour"]
            )
            v2 = ProposalVersion(
                proposal=p,
                number=2,
                reason="counter-offer accepted",
                created_by_id=leader.id,
                created_at=first + timedelta(days=5),
                **terms,
            )
            db.session.add(v2)
            db.session.flush()
            offer.offer_status = CounterOfferStatus.ACCEPTED
            offer.resulting_version_id = v2.id
            for name, value in terms.items():
                setattr(p, name, value)
            self.message(
                p,
                leader,
                Side.COMMUNITY,
                MessageKind.DECISION,
                first + timedelta(days=5),
                "The members agreed at the general assembly: we accept.",
                v1,
                decision=Decision.ACCEPT,
            )
        elif how == "in_vote":
            offer.offer_status = CounterOfferStatus.IN_VOTE
            opened = first + timedelta(days=4)
            votes.open_round(
                p,
                leader,
                self.now + timedelta(days=4),
                now=opened,
                subject=VoteSubject.COUNTER_OFFER,
                counter_offer_id=offer.id,
            )
            choices = [VoteChoice.YES, VoteChoice.YES, VoteChoice.NO]
            for m, choice in zip(_not_the_demo_member(members), choices, strict=False):
                votes.cast(
                    p,
                    m,
                    choice,
                    subject=VoteSubject.COUNTER_OFFER,
                    counter_offer_id=offer.id,
                    now=opened,
                )

    def vote(self, p, members, choices, *, closed):
        """A member vote on ``p`` through the votes service, as it happened on its dates: the
        ballots counted and, when ``closed``, the result fixed by the same rule as ever."""
        opened = p.created_at + timedelta(days=2)
        closes_at = self.now + timedelta(days=3) if not closed else opened + timedelta(days=7)
        rnd = votes.open_round(p, members[0].user, closes_at, now=opened)
        record("vote.opened", rnd, members[0].user, proposal_id=p.id, co_id=p.co_id)
        voters = members if closed else _not_the_demo_member(members)
        for m, choice in zip(voters, choices, strict=False):
            votes.cast(p, m, choice, now=opened)
        if closed:
            votes.close(votes.lock_round(p), now=closes_at)
        db.session.flush()

    def priority_round(self, co, members):
        """An open priority round: the leader and some members have given their points."""
        rnd = priorities.open_round(
            co,
            by=members[0].user,
            title="Priorities for next year",
            closes_at=self.now + timedelta(days=10),
        )
        first, *rest = counting.round_problem_ids(rnd)
        for m in _not_the_demo_member(members)[:4]:
            priorities.give_points(rnd, m, {first: 2, **({rest[-1]: 1} if rest else {})})
        return rnd

    def message(self, p, author, side, kind, at, body, version, decision=None):
        msg = Message(
            proposal=p,
            author_id=author.id,
            side=side,
            kind=kind,
            body=body,
            version=version,
            decision=decision,
            created_at=at,
        )
        db.session.add(msg)
        db.session.flush()
        return msg
