"""Uploaded photos and PDFs: checked by content, photos re-encoded, kept by the storage under
random names, served by owner.

The API is generic: any record with an ``attachments`` owner column (a meeting, a problem, a
negotiation message, an implementation update) uses the same three steps:

1. ``check_uploads(files)`` reads and checks *every* file before anything is written. A photo
   (JPEG, PNG, WebP, or HEIC from an iPhone) is decoded and written anew: upright, without any
   metadata (GPS above all), at most ``UPLOAD_DISPLAY_PX`` on its long side, with a thumbnail.
   The ``AttachmentsField`` form field calls it and then ``stage``s the files, so a storage
   problem is shown on the field, with everything typed kept;
2. ``store(uploads, owner=..., by=...)`` adds the rows (staging first what is not staged yet;
   flushes, never commits);
3. the view commits once. Should the request or transaction end without a commit (a refused
   form or service, a failed commit, a rolled-back session), the files written for it are
   removed again, so a failed request leaves neither a row nor a file behind. Files left by a
   process killed between writing and committing are found by ``consult clean-uploads``.

Files are kept by ``storage.storage()``; nothing outside this package knows where.
"""

import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from consult.attachments import images
from consult.attachments.models import Attachment
from consult.attachments.storage import StorageError, storage
from consult.core.db import utcnow
from consult.core.refusal import Refusal
from consult.extensions import db

