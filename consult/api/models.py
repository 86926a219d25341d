"""The API's own table: bearer tokens (Idempotency-Key uses ``consult.submissions``)."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.core.db import TimestampMixin, UTCDateTime
from consult.extensions import db


class ApiToken(TimestampMixin, db.Model):
    """A bearer token for the JSON API. Only its SHA-256 is kept; the token itself is shown
    once, when it is issued."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 (hex) of the token
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the token's first characters, so its owner can tell tokens apart in a list
    prefix: Mapped[str] = mapped_column(String(12))
    #: what the owner calls it, e.g. "municipal GIS"
    name: Mapped[str | None] = mapped_column(String(80))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped["User"] = relationship(foreign_keys=[user_id])  # noqa: F821
