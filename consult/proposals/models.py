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
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from consult.core.db import Money, TimestampMixin, UTCDateTime, enum_column
from consult.core.enums import (
    InfrastructureType,
    ProposalState,
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
        # the keyset orders of the inbox and of a CO's list (consult.core.pages)
        Index("ix_proposals_municipality_submitted", "municipality_id", "submitted_at", "id"),
        Index("ix_proposals_co_created", "co_id", "created_at", "id"),
        # the inbox's waiting and overdue counts (consult.negotiation.service.inbox_summary),
        # read from the index alone
        Index(
            "ix_proposals_municipality_awaiting",
            "municipality_id",
            "first_response_at",
            "state",
            "submitted_at",
        ),
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
    problems: Mapped[list["Problem"]] = relationship(  # noqa: F821
        secondary=proposal_problems,
        #: on the problem: the proposals that answer it, newest first
        backref=backref("answered_by", viewonly=True, order_by="Proposal.created_at.desc()"),
    )
    versions: Mapped[list["ProposalVersion"]] = relationship(
        back_populates="proposal", order_by="ProposalVersion.number"
    )
    vote_rounds: Mapped[list["VoteRound"]] = relationship(  # noqa: F821
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
