from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from consult.core.db import UTCDateTime, utcnow
from consult.extensions import db


class AuditEvent(db.Model):
    """Append-only record of a state change, vote, tally, decision or role change."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id"),
        # how many events a CO has: the version of its pages (see audit.service.events_in)
        Index("ix_audit_events_co", "co_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: dotted verb, e.g. "proposal.submit", "vote.cast", "membership.role_changed"
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int]
    #: the proposal the event belongs to, so a proposal's trail is one query
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), index=True)
    co_id: Mapped[int | None] = mapped_column(ForeignKey("community_organisations.id"))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    #: client address, when the change came through a request
    ip: Mapped[str | None] = mapped_column(String(45))
