from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from consult.core.db import TimestampMixin
from consult.extensions import db


class SubmissionKey(TimestampMixin, db.Model):
    """A form submission (or API request) already acted on, and what it created."""

    __tablename__ = "submission_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: the one-time key the form (or the API client) sent
    key: Mapped[str] = mapped_column(String(64))
    #: what kind of record it created, e.g. "meeting", "problem", "message"
    kind: Mapped[str] = mapped_column(String(40))
    #: the id of the record created; None until the creating request has made it
    object_id: Mapped[int | None]
