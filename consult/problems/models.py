from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from consult.core.db import TimestampMixin, UTCDateTime, enum_column
from consult.core.enums import ProblemCategory, ProblemStatus
from consult.extensions import db


class Problem(TimestampMixin, db.Model):
    """A local problem recorded by a CO, often raised in a meeting."""

    __tablename__ = "problems"
    __table_args__ = (
        CheckConstraint(
            "households_affected IS NULL OR households_affected >= 0",
            name="households_not_negative",
        ),
        CheckConstraint("latitude IS NULL OR latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR longitude BETWEEN -180 AND 180", name="longitude_range"
        ),
        # the keyset orders of a CO's problems, all or by status (consult.core.pages)
        Index("ix_problems_co_status_created", "co_id", "status", "created_at", "id"),
        Index("ix_problems_co_created", "co_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    co_id: Mapped[int] = mapped_column(ForeignKey("community_organisations.id"))
    #: the meeting where the problem was raised, if any
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[ProblemCategory] = mapped_column(
        enum_column(ProblemCategory, "problem_category")
    )
    location: Mapped[str | None] = mapped_column(String(200))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    households_affected: Mapped[int | None]
    status: Mapped[ProblemStatus] = mapped_column(
        enum_column(ProblemStatus, "problem_status"), default=ProblemStatus.OPEN
    )
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped["CommunityOrganisation"] = relationship()  # noqa: F821
    meeting: Mapped["Meeting | None"] = relationship(  # noqa: F821
        #: on the meeting: the problems raised at it, in the order recorded
        backref=backref("problems_raised", viewonly=True, order_by="Problem.id"),
    )
    reported_by: Mapped["User | None"] = relationship()  # noqa: F821
    #: its photos and documents; the backref gives each of them its owner as ``problem``
    attachments: Mapped[list["Attachment"]] = relationship(  # noqa: F821
        order_by="Attachment.id", viewonly=True, backref=backref("problem", viewonly=True)
    )


#: the problems a priority round ranks: the CO's open problems when it opened, fixed then
priority_round_problems = Table(
    "priority_round_problems",
    db.metadata,
    Column("round_id", ForeignKey("priority_rounds.id", ondelete="CASCADE"), primary_key=True),
    Column("problem_id", ForeignKey("problems.id"), primary_key=True),
)


class PriorityRound(TimestampMixin, db.Model):
    """A CO ranks its open problems: members spread points, meetings add show-of-hands counts."""

    __tablename__ = "priority_rounds"
    __table_args__ = (
        CheckConstraint("points_per_member > 0", name="points_positive"),
        CheckConstraint("max_per_problem > 0", name="max_per_problem_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    co_id: Mapped[int] = mapped_column(ForeignKey("community_organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    points_per_member: Mapped[int] = mapped_column(default=3)
    max_per_problem: Mapped[int] = mapped_column(default=3)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: member count when the round closed, the denominator of turnout
    members_at_close: Mapped[int | None]

    organisation: Mapped["CommunityOrganisation"] = relationship()  # noqa: F821
    problems: Mapped[list[Problem]] = relationship(
        secondary=priority_round_problems, order_by=Problem.id
    )
    points: Mapped[list["PriorityPoints"]] = relationship(back_populates="round")
    tallies: Mapped[list["PriorityTally"]] = relationship(back_populates="round")


class PriorityRoll(db.Model):
    """The electorate of a priority round: the CO's members when it opened.

    Points can only come from someone on the roll (a foreign key on ``priority_points``); a
    member who leaves before the close has the points set aside and leaves the turnout base.
    """

    __tablename__ = "priority_roll"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("priority_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), primary_key=True)
    #: fixed at the close: True when the member had left by then (points set aside)
    set_aside: Mapped[bool] = mapped_column(default=False)


class PriorityPoints(db.Model):
    """The points one member gave one problem in a round."""

    __tablename__ = "priority_points"
    __table_args__ = (
        UniqueConstraint("round_id", "membership_id", "problem_id"),
        CheckConstraint("points > 0", name="points_positive"),
        # only someone on the round's roll can give points in it
        ForeignKeyConstraint(
            ["round_id", "membership_id"],
            ["priority_roll.round_id", "priority_roll.membership_id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("priority_rounds.id"), index=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"), index=True)
    points: Mapped[int]

    round: Mapped[PriorityRound] = relationship(back_populates="points")


class PriorityTally(TimestampMixin, db.Model):
    """Show-of-hands counts for one problem at a meeting, by gender."""

    __tablename__ = "priority_tallies"
    __table_args__ = (
        UniqueConstraint("round_id", "meeting_id", "problem_id"),
        CheckConstraint("women >= 0 AND men >= 0 AND other >= 0", name="counts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("priority_rounds.id"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    problem_id: Mapped[int] = mapped_column(ForeignKey("problems.id"))
    women: Mapped[int] = mapped_column(default=0)
    men: Mapped[int] = mapped_column(default=0)
    other: Mapped[int] = mapped_column(default=0)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    round: Mapped[PriorityRound] = relationship(back_populates="tallies")
