from flask import redirect, render_template, url_for
from flask_login import current_user, login_required

from consult.core.templating import ActionForm
from consult.extensions import db
from consult.notifications import bp, service


@bp.route("/notifications")
@login_required
def index():
    items = service.recent(current_user)
    return render_template(
        "notifications/index.html", items=items, text=service.text, form=ActionForm()
    )


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_read():
    if ActionForm().validate_on_submit():
        service.mark_all_read(current_user)
        db.session.commit()
    return redirect(url_for("notifications.index"))
