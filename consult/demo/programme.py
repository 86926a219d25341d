"""The demo programme: two municipalities in two countries, their settlements and COs, and
proposals in every workflow state."""

from datetime import date
from decimal import Decimal

from consult.core.enums import (
    COStatus,
    Gender,
    InfrastructureType,
    MeetingKind,
    ProblemCategory,
    ProposalState,
    Tenure,
    UserRole,
    VoteChoice,
)
from consult.demo.builder import Builder

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


class Programme(Builder):
    def build(self):
        # The admin adds the municipalities and the accounts; staff register the rest.
        self.admin = self.person(
            "Platform Admin", Gender.OTHER, email="admin@consult.example", role=UserRole.ADMIN
        )
        self.staff = self.person(
            "Programme Staff", Gender.WOMAN, email="staff@consult.example", role=UserRole.STAFF
        )
        pp = self.municipality(
            name="Phnom Penh Capital Hall",
            city="Phnom Penh",
            country="KH",
            currency="KHR",
            timezone="Asia/Phnom_Penh",
            default_language="km",
            response_target_days=14,
            annual_target_settlements=100,
        )
        vte = self.municipality(
            name="Vientiane Capital",
            city="Vientiane",
            country="LA",
            currency="LAK",
            timezone="Asia/Vientiane",
            default_language="en",
            response_target_days=21,
            annual_target_settlements=20,
        )
        s1 = self.settlement(
            pp,
            name="Boeung Trabek",
            commune="Boeung Trabek",
            district="Chamkar Mon",
            households=312,
            population=1480,
            tenure=Tenure.INFORMAL,
            latitude=11.541,
            longitude=104.925,
        )
        s2 = self.settlement(
            pp,
            name="Tonle Bassac riverside",
            commune="Tonle Bassac",
            district="Chamkar Mon",
            households=205,
            population=990,
            tenure=Tenure.PUBLIC_LAND,
            latitude=11.553,
            longitude=104.934,
        )
        s3 = self.settlement(
            pp,
            name="Russey Keo canal",
            commune="Russey Keo",
            district="Russey Keo",
            households=140,
            population=650,
            tenure=Tenure.MIXED,
            latitude=11.603,
            longitude=104.902,
        )
        s4 = self.settlement(
            vte,
            name="Ban Dongmieng",
            district="Chanthabouly",
            households=180,
            population=820,
            tenure=Tenure.RENTED,
            latitude=17.975,
            longitude=102.618,
        )

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
            s3,
            "Russey Keo Canal Community",
            KHMER_NAMES[2:9],
            "012200",
            date(2026, 2, 1),
            status=COStatus.FORMING,
        )
        co4, m4 = self.co_with_members(
            s4, "Ban Dongmieng Village Committee", LAO_NAMES, "020000", date(2025, 1, 20)
        )

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
        )
        self.priority_round(co1, m1)
        _ = (leader1, leader2, leader4)
