"""The two calls a create view makes around its service call (see :mod:`consult.submissions`)."""

from collections.abc import Callable

from flask import flash, redirect, request
from flask_babel import gettext as _
from flask_login import current_user

from consult.submissions import service


def repeated(form, kind: str, url: Callable[[int], str], object_id: int | None = None):
    """Claim ``form``'s submission key for a ``kind`` record. None when it is new: create
    the record, then call :func:`created` (unless ``object_id`` named the record to show
    already, as a ballot names its proposal). Otherwise the redirect to what the first
    sending created (``url(object_id)``), with a message saying nothing was saved twice."""
    earlier = service.claim(current_user, form.submission_key.data, kind, object_id)
    if earlier is None:
        return None
    flash(
        _("This was already saved: the same form was sent twice. Nothing was saved twice."),
        "info",
    )
    return redirect(url(earlier.object_id) if earlier.object_id else request.path)


def created(form, object_id: int) -> None:
    """Record that ``form``'s submission created record ``object_id``."""
    service.fulfil(current_user, form.submission_key.data, object_id)
