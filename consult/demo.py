"""A realistic demo programme: two municipalities in two countries, settlements, COs, members,
meetings, problems, proposals in every workflow state and a negotiation under way.

Everything is written as the services would leave it (versions, vote counts equal to the votes,
audit events), so every screen has something true to show.
"""

from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from consult.audit.service import record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership, Municipality, Settlement
from consult.core.db import utcnow
from consult.core.enums import (
    COStatus,
    CounterOfferStatus,
    Decision,
    Gender,
    InfrastructureType,
    MeetingKind,
    MembershipRole,
    MessageKind,
    ProblemCategory,
    ProblemStatus,
    ProposalState,
    Side,
    Tenure,
    UserRole,
    VoteChoice,
    VoteResult,
    VoteSubject,
)
from consult.extensions import db
from consult.implementation.models import ImplementationUpdate
from consult.meetings.models import Attendance, Meeting
from consult.negotiation.models import Message
from consult.problems.models import Problem
from consult.proposals.models import Proposal, ProposalVersion
from consult.votes.models import Vote, VoteRound

#: (who, login) printed by ``consult seed-demo``; all share ``DEMO_PASSWORD``.
LOGINS = [
    ("CO leader, Boeung Trabek (phone)", "012 000 001"),
    ("CO member, Boeung Trabek (phone)", "012 000 002"),
    ("CO leader, Ban Dongmieng, Vientiane (phone)", "020 000 001"),
    ("Municipal officer, Phnom Penh", "officer@phnompenh.example"),
    ("Municipal officer, Vientiane", "officer@vientiane.example"),
    ("Programme staff", "staff@consult.example"),
    ("Administrator", "admin@consult.example"),
]

KHMER_NAMES = [
    ("Sokha Chea", Gender.WOMAN),
    ("Dara Kim", Gender.MAN),
    ("Srey Mom", Gender.WOMAN),
    ("Vanna Heng", Gender.MAN),
    ("Bopha Lim", Gender.WOMAN),
    ("Rithy Sam", Gender.MAN),
    ("Chanthou Meas", Gender.WOMAN),
    ("Sophal Ouk", Gender.MAN),
    ("Kunthea Pich", Gender.WOMAN),
    ("Nary Touch", Gender.WOMAN),
    ("Pisey Yim", Gender.WOMAN),
    ("Samnang Ros", Gender.MAN),
]
LAO_NAMES = [
    ("Khamla Sisavath", Gender.WOMAN),
    ("Bounmy Phommachanh", Gender.MAN),
    ("Noy Keomany", Gender.WOMAN),
    ("Somphone Vongsa", Gender.MAN),
    ("Vilay Inthavong", Gender.WOMAN),
    ("Thongdam Souvanna", Gender.MAN),
]


def seed() -> bool:
    """Create the demo programme unless there is already data; True when created."""
    if db.session.scalar(select(func.count(Municipality.id))):
        return False
    Demo().build()
    db.session.commit()
    return True


