from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from consult.core.db import Money, TimestampMixin
from consult.extensions import db


class ImplementationUpdate(TimestampMixin, db.Model):
    """A progress report on an agreed scheme, with photos as attachments."""

    __tablename__ = "implementation_updates"
    __table_args__ = (
        CheckConstraint(
            "progress_percent IS NULL OR progress_percent BETWEEN 0 AND 100",
            name="progress_range",
        ),
        CheckConstraint("spent IS NULL OR spent >= 0", name="spent_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    progress_percent: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)
    #: spending reported with this update, if any
    spent: Mapped[Decimal | None] = mapped_column(Money)

    proposal: Mapped["Proposal"] = relationship()  # noqa: F821
    author: Mapped["User | None"] = relationship()  # noqa: F821
    #: its photos and documents; the backref gives each of them its owner as ``update``
    attachments: Mapped[list["Attachment"]] = relationship(  # noqa: F821
        order_by="Attachment.id", viewonly=True, backref=backref("update", viewonly=True)
    )
