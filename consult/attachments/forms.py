"""A reusable form field for photos and PDFs.

Add ``files = AttachmentsField(_l("Photos"))`` to any FlaskForm (and ``enctype=
"multipart/form-data"`` to the ``<form>``); after ``validate_on_submit()`` the checked files are
in ``form.files.uploads``, already written to the storage (staged) and ready for
``attachments.service.store(..., owner=...)``. A file refused by content or size, or a storage
that cannot take files, is an error on this field: the form is shown again with what was typed.
"""

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField

from consult.attachments.service import (
    ALL_TYPES,
    EXTENSIONS,
    MAX_FILES,
    UploadRefused,
    check_uploads,
    stage,
    too_large_message,
    too_many_message,
)

AGAIN = _l("Files are not kept when the form is shown again: please choose them again.")


class AttachmentsField(MultipleFileField):
    """Several files, each checked by content and size by ``check_uploads``."""

    def __init__(
        self, label=None, validators=None, *, allowed=ALL_TYPES, max_files=MAX_FILES, **kwargs
    ):
        accept = ",".join(sorted(allowed) + [e for t in sorted(allowed) for e in EXTENSIONS[t]])
        render_kw = {"accept": accept, **(kwargs.pop("render_kw", None) or {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self.allowed = frozenset(allowed)
        self.max_files = max_files
        self.uploads = []

    @property
    def chosen(self) -> bool:
        """True when the user picked files in this request (they are lost on re-render)."""
        return bool(self.data)

    def __call__(self, **kwargs):
        """The input, with the limits for the page's size check (static/js/uploads.js), in
        the same words the server uses."""
        limit = current_app.config["UPLOAD_MAX_BYTES"]
        kwargs.setdefault("data-max-bytes", limit)
        kwargs.setdefault("data-max-files", self.max_files)
        kwargs.setdefault("data-too-many", too_many_message(self.max_files))
        kwargs.setdefault("data-too-large", too_large_message(limit))
        return super().__call__(**kwargs)

    def post_validate(self, form, validation_stopped):
        if validation_stopped or self.errors:
            return
        try:
            self.uploads = stage(
                check_uploads(self.data, allowed=self.allowed, max_files=self.max_files)
            )
        except UploadRefused as refused:
            self.uploads = []
            self.errors.append(str(refused))
            self.errors.append(str(AGAIN))
