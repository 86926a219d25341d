"""Serving stored attachments to whoever may see the record they belong to."""

import os

from flask import abort, current_app, send_from_directory
from flask_login import current_user, login_required

from consult.attachments import bp, service
from consult.attachments.models import Attachment
from consult.core.permissions import require
from consult.extensions import db


@bp.route("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    attachment = db.get_or_404(Attachment, attachment_id)
    require(current_user, "view", attachment)  # decided by the owner: meeting, problem…
    if not os.path.isfile(service.path_of(attachment)):
        abort(404)
    response = send_from_directory(
        current_app.config["UPLOAD_FOLDER"],
        attachment.stored_name,
        mimetype=attachment.content_type,
        # Photos open in the page; PDFs are saved, never rendered by the browser from our origin.
        as_attachment=not attachment.is_image,
        download_name=service.download_name(attachment),
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Private: access depends on who asks; no-cache: revalidate (a cheap 304) each time.
    response.headers["Cache-Control"] = "private, no-cache"
    return response
