"""The API's own tables: bearer tokens and the Idempotency-Key store."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
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


class IdempotencyKey(TimestampMixin, db.Model):
    """What a creating API request with an ``Idempotency-Key`` header made, so a retry with
    the same key returns it instead of making another.

    Same shape as the web forms' submission keys (unique per user and key, recording the kind
    and id of what was created), so the two stores can become one table.
    """

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    #: what was created, e.g. "problem", and its id
    kind: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int]
