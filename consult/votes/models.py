"""Vote rounds, the ballots cast in them and the show-of-hands tallies recorded for them.

A round belongs to a proposal: a vote on the proposal itself, or on a municipal counter-offer
in its negotiation thread (``subject``). The tables are named only by string here, so this
feature imports none of the features that use it.
"""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.core.db import TimestampMixin, UTCDateTime, enum_column
from consult.core.enums import VoteChoice, VoteResult, VoteSubject
from consult.extensions import db


class VoteRound(TimestampMixin, db.Model):
    """A voting window on a proposal (or on a counter-offer), with the rule that applied."""

    __tablename__ = "vote_rounds"
    __table_args__ = (
        CheckConstraint("quorum_percent BETWEEN 0 AND 100", name="quorum_range"),
        CheckConstraint("threshold_percent BETWEEN 0 AND 100", name="threshold_range"),
        CheckConstraint(
            "yes_count >= 0 AND no_count >= 0 AND abstain_count >= 0", name="counts_not_negative"
        ),
        # the few rounds still open, by closing time (when a page changes by itself), with
        # their proposal: a page's version reads the index alone, so its cost estimate is
        # small enough for PostgreSQL to plan the statement once for every reader
        Index(
            "ix_vote_rounds_open",
            "closes_at",
            postgresql_include=["proposal_id"],
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
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
    #: people on the roll still members when the vote closed: the quorum's base
    members_at_close: Mapped[int | None]
    # Totals of online votes and meeting tallies; kept equal to the stored rows.
    yes_count: Mapped[int] = mapped_column(default=0)
    no_count: Mapped[int] = mapped_column(default=0)
    abstain_count: Mapped[int] = mapped_column(default=0)
    result: Mapped[VoteResult | None] = mapped_column(enum_column(VoteResult, "vote_result"))

    proposal: Mapped["Proposal"] = relationship(back_populates="vote_rounds")  # noqa: F821
    votes: Mapped[list["Vote"]] = relationship(back_populates="round")
    tallies: Mapped[list["VoteTally"]] = relationship(back_populates="round")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class VoteRoll(db.Model):
    """The electorate of a round: the CO's members when it opened, one row each.

    A ballot's voter must be on its round's roll (a foreign key on ``votes``). A member who
    leaves before the close has the ballot set aside and leaves the quorum base.
    """

    __tablename__ = "vote_roll"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("vote_rounds.id", ondelete="CASCADE"), primary_key=True
    )
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"), primary_key=True)
    #: fixed at the close: True when the member had left by then (ballot set aside, not in base)
    set_aside: Mapped[bool] = mapped_column(default=False)


class Vote(db.Model):
    """One member's vote in a round. The unique constraint is what makes it one."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("round_id", "membership_id"),
        # only someone on the round's roll can hold a ballot in it
        ForeignKeyConstraint(
            ["round_id", "membership_id"], ["vote_roll.round_id", "vote_roll.membership_id"]
        ),
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
