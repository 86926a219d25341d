from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.core.db import Money, TimestampMixin, UTCDateTime, enum_column
from consult.core.enums import (
    InfrastructureType,
    ProposalState,
    VoteChoice,
    VoteResult,
    VoteSubject,
)
from consult.extensions import db

proposal_problems = Table(
    "proposal_problems",
    db.metadata,
    Column("proposal_id", ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True),
    Column("problem_id", ForeignKey("problems.id"), primary_key=True),
)

MONEY_NOT_NEGATIVE = (
    "estimated_cost >= 0 AND community_cash >= 0 AND community_labour >= 0"
    " AND amount_requested >= 0"
)


class SchemeTermsMixin:
    """The terms of a scheme, shared by a proposal and each of its frozen versions."""

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    infrastructure_type: Mapped[InfrastructureType] = mapped_column(
        enum_column(InfrastructureType, "infrastructure_type")
    )
    location: Mapped[str | None] = mapped_column(String(200))
    #: ISO 4217 code, the municipality's currency
    currency: Mapped[str] = mapped_column(String(3))
    estimated_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    #: the community's contribution in cash
    community_cash: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    #: the value of the community's in-kind labour
    community_labour: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    #: what the municipality is asked to pay
    amount_requested: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    households_benefiting: Mapped[int | None]
    #: free text, e.g. "3 months, before the rainy season"
    timeline: Mapped[str | None] = mapped_column(String(200))

    TERMS = (
        "title",
        "description",
        "infrastructure_type",
        "location",
        "currency",
        "estimated_cost",
        "community_cash",
        "community_labour",
        "amount_requested",
        "households_benefiting",
        "timeline",
    )

    def terms(self) -> dict:
        return {name: getattr(self, name) for name in self.TERMS}


