"""Uploaded photos and PDFs: checked by content, stored under a random name, served by owner.

The API is generic: any record with an ``attachments`` owner column (a meeting, a problem, a
negotiation message, an implementation update) uses the same three steps:

1. ``check_uploads(files)`` (or the ``AttachmentsField`` form field, which calls it) reads and
   checks *every* file before anything is written;
2. ``store(uploads, owner=..., by=...)`` writes the files and adds the rows (flushes, never
   commits);
3. the view commits once. Should the transaction end without a commit (a refused service, a
   failed commit, a rolled-back session), the files written for it are removed again, so a
   failed request leaves neither a row nor a file behind.
"""

import os
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from consult.attachments.models import Attachment
from consult.core.refusal import Refusal
from consult.extensions import db

JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
IMAGES = frozenset({JPEG, PNG, WEBP})
ALL_TYPES = frozenset({JPEG, PNG, WEBP, PDF})
#: at most this many files in one form
MAX_FILES = 5
#: the extension a stored or downloaded file gets for its detected type (first one preferred)
EXTENSIONS = {
    JPEG: (".jpg", ".jpeg"),
    PNG: (".png",),
    WEBP: (".webp",),
    PDF: (".pdf",),
}
# Which record owns an attachment, by the owner's table.
_OWNER_COLUMNS = {
    "meetings": "meeting_id",
    "problems": "problem_id",
    "messages": "message_id",
    "implementation_updates": "update_id",
}
_PENDING = "consult.attachments.pending_files"


class UploadRefused(Refusal):
    """A readable reason an uploaded file was not accepted."""


@dataclass(frozen=True)
class Upload:
    """A file that passed ``check_upload``: its content, detected type and the name it came with."""

    original_name: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def sniff(data: bytes) -> str | None:
    """The content type told by the first bytes (magic numbers), or None if not one we take."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def display_name(filename: str | None) -> str:
    """The file's own name without any folder part or control characters, for showing only."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:200] or str(_l("file"))


def _megabytes(n: int) -> str:
    return format_decimal(round(n / (1024 * 1024), 1))


def check_upload(file_storage, *, allowed: Iterable[str] = ALL_TYPES) -> Upload:
    """Read one uploaded file and accept it only if its *content* is an allowed type.

    The browser's filename and claimed type are ignored: the first bytes decide. Empty files
    and files over ``UPLOAD_MAX_BYTES`` are refused with a message naming the file.
    """
    name = display_name(file_storage.filename)
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    data = file_storage.stream.read(limit + 1)
    if not data:
        raise UploadRefused(_l("“%(name)s” is empty.", name=name))
    if len(data) > limit:
        raise UploadRefused(
            _l(
                "“%(name)s” is too large: each file may be at most %(limit)s MB.",
                name=name,
                limit=_megabytes(limit),
            )
        )
    content_type = sniff(data)
    if content_type is None or content_type not in set(allowed):
        if set(allowed) <= IMAGES:
            message = _l("“%(name)s” is not a photo (JPEG, PNG or WebP).", name=name)
        else:
            message = _l(
                "“%(name)s” is not a photo (JPEG, PNG or WebP) or a PDF document.", name=name
            )
        raise UploadRefused(message)
    return Upload(original_name=name, content_type=content_type, data=data)


def check_uploads(
    files: Iterable | None, *, allowed: Iterable[str] = ALL_TYPES, max_files: int = MAX_FILES
) -> list[Upload]:
    """Check every chosen file (inputs left empty are skipped); refuse more than ``max_files``."""
    chosen = [f for f in (files or []) if f is not None and f.filename]
    if len(chosen) > max_files:
        raise UploadRefused(_l("Choose at most %(n)d files at a time.", n=max_files))
    return [check_upload(f, allowed=allowed) for f in chosen]


def store(uploads: Iterable[Upload], *, owner, by=None) -> list[Attachment]:
    """Write checked uploads under ``UPLOAD_FOLDER`` with random names and attach them to
    ``owner`` (a meeting, problem, message or implementation update). Flushes; never commits.

    Each file written is remembered on the session: if the transaction ends without a commit,
    the file is removed again.
    """
    uploads = list(uploads)
    if not uploads:
        return []
    column = _OWNER_COLUMNS[owner.__tablename__]
    if owner.id is None:
        db.session.flush()
    folder = current_app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    pending = db.session.info.setdefault(_PENDING, [])
    stored = []
    for upload in uploads:
        stored_name = secrets.token_hex(16) + EXTENSIONS[upload.content_type][0]
        path = os.path.join(folder, stored_name)
        with open(path, "xb") as fh:  # "x": a name clash fails rather than overwrites
            pending.append(path)
            fh.write(upload.data)
        attachment = Attachment(
            original_name=upload.original_name[:255],
            stored_name=stored_name,
            content_type=upload.content_type,
            size_bytes=upload.size,
            uploaded_by_id=getattr(by, "id", None),
            **{column: owner.id},
        )
        db.session.add(attachment)
        stored.append(attachment)
    db.session.flush()
    return stored


def attachments_of(owner) -> list[Attachment]:
    """The attachments of a meeting, problem, message or update, oldest first."""
    column = getattr(Attachment, _OWNER_COLUMNS[owner.__tablename__])
    return list(
        db.session.scalars(select(Attachment).where(column == owner.id).order_by(Attachment.id))
    )


def owner_of(attachment: Attachment):
    """The record an attachment belongs to (exactly one, by the table's check constraint)."""
    from consult.implementation.models import ImplementationUpdate
    from consult.meetings.models import Meeting
    from consult.negotiation.models import Message
    from consult.problems.models import Problem

    for model, key in (
        (Meeting, attachment.meeting_id),
        (Problem, attachment.problem_id),
        (Message, attachment.message_id),
        (ImplementationUpdate, attachment.update_id),
    ):
        if key is not None:
            return db.session.get(model, key)
    return None


def path_of(attachment: Attachment) -> str:
    return os.path.join(current_app.config["UPLOAD_FOLDER"], attachment.stored_name)


def download_name(attachment: Attachment) -> str:
    """A name to save the file under: the uploader's name without folders or control
    characters, ending in an extension that matches the detected content."""
    name = display_name(attachment.original_name).strip(". ")
    extensions = EXTENSIONS.get(attachment.content_type, ())
    if extensions and not name.lower().endswith(extensions):
        name = (name or "attachment") + extensions[0]
    return name


# --- removing files whose transaction did not commit ---------------------------------------


@event.listens_for(Session, "after_commit")
def _keep_committed_files(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted_files(session: Session, transaction) -> None:
    # after_commit runs first and empties the list, so what is left here was never committed.
    if transaction.parent is not None:
        return
    for path in session.info.pop(_PENDING, []):
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
