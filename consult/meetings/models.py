from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from consult.core.db import TimestampMixin, UTCDateTime, enum_column
from consult.core.enums import MeetingKind
from consult.extensions import db


class Meeting(TimestampMixin, db.Model):
    """A consultation or other meeting held by a CO."""

    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint(
            "women_present >= 0 AND men_present >= 0 AND other_present >= 0",
            name="headcounts_not_negative",
        ),
        Index("ix_meetings_co_held", "co_id", "held_at", "id"),  # keyset order of the list
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    co_id: Mapped[int] = mapped_column(ForeignKey("community_organisations.id"), index=True)
    kind: Mapped[MeetingKind] = mapped_column(
        enum_column(MeetingKind, "meeting_kind"), default=MeetingKind.CONSULTATION
    )
    held_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    place: Mapped[str | None] = mapped_column(String(200))
    agenda: Mapped[str | None] = mapped_column(Text)
    minutes: Mapped[str | None] = mapped_column(Text)
    decisions: Mapped[str | None] = mapped_column(Text)
    #: head-counts of everyone present, members or not, since many have no account
    women_present: Mapped[int] = mapped_column(default=0)
    men_present: Mapped[int] = mapped_column(default=0)
    other_present: Mapped[int] = mapped_column(default=0)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped["CommunityOrganisation"] = relationship()  # noqa: F821
    recorded_by: Mapped["User | None"] = relationship()  # noqa: F821
    #: its photos and documents; the backref gives each of them its owner as ``meeting``
    attachments: Mapped[list["Attachment"]] = relationship(  # noqa: F821
        order_by="Attachment.id", viewonly=True, backref=backref("meeting", viewonly=True)
    )
    attendance: Mapped[list["Attendance"]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan"
    )

    @property
    def people_present(self) -> int:
        return self.women_present + self.men_present + self.other_present


class Attendance(db.Model):
    """A registered member ticked as present at a meeting."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "membership_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), index=True)

    meeting: Mapped[Meeting] = relationship(back_populates="attendance")
    membership: Mapped["Membership"] = relationship()  # noqa: F821