class Demo:
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

    def build(self):
        pp = Municipality(
            name="Phnom Penh Capital Hall",
            city="Phnom Penh",
            country="KH",
            currency="KHR",
            timezone="Asia/Phnom_Penh",
            default_language="km",
            response_target_days=14,
            annual_target_settlements=100,
        )
        vte = Municipality(
            name="Vientiane Capital",
            city="Vientiane",
            country="LA",
            currency="LAK",
            timezone="Asia/Vientiane",
            default_language="en",
            response_target_days=21,
            annual_target_settlements=20,
        )
        db.session.add_all([pp, vte])
        s1 = Settlement(
            municipality=pp,
            name="Boeung Trabek",
            commune="Boeung Trabek",
            district="Chamkar Mon",
            households=312,
            population=1480,
            tenure=Tenure.INFORMAL,
            latitude=11.541,
            longitude=104.925,
        )
        s2 = Settlement(
            municipality=pp,
            name="Tonle Bassac riverside",
            commune="Tonle Bassac",
            district="Chamkar Mon",
            households=205,
            population=990,
            tenure=Tenure.PUBLIC_LAND,
            latitude=11.553,
            longitude=104.934,
        )
        s3 = Settlement(
            municipality=pp,
            name="Russey Keo canal",
            commune="Russey Keo",
            district="Russey Keo",
            households=140,
            population=650,
            tenure=Tenure.MIXED,
            latitude=11.603,
            longitude=104.902,
        )
        s4 = Settlement(
            municipality=vte,
            name="Ban Dongmieng",
            district="Chanthabouly",
            households=180,
            population=820,
            tenure=Tenure.RENTED,
            latitude=17.975,
            longitude=102.618,
        )
        db.session.add_all([s1, s2, s3, s4])

        admin = self.person(
            "Platform Admin", Gender.OTHER, email="admin@consult.example", role=UserRole.ADMIN
        )
        staff = self.person(
            "Programme Staff", Gender.WOMAN, email="staff@consult.example", role=UserRole.STAFF
        )
        db.session.flush()
        officer = self.person(
            "Chan Sopheap",
            Gender.WOMAN,
            email="officer@phnompenh.example",
            role=UserRole.OFFICER,
            municipality_id=pp.id,
        )
        self.person(
            "Keo Rotha",
            Gender.MAN,
            email="engineer@phnompenh.example",
            role=UserRole.OFFICER,
            municipality_id=pp.id,
        )
        vte_officer = self.person(
            "Souksavanh Phimmasone",
            Gender.MAN,
            email="officer@vientiane.example",
            role=UserRole.OFFICER,
            municipality_id=vte.id,
        )

        co1, m1 = self.co_with_members(
            s1, "Boeung Trabek Community Organisation", KHMER_NAMES, "012000", date(2024, 3, 2)
        )
        co2, m2 = self.co_with_members(
            s2,
            "Tonle Bassac Women's Savings Group",
            KHMER_NAMES[6:] + KHMER_NAMES[:2],
            "012100",
            date(2025, 6, 10),
        )
        co3, m3 = self.co_with_members(
            s3, "Russey Keo Canal Community", KHMER_NAMES[2:9], "012200", date(2026, 2, 1)
        )
        co3.status = COStatus.FORMING
        co4, m4 = self.co_with_members(
            s4, "Ban Dongmieng Village Committee", LAO_NAMES, "020000", date(2025, 1, 20)
        )
        self.staff, self.admin = staff, admin

        # Meetings: past consultations with attendance, one coming up.
        meet1 = self.meeting(
            co1,
            m1,
            days_ago=60,
            kind=MeetingKind.GENERAL_ASSEMBLY,
            women=23,
            men=14,
            other=1,
            present=9,
            agenda="1. Flooding in the lanes\n2. Choosing our first scheme",
            minutes="The assembly listed the problems of the rainy season. "
            "Lane 3 floods knee-deep for two months a year.",
            decisions="Prepare a concrete lane and drainage proposal.",
        )
        meet2 = self.meeting(
            co1,
            m1,
            days_ago=20,
            kind=MeetingKind.CONSULTATION,
            women=17,
            men=9,
            other=0,
            present=7,
            agenda="Vote on the toilet block proposal",
            minutes="Show of hands taken for those without phones.",
        )
        self.meeting(
            co1,
            m1,
            days_ago=-5,
            kind=MeetingKind.MUNICIPALITY,
            women=0,
            men=0,
            other=0,
            present=0,
            agenda="Site visit with the district engineer",
        )
        self.meeting(
            co2,
            m2,
            days_ago=30,
            kind=MeetingKind.CONSULTATION,
            women=19,
            men=4,
            other=0,
            present=6,
            agenda="Water supply",
        )
        meet4 = self.meeting(
            co4,
            m4,
            days_ago=15,
            kind=MeetingKind.PLANNING,
            women=9,
            men=8,
            other=0,
            present=5,
            agenda="Footbridge over the drainage canal",
        )

        leader1, leader2, leader4 = m1[0].user, m2[0].user, m4[0].user
        p = self.problem
        flood = p(
            co1,
            meet1,
            "Lane 3 floods every rainy season",
            ProblemCategory.DRAINAGE,
            85,
            "Water stays 40 cm deep for weeks; children cannot walk to school.",
        )
        p(co1, meet1, "ផ្លូវលំខូច និងភក់ពេលភ្លៀង", ProblemCategory.LANES, 60, "ផ្លូវដីក្នុងភូមិខូចខាតខ្លាំង។")
        toilets = p(
            co1,
            meet2,
            "No toilets for 40 households near the market",
            ProblemCategory.SANITATION,
            40,
            "Families use the canal bank.",
        )
        p(
            co1,
            meet2,
            "Street lights broken on the lane to the market",
            ProblemCategory.LIGHTING,
            120,
            "Women do not feel safe walking home after dark.",
        )
        p(co1, None, "Rubbish piles up at the canal", ProblemCategory.WASTE, 200, None)
        water = p(
            co2,
            None,
            "Water from the vendor costs 5 times the city tariff",
            ProblemCategory.WATER,
            150,
            None,
        )
        p(co3, None, "Footpath along the canal collapsed", ProblemCategory.FOOTBRIDGES, 70, None)
        bridge = p(
            co4,
            meet4,
            "Canal crossing is a plank",
            ProblemCategory.FOOTBRIDGES,
            180,
            "Elderly people and children have fallen in.",
        )

        khr = dict(currency="KHR")
        # Every workflow state, with the history that leads to it.
        self.proposal(
            co1,
            m1,
            "Street lights on the market lane",
            InfrastructureType.LIGHTING,
            Decimal("18000000"),
            Decimal("1000000"),
            Decimal("2000000"),
            ProposalState.DRAFT,
            households=120,
            **khr,
        )
        self.proposal(
            co1,
            m1,
            "Rubbish collection point by the canal",
            InfrastructureType.SOLID_WASTE,
            Decimal("9000000"),
            Decimal("500000"),
            Decimal("1500000"),
            ProposalState.VOTING,
            households=200,
            votes=[VoteChoice.YES, VoteChoice.YES, VoteChoice.NO],
            **khr,
        )
        self.proposal(
            co1,
            m1,
            "Toilet block near the market",
            InfrastructureType.TOILETS,
            Decimal("32000000"),
            Decimal("2000000"),
            Decimal("6000000"),
            ProposalState.APPROVED,
            households=40,
            problems=[toilets],
            votes=[VoteChoice.YES] * 7 + [VoteChoice.NO, VoteChoice.ABSTAIN],
            **khr,
        )
        self.proposal(
            co1,
            m1,
            "Concrete lane and drainage for Lane 3",
            InfrastructureType.CONCRETE_LANE,
            Decimal("96000000"),
            Decimal("4000000"),
            Decimal("12000000"),
            ProposalState.NEGOTIATING,
            households=85,
            problems=[flood],
            votes=[VoteChoice.YES] * 9 + [VoteChoice.NO] * 2,
            officer=officer,
            submitted_days_ago=9,
            negotiation="pending",
            **khr,
        )
        self.proposal(
            co2,
            m2,
            "Piped water connection for 150 households",
            InfrastructureType.DRINKING_WATER,
            Decimal("120000000"),
            Decimal("15000000"),
            Decimal("10000000"),
            ProposalState.SUBMITTED,
            households=150,
            problems=[water],
            votes=[VoteChoice.YES] * 6,
            officer=officer,
            submitted_days_ago=19,
            **khr,
        )
        self.proposal(
            co2,
            m2,
            "Drainage culvert at the pagoda road",
            InfrastructureType.DRAINAGE,
            Decimal("40000000"),
            Decimal("2000000"),
            Decimal("6000000"),
            ProposalState.UNDER_REVIEW,
            households=90,
            votes=[VoteChoice.YES] * 5 + [VoteChoice.NO],
            officer=officer,
            submitted_days_ago=6,
            **khr,
        )
        self.proposal(
            co1,
            m1,
            "Footbridge to the primary school",
            InfrastructureType.FOOTBRIDGE,
            Decimal("25000000"),
            Decimal("1000000"),
            Decimal("5000000"),
            ProposalState.AGREED,
            households=110,
            votes=[VoteChoice.YES] * 8,
            officer=officer,
            submitted_days_ago=50,
            **khr,
        )
        self.proposal(
            co2,
            m2,
            "Concrete lane behind the market",
            InfrastructureType.CONCRETE_LANE,
            Decimal("60000000"),
            Decimal("3000000"),
            Decimal("9000000"),
            ProposalState.IN_PROGRESS,
            households=75,
            votes=[VoteChoice.YES] * 7,
            officer=officer,
            submitted_days_ago=120,
            progress=45,
            **khr,
        )
        self.proposal(
            co2,
            m2,
            "Public toilets at the market",
            InfrastructureType.TOILETS,
            Decimal("48000000"),
            Decimal("3000000"),
            Decimal("5000000"),
            ProposalState.NEGOTIATING,
            households=70,
            votes=[VoteChoice.YES] * 6 + [VoteChoice.NO],
            officer=officer,
            submitted_days_ago=25,
            negotiation="accepted",
            **khr,
        )
        self.proposal(
            co1,
            m1,
            "Covered drain along Road 5",
            InfrastructureType.DRAINAGE,
            Decimal("56000000"),
            Decimal("2000000"),
            Decimal("6000000"),
            ProposalState.NEGOTIATING,
            households=95,
            votes=[VoteChoice.YES] * 8,
            officer=officer,
            submitted_days_ago=16,
            negotiation="in_vote",
            **khr,
        )
        self.proposal(
            co1,
            m1,
            "Drinking water kiosk",
            InfrastructureType.DRINKING_WATER,
            Decimal("14000000"),
            Decimal("1000000"),
            Decimal("3000000"),
            ProposalState.COMPLETED,
            households=160,
            votes=[VoteChoice.YES] * 10,
            officer=officer,
            submitted_days_ago=300,
            progress=100,
            **khr,
        )
        self.proposal(
            co2,
            m2,
            "Community hall roof",
            InfrastructureType.HOUSING,
            Decimal("30000000"),
            Decimal("1000000"),
            Decimal("1000000"),
            ProposalState.DECLINED,
            households=0,
            votes=[VoteChoice.YES] * 6,
            officer=officer,
            submitted_days_ago=40,
            **khr,
        )
        self.proposal(
            co1,
            m1,
            "Fence around the playground",
            InfrastructureType.OTHER,
            Decimal("6000000"),
            Decimal("500000"),
            Decimal("500000"),
            ProposalState.WITHDRAWN,
            households=30,
            **khr,
        )
        self.proposal(
            co4,
            m4,
            "Footbridge over the drainage canal",
            InfrastructureType.FOOTBRIDGE,
            Decimal("150000000"),
            Decimal("10000000"),
            Decimal("20000000"),
            ProposalState.SUBMITTED,
            households=180,
            problems=[bridge],
            votes=[VoteChoice.YES] * 5,
            officer=vte_officer,
            submitted_days_ago=30,
            currency="LAK",
        )
        _ = (leader1, leader2, leader4)

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
            rnd = VoteRound(
                proposal=p,
                subject=VoteSubject.COUNTER_OFFER,
                counter_offer_id=offer.id,
                opened_by_id=leader.id,
                opened_at=opened,
                closes_at=self.now + timedelta(days=4),
                quorum_percent=p.organisation.quorum_percent,
                threshold_percent=p.organisation.threshold_percent,
            )
            db.session.add(rnd)
            choices = [VoteChoice.YES, VoteChoice.YES, VoteChoice.NO]
            for m, choice in zip(members, choices, strict=False):
                db.session.add(Vote(round=rnd, membership=m, choice=choice, cast_at=opened))
            rnd.yes_count, rnd.no_count = 2, 1
            db.session.flush()

    def vote(self, p, members, choices, *, closed):
        opened = p.created_at + timedelta(days=2)
        rnd = VoteRound(
            proposal=p,
            opened_by_id=members[0].user.id,
            opened_at=opened,
            closes_at=self.now + timedelta(days=3) if not closed else opened + timedelta(days=7),
            quorum_percent=p.organisation.quorum_percent,
            threshold_percent=p.organisation.threshold_percent,
        )
        db.session.add(rnd)
        for m, choice in zip(members, choices, strict=False):
            db.session.add(Vote(round=rnd, membership=m, choice=choice, cast_at=opened))
        rnd.yes_count = sum(1 for c in choices if c == VoteChoice.YES)
        rnd.no_count = sum(1 for c in choices if c == VoteChoice.NO)
        rnd.abstain_count = sum(1 for c in choices if c == VoteChoice.ABSTAIN)
        if closed:
            rnd.closed_at = rnd.closes_at
            rnd.members_at_close = len(members)
            took_part = len(choices)
            quorum = took_part * 100 >= rnd.quorum_percent * len(members)
            yes_no = rnd.yes_count + rnd.no_count
            passed = quorum and rnd.yes_count * 100 > rnd.threshold_percent * yes_no
            rnd.result = (
                VoteResult.APPROVED
                if passed
                else VoteResult.REJECTED
                if quorum
                else VoteResult.NO_QUORUM
            )
        db.session.flush()
        record("vote.opened", rnd, members[0].user, proposal_id=p.id, co_id=p.co_id)

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
