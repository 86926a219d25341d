"""Home, health check, language choice and error pages."""

from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from consult.auth.service import safe_next
from consult.core.templating import ActionForm
from consult.extensions import csrf, db, limiter
from consult.main import bp


@bp.route("/")
def index():
    """Send each person to where their work is."""
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    if current_user.is_staff:
        return redirect(url_for("communities.directory"))
    if current_user.is_officer:
        return redirect(url_for("negotiation.inbox", municipality_id=current_user.municipality_id))
    memberships = current_user.current_memberships()
    if len(memberships) == 1:
        return redirect(url_for("communities.home", co_id=memberships[0].co_id))
    return render_template("main/choose_co.html", memberships=memberships)


@bp.route("/healthz")
@limiter.exempt
@csrf.exempt
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is "down", whatever the driver says
        current_app.logger.exception("health check: database unreachable")
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.route("/language", methods=["POST"])
def set_language():
    form = ActionForm()
    lang = request.form.get("lang", "")
    if form.validate_on_submit() and lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.language = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    if request.path.startswith("/api/") or request.path == "/healthz":
        return jsonify(error=error.name, code=error.code), error.code
    if error.code in (400, 403, 404, 405, 413, 429):
        return render_template("errors/error.html", error=error, message=_error_message(error)), (
            error.code
        )
    return error


@bp.app_errorhandler(500)
def server_error(error):
    db.session.rollback()
    return render_template("errors/error.html", error=None, message=_error_message(None)), 500


def _error_message(error: HTTPException | None) -> str:
    messages = {
        400: _("The request could not be understood. Please go back and try again."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist, or it was moved."),
        405: _("This action cannot be done this way."),
        413: _("The file is too large. Please send a smaller one."),
        429: _("Too many attempts. Please wait a minute and try again."),
    }
    if error is None:
        return _("Something went wrong on our side. What you did was not saved; please try again.")
    return messages.get(error.code, error.description)
