"""The reader's notifications: the list, opening one (marks it read), marking all read."""

from flask import g, redirect, render_template, url_for
from flask_login import current_user, login_required

from consult.auth.service import safe_next
from consult.core import conditional
from consult.core.forms import load
from consult.core.pagination import paginate
from consult.core.templating import ActionForm
from consult.extensions import db
from consult.notifications import bp, service
from consult.notifications.models import Notification


@bp.app_context_processor
def _unread():
    """Every page's header shows the reader's unread count (asked only when shown)."""
    return {"unread_notifications": _unread_notifications}


def _unread_notifications() -> int:
    """Asked once a request (the menu, and a tag, may both want it); read with the page's
    version when the page has one (the same count)."""
    if not current_user.is_authenticated:
        return 0
    if "unread_notifications" not in g:
        version = conditional.reader_version(_unread_version)
        g.unread_notifications = (
            version[0] if version is not None else service.unread_count(current_user)
        )
    return g.unread_notifications


def _unread_version(_cos) -> list:
    return [service.unread_count_sql(conditional.READER)]


conditional.reader_columns.append(_unread_version)


@bp.route("/notifications")
@login_required
def index():
    page = paginate(
        service.listing(current_user),
        per_page=service.PER_PAGE,
    )
    return render_template(
        "notifications/index.html", page=page, text=service.text, form=ActionForm()
    )


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def open_one(notification_id: int):
    """Mark the notification read and go where it points (a POST: reading changes state)."""
    n = load(Notification, notification_id, "open")
    if not ActionForm().validate_on_submit():
        return redirect(url_for("notifications.index"))
    service.mark_read(n)
    target = safe_next(n.link) or url_for("notifications.index")
    db.session.commit()
    return redirect(target)


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_read():
    if ActionForm().validate_on_submit():
        service.mark_all_read(current_user)
        db.session.commit()
    return redirect(url_for("notifications.index"))
