"""Serving stored attachments to whoever may see the record they belong to."""

from flask import abort, request
from flask_login import login_required

from consult.attachments import bp, service
from consult.attachments.models import Attachment
from consult.attachments.policy import AttachmentAction
from consult.core.forms import load
from consult.extensions import db


@bp.route("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    return _serve(attachment_id, thumbnail=False)


@bp.route("/attachments/<int:attachment_id>/thumbnail")
@login_required
def thumbnail(attachment_id: int):
    return _serve(attachment_id, thumbnail=True)


def _serve(attachment_id: int, *, thumbnail: bool):
    # 404, then 403 as decided by the owner: meeting, problem…
    attachment = load(Attachment, attachment_id, AttachmentAction.VIEW)
    response = service.send(attachment, thumbnail=thumbnail, tag=request.args.get("v"))
    if response is None:
        abort(404)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.teardown_app_request
def _remove_files_of_uncommitted_forms(error=None) -> None:
    # A form stages its files while validating; if the request ends without a commit
    # (another field was wrong, the service refused), no transaction may have been there to
    # roll back, so the files are removed here.
    service.remove_uncommitted(db.session())
