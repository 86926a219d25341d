from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from consult.core.db import TimestampMixin, UTCDateTime
from consult.extensions import db


class Notification(TimestampMixin, db.Model):
    """An in-app notice for one user. Text is rendered at display time, in the reader's language."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: e.g. "proposal.submitted", "message.posted"; picks the sentence shown
    kind: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    #: the page the notice leads to, an internal path
    link: Mapped[str | None] = mapped_column(String(200))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutgoingMail(TimestampMixin, db.Model):
    """The e-mail outbox: rows stay until the SMTP server has taken them."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (Index("ix_outgoing_mail_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
