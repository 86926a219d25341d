from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.core.db import TimestampMixin, enum_column
from consult.core.enums import COStatus, MembershipRole, Tenure
from consult.extensions import db


class Municipality(TimestampMixin, db.Model):
    """The authority community organisations negotiate with."""

    __tablename__ = "municipalities"
    __table_args__ = (
        CheckConstraint("response_target_days > 0", name="response_target_positive"),
        CheckConstraint("annual_target_settlements >= 0", name="annual_target_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    city: Mapped[str] = mapped_column(String(120))
    #: ISO 3166-1 alpha-2, e.g. KH
    country: Mapped[str] = mapped_column(String(2), index=True)
    #: ISO 4217, e.g. KHR
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    default_language: Mapped[str] = mapped_column(String(8), default="en")
    #: days within which the municipality promises a first response to a submission
    response_target_days: Mapped[int] = mapped_column(default=14)
    #: settlements the municipality aims to improve each year
    annual_target_settlements: Mapped[int] = mapped_column(default=0)

    settlements: Mapped[list["Settlement"]] = relationship(back_populates="municipality")

    def __repr__(self) -> str:
        return f"<Municipality {self.name!r}>"


class Settlement(TimestampMixin, db.Model):
    __tablename__ = "settlements"
    __table_args__ = (
        UniqueConstraint("municipality_id", "name"),
        CheckConstraint("households IS NULL OR households >= 0", name="households_not_negative"),
        CheckConstraint("population IS NULL OR population >= 0", name="population_not_negative"),
        CheckConstraint("latitude IS NULL OR latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR longitude BETWEEN -180 AND 180", name="longitude_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))
    ward: Mapped[str | None] = mapped_column(String(120))
    commune: Mapped[str | None] = mapped_column(String(120))
    district: Mapped[str | None] = mapped_column(String(120))
    households: Mapped[int | None]
    population: Mapped[int | None]
    tenure: Mapped[Tenure] = mapped_column(enum_column(Tenure, "tenure"), default=Tenure.UNKNOWN)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    municipality: Mapped[Municipality] = relationship(back_populates="settlements")
    organisations: Mapped[list["CommunityOrganisation"]] = relationship(back_populates="settlement")


class CommunityOrganisation(TimestampMixin, db.Model):
    __tablename__ = "community_organisations"
    __table_args__ = (
        UniqueConstraint("settlement_id", "name"),
        CheckConstraint("quorum_percent BETWEEN 0 AND 100", name="quorum_range"),
        CheckConstraint("threshold_percent BETWEEN 0 AND 100", name="threshold_range"),
        CheckConstraint("priority_points > 0", name="priority_points_positive"),
        # a municipality's COs from the index alone (its inbox's version reads their ids)
        Index("ix_community_organisations_settlement_co", "settlement_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"))
    name: Mapped[str] = mapped_column(String(160))
    formed_on: Mapped[date]
    status: Mapped[COStatus] = mapped_column(
        enum_column(COStatus, "co_status"), default=COStatus.FORMING
    )
    description: Mapped[str | None] = mapped_column(Text)
    #: share of current members who must take part for a vote to count
    quorum_percent: Mapped[int] = mapped_column(default=50)
    #: a proposal passes when yes / (yes + no) is *more than* this share
    threshold_percent: Mapped[int] = mapped_column(default=50)
    #: points each member distributes in a priority round
    priority_points: Mapped[int] = mapped_column(default=3)

    settlement: Mapped[Settlement] = relationship(back_populates="organisations")
    memberships: Mapped[list["Membership"]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<CO {self.name!r}>"

    @property
    def municipality(self) -> Municipality:
        return self.settlement.municipality

    @property
    def municipality_id(self) -> int:
        return self.settlement.municipality_id

    def current_members(self) -> list["Membership"]:
        return [m for m in self.memberships if m.left_on is None]


class Membership(TimestampMixin, db.Model):
    """A person's place in a CO; leaving keeps the row (with ``left_on``) for the record."""

    __tablename__ = "memberships"
    __table_args__ = (
        # one current membership per person and CO; past ones are kept
        Index(
            "uq_memberships_current",
            "user_id",
            "co_id",
            unique=True,
            sqlite_where=db.text("left_on IS NULL"),
            postgresql_where=db.text("left_on IS NULL"),
        ),
        CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="left_after_joined"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    co_id: Mapped[int] = mapped_column(ForeignKey("community_organisations.id"), index=True)
    role: Mapped[MembershipRole] = mapped_column(
        enum_column(MembershipRole, "membership_role"), default=MembershipRole.MEMBER
    )
    joined_on: Mapped[date]
    left_on: Mapped[date | None]

    user: Mapped["User"] = relationship(back_populates="memberships")  # noqa: F821
    organisation: Mapped[CommunityOrganisation] = relationship(back_populates="memberships")

    @property
    def is_leader(self) -> bool:
        return self.role == MembershipRole.LEADER
