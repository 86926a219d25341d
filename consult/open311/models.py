"""Open311 GeoReport v2: the ``api_key`` a CO's leader issues to a municipal system or app."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.core.db import TimestampMixin, UTCDateTime
from consult.extensions import db


class Open311Key(TimestampMixin, db.Model):
    """Lets whoever holds it file problems for one CO through ``POST requests``. Problems
    filed with it are recorded as reported by the leader who issued it."""

    __tablename__ = "open311_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    co_id: Mapped[int] = mapped_column(ForeignKey("community_organisations.id"), index=True)
    #: SHA-256 (hex) of the key; the key itself is shown once
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    #: who the key is for, e.g. "Phnom Penh 311 app"
    name: Mapped[str | None] = mapped_column(String(80))
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped["CommunityOrganisation"] = relationship()  # noqa: F821
    issued_by: Mapped["User"] = relationship()  # noqa: F821