class Proposal(SchemeTermsMixin, TimestampMixin, db.Model):
    """An improvement scheme a CO puts to its members and then to its municipality."""

    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(MONEY_NOT_NEGATIVE, name="money_not_negative"),
        CheckConstraint(
            "households_benefiting IS NULL OR households_benefiting >= 0",
            name="households_not_negative",
        ),
        CheckConstraint("progress_percent BETWEEN 0 AND 100", name="progress_range"),
        CheckConstraint("actual_cost IS NULL OR actual_cost >= 0", name="actual_cost_not_negative"),
        CheckConstraint(
            "households_benefited IS NULL OR households_benefited >= 0",
            name="households_benefited_not_negative",
        ),
        CheckConstraint("latitude IS NULL OR latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR longitude BETWEEN -180 AND 180", name="longitude_range"
        ),
        Index("ix_proposals_municipality_state", "municipality_id", "state"),
        Index("ix_proposals_co_state", "co_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    co_id: Mapped[int] = mapped_column(ForeignKey("community_organisations.id"))
    #: copied from the CO's settlement when drafted, so inboxes need no join
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    state: Mapped[ProposalState] = mapped_column(
        enum_column(ProposalState, "proposal_state"), default=ProposalState.DRAFT
    )
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: first submission to the municipality; the response clock starts here
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the municipality's first reply of any kind
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Implementation, once agreed
    started_on: Mapped[date | None]
    progress_percent: Mapped[int] = mapped_column(default=0)
    completed_on: Mapped[date | None]
    actual_cost: Mapped[Decimal | None] = mapped_column(Money)
    households_benefited: Mapped[int | None]

    organisation: Mapped["CommunityOrganisation"] = relationship()  # noqa: F821
    municipality: Mapped["Municipality"] = relationship()  # noqa: F821
    created_by: Mapped["User | None"] = relationship()  # noqa: F821
    problems: Mapped[list["Problem"]] = relationship(secondary=proposal_problems)  # noqa: F821
    versions: Mapped[list["ProposalVersion"]] = relationship(
        back_populates="proposal", order_by="ProposalVersion.number"
    )
    vote_rounds: Mapped[list["VoteRound"]] = relationship(
        back_populates="proposal", order_by="VoteRound.id"
    )

    def __repr__(self) -> str:
        return f"<Proposal {self.id} {self.state.value}>"

    @property
    def community_share(self) -> Decimal:
        return self.community_cash + self.community_labour

    @property
    def latest_version(self) -> "ProposalVersion | None":
        return self.versions[-1] if self.versions else None


class ProposalVersion(SchemeTermsMixin, TimestampMixin, db.Model):
    """An immutable snapshot of a proposal's terms: one per submission and agreed change."""

    __tablename__ = "proposal_versions"
    __table_args__ = (
        UniqueConstraint("proposal_id", "number"),
        CheckConstraint(MONEY_NOT_NEGATIVE, name="money_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    number: Mapped[int]
    #: why this version exists, e.g. "submitted", "counter-offer accepted"
    reason: Mapped[str] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: set when the municipality accepts exactly this version
    agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    proposal: Mapped[Proposal] = relationship(back_populates="versions")
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id])  # noqa: F821

    @property
    def community_share(self) -> Decimal:
        return self.community_cash + self.community_labour

    @property
    def reason_label(self):
        """The reason in the reader's language (the stored value is a code)."""
        return VERSION_REASONS.get(self.reason, self.reason)


#: why a version exists, as stored in ``ProposalVersion.reason``
VERSION_REASONS = {
    "submitted": _l("submitted"),
    "counter-offer accepted": _l("counter-offer accepted"),
}


class VoteRound(TimestampMixin, db.Model):
    """A voting window on a proposal (or on a counter-offer), with the rule that applied."""

    __tablename__ = "vote_rounds"
    __table_args__ = (
        CheckConstraint("quorum_percent BETWEEN 0 AND 100", name="quorum_range"),
        CheckConstraint("threshold_percent BETWEEN 0 AND 100", name="threshold_range"),
        CheckConstraint(
            "yes_count >= 0 AND no_count >= 0 AND abstain_count >= 0", name="counts_not_negative"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    subject: Mapped[VoteSubject] = mapped_column(
        enum_column(VoteSubject, "vote_subject"), default=VoteSubject.PROPOSAL
    )
    #: the counter-offer put to the vote, when subject is counter_offer
    counter_offer_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The CO's rule, copied when the vote opens so later edits cannot change this vote.
    quorum_percent: Mapped[int]
    threshold_percent: Mapped[int]
    #: current members when the vote closed: the quorum's denominator
    members_at_close: Mapped[int | None]
    # Totals of online votes and meeting tallies; kept equal to the stored rows.
    yes_count: Mapped[int] = mapped_column(default=0)
    no_count: Mapped[int] = mapped_column(default=0)
    abstain_count: Mapped[int] = mapped_column(default=0)
    result: Mapped[VoteResult | None] = mapped_column(enum_column(VoteResult, "vote_result"))

    proposal: Mapped[Proposal] = relationship(back_populates="vote_rounds")
    votes: Mapped[list["Vote"]] = relationship(back_populates="round")
    tallies: Mapped[list["VoteTally"]] = relationship(back_populates="round")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Vote(db.Model):
    """One member's vote in a round. The unique constraint is what makes it one."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("round_id", "membership_id"),
        # monitoring counts votes cast in a period
        Index("ix_votes_cast_at", "cast_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("vote_rounds.id"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    choice: Mapped[VoteChoice] = mapped_column(enum_column(VoteChoice, "vote_choice"))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[VoteRound] = relationship(back_populates="votes")
    membership: Mapped["Membership"] = relationship()  # noqa: F821


class VoteTally(TimestampMixin, db.Model):
    """Show-of-hands counts from a meeting, by gender, of people *without* an online vote."""

    __tablename__ = "vote_tallies"
    __table_args__ = (
        UniqueConstraint("round_id", "meeting_id"),
        CheckConstraint(
            "yes_women >= 0 AND yes_men >= 0 AND yes_other >= 0"
            " AND no_women >= 0 AND no_men >= 0 AND no_other >= 0"
            " AND abstain_women >= 0 AND abstain_men >= 0 AND abstain_other >= 0",
            name="counts_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("vote_rounds.id"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    yes_women: Mapped[int] = mapped_column(default=0)
    yes_men: Mapped[int] = mapped_column(default=0)
    yes_other: Mapped[int] = mapped_column(default=0)
    no_women: Mapped[int] = mapped_column(default=0)
    no_men: Mapped[int] = mapped_column(default=0)
    no_other: Mapped[int] = mapped_column(default=0)
    abstain_women: Mapped[int] = mapped_column(default=0)
    abstain_men: Mapped[int] = mapped_column(default=0)
    abstain_other: Mapped[int] = mapped_column(default=0)

    round: Mapped[VoteRound] = relationship(back_populates="tallies")
    meeting: Mapped["Meeting"] = relationship()  # noqa: F821

    @property
    def yes(self) -> int:
        return self.yes_women + self.yes_men + self.yes_other

    @property
    def no(self) -> int:
        return self.no_women + self.no_men + self.no_other

    @property
    def abstain(self) -> int:
        return self.abstain_women + self.abstain_men + self.abstain_other
