from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from consult.core.db import Money, TimestampMixin, UTCDateTime, enum_column
from consult.core.enums import CounterOfferStatus, Decision, MessageKind, Side
from consult.extensions import db


class Message(TimestampMixin, db.Model):
    """One message in the negotiation thread of a proposal, from one side."""

    __tablename__ = "messages"
    __table_args__ = (
        # the thread's order, read a page at a time (consult.core.pages)
        Index("ix_messages_proposal_order", "proposal_id", "created_at", "id"),
        # the few counter-offers still open, found without reading every message
        Index(
            "ix_messages_open_offers",
            "proposal_id",
            postgresql_where=text("offer_status IN ('pending', 'in_vote')"),
            sqlite_where=text("offer_status IN ('pending', 'in_vote')"),
        ),
        CheckConstraint(
            "(offer_municipal_share IS NULL OR offer_municipal_share >= 0)"
            " AND (offer_community_cash IS NULL OR offer_community_cash >= 0)"
            " AND (offer_community_labour IS NULL OR offer_community_labour >= 0)",
            name="offer_money_not_negative",
        ),
        CheckConstraint("kind <> 'decision' OR decision IS NOT NULL", name="decision_has_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    side: Mapped[Side] = mapped_column(enum_column(Side, "side"))
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind, "message_kind"))
    body: Mapped[str | None] = mapped_column(Text)
    #: the version the message speaks about (a counter-offer's base, a decision's subject)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("proposal_versions.id"))
    # Counter-offer terms; None means "unchanged from the version".
    offer_municipal_share: Mapped[Decimal | None] = mapped_column(Money)
    offer_community_cash: Mapped[Decimal | None] = mapped_column(Money)
    offer_community_labour: Mapped[Decimal | None] = mapped_column(Money)
    offer_scope: Mapped[str | None] = mapped_column(Text)
    offer_timeline: Mapped[str | None] = mapped_column(String(200))
    offer_status: Mapped[CounterOfferStatus | None] = mapped_column(
        enum_column(CounterOfferStatus, "counter_offer_status")
    )
    #: the version made when the community accepted this counter-offer
    resulting_version_id: Mapped[int | None] = mapped_column(ForeignKey("proposal_versions.id"))
    decision: Mapped[Decision | None] = mapped_column(enum_column(Decision, "decision"))

    proposal: Mapped["Proposal"] = relationship()  # noqa: F821
    author: Mapped["User | None"] = relationship()  # noqa: F821
    #: its photos and documents; the backref gives each of them its owner as ``message``
    attachments: Mapped[list["Attachment"]] = relationship(  # noqa: F821
        order_by="Attachment.id", viewonly=True, backref=backref("message", viewonly=True)
    )
    version: Mapped["ProposalVersion | None"] = relationship(  # noqa: F821
        foreign_keys=[version_id]
    )
    resulting_version: Mapped["ProposalVersion | None"] = relationship(  # noqa: F821
        foreign_keys=[resulting_version_id],
        #: on the version: the counter-offer it came from, if any
        backref=backref("accepted_offer", uselist=False, viewonly=True),
    )


class ThreadRead(db.Model):
    """How far a user has read a proposal's thread; unread counts come from it."""

    __tablename__ = "thread_reads"
    __table_args__ = (UniqueConstraint("user_id", "proposal_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    last_read_message_id: Mapped[int] = mapped_column(default=0)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)
