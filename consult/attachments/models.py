from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.core.db import TimestampMixin
from consult.extensions import db


class Attachment(TimestampMixin, db.Model):
    """A photo or PDF kept by the attachments storage, belonging to exactly one record.

    A photo is stored re-encoded (upright, without any metadata, at most the display size) with
    a small thumbnail beside it; the file as sent is kept only when ``UPLOAD_KEEP_ORIGINAL``
    says so, and is never served."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN meeting_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN problem_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN message_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN update_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_owner",
        ),
        CheckConstraint("size_bytes > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problems.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    update_id: Mapped[int | None] = mapped_column(
        ForeignKey("implementation_updates.id"), index=True
    )
    #: the name the uploader's device gave; shown, never used as a path
    original_name: Mapped[str] = mapped_column(String(255))
    #: random name under the upload folder
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    #: detected from the content, not from the name or the browser's claim
    content_type: Mapped[str] = mapped_column(String(60))
    size_bytes: Mapped[int]
    #: pixels of the stored photo (None for documents and photos stored before re-encoding)
    width: Mapped[int | None]
    height: Mapped[int | None]
    #: stored name of the small version shown in lists and threads
    thumb_name: Mapped[str | None] = mapped_column(String(80), unique=True)
    thumb_width: Mapped[int | None]
    thumb_height: Mapped[int | None]
    #: stored name of the file as it was sent (only with UPLOAD_KEEP_ORIGINAL); never served
    original_stored_name: Mapped[str | None] = mapped_column(String(80), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    uploaded_by: Mapped["User | None"] = relationship()  # noqa: F821

    @property
    def tag(self) -> str:
        """A short tag of the stored file for its links (``?v=``): a stored file never
        changes, so a link with the current tag may be cached for good."""
        return self.stored_name[:12]

    @property
    def thumb_tag(self) -> str:
        return (self.thumb_name or self.stored_name)[:12]

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