JPEG, PNG, WEBP, HEIC = "image/jpeg", "image/png", "image/webp", "image/heic"
PDF = "application/pdf"
IMAGES = frozenset({JPEG, PNG, WEBP, HEIC})
ALL_TYPES = frozenset({JPEG, PNG, WEBP, HEIC, PDF})
#: at most this many files in one form (the request size limit is worked out from it)
MAX_FILES = 5
#: the extension a stored or downloaded file gets for its detected type (first one preferred)
EXTENSIONS = {
    JPEG: (".jpg", ".jpeg"),
    PNG: (".png",),
    WEBP: (".webp",),
    HEIC: (".heic", ".heif"),
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


class StorageUnavailable(UploadRefused):
    """The files were fine but could not be kept (storage unwritable or full)."""


@dataclass(frozen=True)
class Upload:
    """A file that passed ``check_upload``, ready to be kept: for a photo, its re-encoded
    display version and thumbnail; for a document, its content as sent. The ``*_name``
    fields are set once ``stage`` has written it."""

    original_name: str
    content_type: str
    data: bytes
    width: int | None = None
    height: int | None = None
    thumbnail: images.Rendition | None = None
    #: the file as sent, only when UPLOAD_KEEP_ORIGINAL is on
    original: bytes | None = None
    original_type: str | None = None
    stored_name: str | None = None
    thumb_name: str | None = None
    original_stored_name: str | None = None

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
    if images.is_heif(data):
        return HEIC
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


def limits() -> dict:
    """The limits to state on forms and error pages: files per form, MB per file."""
    return {"files": MAX_FILES, "mb": _megabytes(current_app.config["UPLOAD_MAX_BYTES"])}


def too_large_message(limit: int, name: str = "{name}"):
    """The refusal of a file over ``limit`` bytes (``{name}``: for the page's own check)."""
    return _l(
        "“%(name)s” is too large: each file may be at most %(limit)s MB.",
        name=name,
        limit=_megabytes(limit),
    )


def too_many_message(max_files: int):
    """The refusal of more files than a form takes."""
    return _l("Choose at most %(n)d files at a time.", n=max_files)


def check_upload(file_storage, *, allowed: Iterable[str] = ALL_TYPES) -> Upload:
    """Read one uploaded file and accept it only if its *content* is an allowed type.

    The browser's filename and claimed type are ignored: the first bytes decide, and a photo
    must decode. Empty files, files over ``UPLOAD_MAX_BYTES`` and photos of more than
    ``UPLOAD_MAX_PIXELS`` are refused with a message naming the file. A photo comes back
    re-encoded (see ``images.reencode``)."""
    config = current_app.config
    name = display_name(file_storage.filename)
    limit = config["UPLOAD_MAX_BYTES"]
    data = file_storage.stream.read(limit + 1)
    if not data:
        raise UploadRefused(_l("“%(name)s” is empty.", name=name))
    if len(data) > limit:
        raise UploadRefused(too_large_message(limit, name))
    content_type = sniff(data)
    if content_type is None or content_type not in set(allowed):
        if set(allowed) <= IMAGES:
            message = _l("“%(name)s” is not a photo (JPEG, PNG, WebP or HEIC).", name=name)
        else:
            message = _l(
                "“%(name)s” is not a photo (JPEG, PNG, WebP or HEIC) or a PDF document.",
                name=name,
            )
        raise UploadRefused(message)
    if content_type not in IMAGES:
        return Upload(original_name=name, content_type=content_type, data=data)
    return _photo(name, content_type, data)


def _photo(name: str, content_type: str, data: bytes) -> Upload:
    config = current_app.config
    max_pixels = config["UPLOAD_MAX_PIXELS"]
    try:
        display, thumb = images.reencode(
            data,
            max_side=config["UPLOAD_DISPLAY_PX"],
            thumb_side=config["UPLOAD_THUMB_PX"],
            max_pixels=max_pixels,
        )
    except images.TooManyPixels as bomb:
        megapixels = format_decimal(round(max_pixels / 1_000_000))
        if bomb.width and bomb.height:
            raise UploadRefused(
                _l(
                    "“%(name)s” has too many pixels (%(width)s × %(height)s): a photo may "
                    "have at most %(mp)s megapixels.",
                    name=name,
                    width=format_decimal(bomb.width),
                    height=format_decimal(bomb.height),
                    mp=megapixels,
                )
            ) from None
        raise UploadRefused(
            _l(
                "“%(name)s” has too many pixels: a photo may have at most %(mp)s megapixels.",
                name=name,
                mp=megapixels,
            )
        ) from None
    except images.NotAnImage:
        raise UploadRefused(
            _l("“%(name)s” could not be read as a photo: the file may be damaged.", name=name)
        ) from None
    keep = bool(config.get("UPLOAD_KEEP_ORIGINAL"))
    return Upload(
        original_name=name,
        content_type=display.content_type,
        data=display.data,
        width=display.width,
        height=display.height,
        thumbnail=thumb,
        original=data if keep else None,
        original_type=content_type if keep else None,
    )


def check_uploads(
    files: Iterable | None, *, allowed: Iterable[str] = ALL_TYPES, max_files: int = MAX_FILES
) -> list[Upload]:
    """Check every chosen file (inputs left empty are skipped); refuse more than ``max_files``."""
    chosen = [f for f in (files or []) if f is not None and f.filename]
    if len(chosen) > max_files:
        raise UploadRefused(too_many_message(max_files))
    return [check_upload(f, allowed=allowed) for f in chosen]


def _new_name(content_type: str, suffix: str = "") -> str:
    return secrets.token_hex(16) + suffix + EXTENSIONS[content_type][0]


def stage(uploads: Iterable[Upload]) -> list[Upload]:
    """Write checked uploads to the storage now, under new random names, before any record
    exists. They stay only if the transaction commits; a request that ends without a commit
    removes them. Raises ``StorageUnavailable`` (having removed what it wrote) when the
    storage cannot take them."""
    files = storage()
    pending = db.session.info.setdefault(_PENDING, [])
    waiting = {name for _, name in pending}
    staged = []
    written = []
    try:
        for upload in uploads:
            if upload.stored_name in waiting:  # staged by the form, not rolled back since
                staged.append(upload)
                continue
            names = {"stored_name": _new_name(upload.content_type)}
            contents = [(names["stored_name"], upload.data)]
            if upload.thumbnail is not None:
                names["thumb_name"] = _new_name(upload.thumbnail.content_type, ".thumb")
                contents.append((names["thumb_name"], upload.thumbnail.data))
            if upload.original is not None:
                names["original_stored_name"] = _new_name(upload.original_type, ".original")
                contents.append((names["original_stored_name"], upload.original))
            for name, data in contents:
                files.write(name, data)
                written.append(name)
                pending.append((files, name))
            staged.append(replace(upload, **names))
    except StorageError as error:
        for name in written:
            files.delete(name)
        raise StorageUnavailable(
            _l(
                "%(problem)s Nothing was saved. Try again later, or save without the files.",
                problem=error.message,
            )
        ) from error
    return staged


def store(uploads: Iterable[Upload], *, owner, by=None) -> list[Attachment]:
    """Keep checked uploads (staging those not yet written) and attach them to ``owner`` (a
    meeting, problem, message or implementation update). Flushes; never commits.

    Raises ``StorageUnavailable`` when the storage cannot take the files."""
    uploads = list(uploads)
    if not uploads:
        return []
    column = _OWNER_COLUMNS[owner.__tablename__]
    if owner.id is None:
        db.session.flush()
    stored = []
    for upload in stage(uploads):
        thumb = upload.thumbnail
        attachment = Attachment(
            original_name=upload.original_name[:255],
            stored_name=upload.stored_name,
            content_type=upload.content_type,
            size_bytes=upload.size,
            width=upload.width,
            height=upload.height,
            thumb_name=upload.thumb_name,
            thumb_width=thumb.width if thumb else None,
            thumb_height=thumb.height if thumb else None,
            original_stored_name=upload.original_stored_name,
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


def first_photos(model, owners) -> dict[int, Attachment]:
    """The first photo with a thumbnail of each of ``owners`` (records of ``model``, e.g. a
    page of problems), by owner id: the pictures of a list, in one query whatever the page
    holds (none included)."""
    column = getattr(Attachment, _OWNER_COLUMNS[model.__tablename__])
    found: dict[int, Attachment] = {}
    for attachment in db.session.scalars(
        select(Attachment)
        .where(column.in_([o.id for o in owners]), Attachment.thumb_name.is_not(None))
        .order_by(Attachment.id)
    ):
        found.setdefault(getattr(attachment, column.key), attachment)
    return found


def owner_of(attachment: Attachment):
    """The record an attachment belongs to (exactly one, by the table's check constraint).

    Each owning feature declares the relationship on its side (``Meeting.attachments`` with
    the backref ``meeting``, and so on), named after the owner column without ``_id``; this
    feature imports none of them."""
    for column in _OWNER_COLUMNS.values():
        if getattr(attachment, column) is not None:
            return getattr(attachment, column.removesuffix("_id"))
    return None


def send(attachment: Attachment, *, thumbnail: bool = False, tag: str | None = None):
    """A response with the attachment's file (its thumbnail when asked and there is one), or
    None when the storage no longer has it. With ``tag`` equal to the file's current tag
    (``Attachment.tag``), the phone may keep it (privately) instead of asking on every page."""
    name = (thumbnail and attachment.thumb_name) or attachment.stored_name
    files = storage()
    if not files.exists(name):
        return None
    response = files.send(
        name,
        mimetype=attachment.content_type,
        # Photos open in the page; PDFs are saved, never rendered by the browser from our origin.
        as_attachment=not attachment.is_image,
        download_name=download_name(attachment),
    )
    # Private: access depends on who asks. Otherwise no-cache: revalidate (a cheap 304).
    if tag and tag == (attachment.thumb_tag if thumbnail else attachment.tag):
        response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "private, no-cache"
    return response


def download_name(attachment: Attachment) -> str:
    """A name to save the file under: the uploader's name without folders or control
    characters, ending in an extension that matches the stored content (a re-encoded
    ``IMG_0042.HEIC`` saves as ``IMG_0042.webp``)."""
    name = display_name(attachment.original_name).strip(". ")
    extensions = EXTENSIONS.get(attachment.content_type, ())
    if attachment.is_image:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and "." + ext.lower() in _IMAGE_EXTENSIONS:
            name = stem
    if extensions and not name.lower().endswith(extensions):
        name = (name or "attachment") + extensions[0]
    return name


_IMAGE_EXTENSIONS = {e for t in IMAGES for e in EXTENSIONS[t]}


def photos_to_reencode() -> list[Attachment]:
    """Photos stored as sent, before uploads were re-encoded (no thumbnail yet)."""
    return list(
        db.session.scalars(
            select(Attachment)
            .where(Attachment.thumb_name.is_(None), Attachment.content_type.in_(IMAGES))
            .order_by(Attachment.id)
        )
    )


def reencode_stored(attachment: Attachment) -> str | None:
    """Re-encode a photo stored as it was sent, as new uploads are: upright, without
    metadata, display size and thumbnail under new names. Flushes; the caller commits, then
    deletes the returned old name (None: it is kept, as the original, under
    ``UPLOAD_KEEP_ORIGINAL``). Raises ``UploadRefused`` when the file is missing or is not a
    photo that can be decoded within the limits; the row is then left as it is."""
    old_name = attachment.stored_name
    data = storage().read(old_name)
    if data is None:
        raise UploadRefused(_l("The file is missing."))
    content_type = sniff(data)
    if content_type not in IMAGES:
        raise UploadRefused(_l("The file is not a photo."))
    [upload] = stage([replace(_photo(attachment.original_name, content_type, data), original=None)])
    attachment.stored_name = upload.stored_name
    attachment.content_type = upload.content_type
    attachment.size_bytes = upload.size
    attachment.width, attachment.height = upload.width, upload.height
    attachment.thumb_name = upload.thumb_name
    attachment.thumb_width = upload.thumbnail.width
    attachment.thumb_height = upload.thumbnail.height
    keep = bool(current_app.config.get("UPLOAD_KEEP_ORIGINAL"))
    if keep and not attachment.original_stored_name:
        attachment.original_stored_name = old_name
    db.session.flush()
    return None if keep else old_name


def storage_status() -> str:
    """``ok``, ``unwritable`` or ``full``: whether new files can be kept now."""
    return storage().check()


@dataclass(frozen=True)
class Audit:
    """What ``audit_storage`` found."""

    orphans: list[str]  # files without a row, older than the grace period
    missing: list[tuple[int, str]]  # (attachment id, stored name) of rows whose file is gone


def audit_storage(*, grace: timedelta = timedelta(hours=1), remove: bool = False) -> Audit:
    """Compare the storage with the attachment rows. Files no row names (left by a process
    killed between writing and committing) are orphans once older than ``grace`` (younger
    ones may belong to a request still running); ``remove`` deletes them."""
    names: dict[str, int] = {}
    for row in db.session.execute(
        select(
            Attachment.id,
            Attachment.stored_name,
            Attachment.thumb_name,
            Attachment.original_stored_name,
        )
    ):
        for name in row[1:]:
            if name:
                names[name] = row.id
    files = storage()
    cutoff: datetime = utcnow() - grace
    present = set()
    orphans = []
    for name, written_at in files.listing():
        present.add(name)
        if name not in names and written_at < cutoff:
            orphans.append(name)
    if remove:
        for name in orphans:
            files.delete(name)
    missing = sorted({(i, n) for n, i in names.items() if n not in present})
    return Audit(orphans=sorted(orphans), missing=missing)


# --- removing files whose transaction did not commit ---------------------------------------


@event.listens_for(Session, "after_commit")
def _keep_committed_files(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted_files(session: Session, transaction) -> None:
    # after_commit runs first and empties the list, so what is left here was never committed.
    if transaction.parent is not None:
        return
    remove_uncommitted(session)


def remove_uncommitted(session: Session) -> None:
    """Delete the files staged in ``session`` since its last commit (also called when a
    request ends, for files staged by a form that never reached a transaction)."""
    for files, name in session.info.pop(_PENDING, []):
        files.delete(name)
