"""How the demo writes its programme: people and COs, meetings, problems, proposals in every
workflow state, threads, member votes and works — through the services, each ``now=`` its date,
so the demo's history is the rules' own (a state the workflow would refuse cannot be seeded)."""

from datetime import timedelta
from decimal import Decimal

from flask import current_app

from consult.admin.service import create_municipality
from consult.auth.service import create_person
from consult.communities import service as communities
from consult.core.db import utcnow
from consult.core.enums import (
    COStatus,
    MembershipRole,
    MessageKind,
    ProposalState,
    UserRole,
    VoteChoice,
)
from consult.implementation import service as works
from consult.meetings.service import log_meeting
from consult.negotiation import offers
from consult.negotiation import service as thread
from consult.priorities import counting
from consult.priorities import service as priorities
from consult.problems.service import report_problem
from consult.proposals import service as proposals


def _not_the_demo_member(members):
    """Everyone but the CO's second person (the "CO member" login): open ballots still wait
    for them, so their home shows what a member is asked to do."""
    return [m for i, m in enumerate(members) if i != 1]


class Builder:
    def __init__(self):
        self.now = utcnow()
        self.password_hash = None
        self.phone_seq = 0
        #: the leader of each CO (by id), who reports its problems
        self.leaders = {}
        self.staff = self.admin = None

    # --- people ------------------------------------------------------------------------

    def person(self, name, gender, *, phone=None, email=None, role=UserRole.RESIDENT, **kw):
        """An account with the demo password (hashed once: the same hash serves everyone)."""
        user = create_person(
            name, gender=gender, phone=phone, email=email, role=role, by=self.admin, **kw
        )
        if self.password_hash is None:
            user.set_password(current_app.config["DEMO_PASSWORD"])
            self.password_hash = user.password_hash
        user.password_hash = self.password_hash
        return user

    def municipality(self, **fields):
        languages = current_app.config["LANGUAGES"]
        return create_municipality(by=self.admin, languages=languages, **fields)

    def settlement(self, municipality, **fields):
        return communities.register_settlement(municipality, by=self.staff, **fields)

    def co_with_members(
        self, settlement, name, names, phone_prefix, formed, status=COStatus.ACTIVE
    ):
        """A CO whose first person leads it, registered by staff; phones are ``phone_prefix``
        + 001, 002, …"""
        by = self.staff
        co = communities.register_co(settlement, by=by, name=name, formed_on=formed, status=status)
        roles = {0: MembershipRole.LEADER, 2: MembershipRole.SECRETARY, 3: MembershipRole.TREASURER}
        members = []
        for i, (person_name, gender) in enumerate(names):
            user = self.person(person_name, gender, phone=f"{phone_prefix}{i + 1:03d}")
            role = roles.get(i, MembershipRole.MEMBER)
            members.append(communities.add_member(co, user, role, by=by, joined_on=formed))
        self.leaders[co.id] = members[0].user
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
        held_at = self.now - timedelta(days=days_ago)
        return log_meeting(
            co,
            by=members[0].user,
            present=[m.id for m in members[:present]],
            now=min(held_at, self.now),  # a meeting to come is recorded today
            kind=kind,
            held_at=held_at,
            place="Community hall",
            agenda=agenda,
            minutes=minutes,
            decisions=decisions,
            women_present=women,
            men_present=men,
            other_present=other,
        )

    def problem(self, co, meeting, title, category, households, description):
        return report_problem(
            co,
            by=self.leaders[co.id],
            meeting=meeting,
            now=self.now - timedelta(days=70),
            title=title,
            category=category,
            households_affected=households,
            description=description,
        )

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
        problems=(),
        votes=(),
        officer=None,
        submitted_days_ago=None,
        negotiation=False,
        progress=0,
    ):
        """A proposal taken to ``state`` by the workflow's own steps, each on its date."""
        leader = members[0].user
        created = self.now - timedelta(days=(submitted_days_ago or 10) + 20)
        terms = {
            "title": title,
            "description": f"{title}. Prepared with the members at a general assembly.",
            "infrastructure_type": kind,
            "location": co.settlement.name,
            "latitude": co.settlement.latitude,
            "longitude": co.settlement.longitude,
            "estimated_cost": cost,
            "community_cash": cash,
            "community_labour": labour,
            "amount_requested": cost - cash - labour,
            "households_benefiting": households,
            "timeline": "3 months, before the rainy season",
        }
        p = proposals.draft_proposal(co, leader, terms, problems, now=created)
        if votes:
            self.vote(p, members, votes, closed=state != ProposalState.VOTING)
        if state == ProposalState.WITHDRAWN:
            proposals.withdraw(
                p,
                leader,
                "The school will build the fence itself.",
                now=created + timedelta(days=5),
            )
        if state in (ProposalState.DRAFT, ProposalState.VOTING, ProposalState.WITHDRAWN):
            return self._reached(p, state)
        if state == ProposalState.APPROVED:
            return self._reached(p, state)
        # Submitted, and what the municipality did next.
        submitted = self.now - timedelta(days=submitted_days_ago)
        proposals.submit(p, leader, now=submitted)
        if state == ProposalState.SUBMITTED:
            return self._reached(p, state)
        first = submitted + timedelta(days=min(5, submitted_days_ago - 1))
        thread.acknowledge(
            p, officer, "Received. The district engineer will visit the site.", now=first
        )
        if state == ProposalState.DECLINED:
            thread.decline(
                p,
                officer,
                "The hall is on land planned for the road widening; we cannot fund "
                "a roof there. Please propose another site.",
                now=first + timedelta(days=3),
            )
            return self._reached(p, state)
        if negotiation:
            self.negotiate(p, members, officer, leader, first, negotiation)
            return self._reached(p, state)
        if state == ProposalState.UNDER_REVIEW:
            return self._reached(p, state)
        # Agreed, then built.
        agreed = first + timedelta(days=4)
        version = thread.latest_version(p)
        thread.accept(p, officer, version.id, "Agreed as submitted.", now=agreed)
        if state == ProposalState.AGREED:
            return self._reached(p, state)
        started = agreed + timedelta(days=10)
        works.start_works(p, officer, started.date(), now=started)
        steps = list(range(25, progress + 1, 25))
        if progress % 25:
            steps.append(progress)
        last = started
        for pct in steps:
            last = agreed + timedelta(days=10 + pct)
            works.post_update(p, officer, progress=pct, note=f"Works {pct}% done.", now=last)
        if state == ProposalState.COMPLETED:
            works.complete_works(
                p,
                officer,
                completed_on=(agreed + timedelta(days=90)).date(),
                actual_cost=p.estimated_cost - Decimal("500000"),
                households_benefited=households + 12,
                now=last,
            )
        return self._reached(p, state)

    @staticmethod
    def _reached(p, state):
        if p.state != state:
            raise RuntimeError(f"demo: {p.title!r} reached {p.state}, not {state}")
        return p

    def negotiate(self, p, members, officer, leader, first, how):
        """A thread with a question, a reply and a counter-offer that is ``how``: "pending",
        "accepted" (it became version 2) or "in_vote" (put to the members)."""
        thread.post_message(
            p,
            officer,
            MessageKind.QUESTION,
            "Can the works connect to the main sewer on Street 271?",
            now=first + timedelta(days=1),
        )
        thread.post_message(
            p,
            leader,
            MessageKind.COMMENT,
            "Yes. Our members measured 120 m to the sewer inlet.",
            now=first + timedelta(days=2),
        )
        v1 = thread.latest_version(p)
        municipal = (v1.amount_requested * 7 / 8).quantize(Decimal("1"))
        offer = offers.counter_offer(
            p,
            officer,
            municipal_share=municipal,
            community_cash=None,
            community_labour=v1.community_labour + v1.amount_requested - municipal,
            timeline="4 months",
            body="We can fund most of it this year if the community adds labour for the trench.",
            now=first + timedelta(days=3),
        )
        if how == "accepted":
            offers.accept_counter_offer(
                p,
                leader,
                offer,
                "The members agreed at the general assembly: we accept.",
                now=first + timedelta(days=5),
            )
        elif how == "in_vote":
            opened = first + timedelta(days=4)
            offers.put_counter_offer_to_vote(
                p, leader, offer, self.now + timedelta(days=4), now=opened
            )
            choices = [VoteChoice.YES, VoteChoice.YES, VoteChoice.NO]
            for m, choice in zip(_not_the_demo_member(members), choices, strict=False):
                offers.cast_offer_vote(p, m.user, offer, choice, now=opened)

    def vote(self, p, members, choices, *, closed):
        """The members' vote on ``p`` as it happened on its dates: opened by the leader, the
        ballots cast and, when ``closed``, closed by the platform when its time was up (the
        result is the rule's: a proposal the members did not approve cannot go further)."""
        opened = p.created_at + timedelta(days=2)
        closes_at = self.now + timedelta(days=3) if not closed else opened + timedelta(days=7)
        proposals.open_vote(p, members[0].user, closes_at, now=opened)
        voters = members if closed else _not_the_demo_member(members)
        for m, choice in zip(voters, choices, strict=False):
            proposals.cast_vote(p, m, choice, now=opened)
        if closed:
            proposals.close_vote(p, None, now=closes_at)

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
