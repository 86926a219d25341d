"""Home, health check, language choice and error pages."""

from flask import current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from consult.api.errors import error_response, http_error_response
from consult.attachments import service as attachments
from consult.auth.service import safe_next
from consult.core import security_log
from consult.core.icons import icon
from consult.core.permissions import can
from consult.core.templating import ActionForm
from consult.extensions import csrf, db, limiter, login_manager
from consult.main import (
    bp,
    co_home,  # noqa: F401  (its view attaches to the communities blueprint)
)


@bp.route("/")
def index():
    """Send each person to where their work is."""
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    if can(current_user, "view_dashboard"):
        return redirect(url_for("monitoring.dashboard"))
    if current_user.is_staff:
        return redirect(url_for("communities.directory"))
    if current_user.is_officer:
        return redirect(url_for("negotiation.inbox", municipality_id=current_user.municipality_id))
    memberships = current_user.current_memberships()
    if len(memberships) == 1:
        return redirect(url_for("communities.home", co_id=memberships[0].co_id))
    return render_template("main/choose_co.html", memberships=memberships)


@bp.route("/favicon.ico")
@limiter.exempt
def favicon():
    """The site's icon: Lucide's speech bubble in the brand's colour (SVG; browsers that ask
    for /favicon.ico take it too)."""
    svg = str(icon("messages-square", 32)).replace('stroke="currentColor"', 'stroke="#0b5cad"')
    svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    response = current_app.response_class(svg, mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 7 * 24 * 3600
    return response


@bp.route("/healthz")
@limiter.exempt
@csrf.exempt
def healthz():
    """``200 {"status": "ok", "database": "ok", "storage": "ok"}``; 503 with ``"status":
    "error"`` when the database is unreachable or files cannot be kept (``"storage":
    "unwritable"`` or ``"full"``)."""
    report = {"status": "ok", "database": "ok", "storage": attachments.storage_status()}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is "down", whatever the driver says
        current_app.logger.exception("health check: database unreachable")
        db.session.rollback()
        report["database"] = "unreachable"
    if report["database"] != "ok" or report["storage"] != "ok":
        report["status"] = "error"
        return jsonify(report), 503
    return jsonify(report)


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


# Error pages never read the request body: it may be the very thing that failed (too large,
# cut off), and reading it again inside the handler turned a 413 into a bare 500. Templates
# get their CSRF-only forms without form data (see core.templating), so base.html is safe.
ERROR_PAGES = (400, 403, 404, 405, 413, 429, 500, 503)


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    if error.code in (403, 429):
        security_log.event(
            "access.denied" if error.code == 403 else "rate.limited",
            current_user if current_user.is_authenticated else None,
        )
    if request.path.startswith("/api/"):
        return http_error_response(error)
    if request.path == "/healthz":
        return jsonify(error=error.name, code=error.code), error.code
    if error.code == 500:
        return server_error(error)
    if error.code in ERROR_PAGES:
        return render_template("errors/error.html", error=error, message=_error_message(error)), (
            error.code
        )
    return error


#: seconds a visitor is asked to wait when the database cannot be reached
RETRY_AFTER = 30


@bp.app_errorhandler(OperationalError)
@bp.app_errorhandler(InterfaceError)
@bp.app_errorhandler(PoolTimeout)
def database_unavailable(error):
    """The database is down or out of connections: 503 with advice, drawn without a query
    (the visitor is treated as anonymous here, so nothing asks the database who they are)."""
    current_app.logger.error("database unreachable: %s", error)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001, S110 - the connection is gone; nothing to undo
        pass
    if "_login_user" not in g or g._login_user is None:
        g._login_user = login_manager.anonymous_user()
    if request.path.startswith("/api/"):
        response = error_response(503, _("The database cannot be reached. Try again shortly."))
    elif request.path == "/healthz":
        response = jsonify(status="error", database="unreachable")
    else:
        response = current_app.make_response(
            render_template("errors/unavailable.html", retry_after=RETRY_AFTER)
        )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


@bp.app_errorhandler(500)
def server_error(error):
    db.session.rollback()
    if request.path.startswith("/api/"):
        return error_response(500, _("Something went wrong on our side. Nothing was saved."))
    return render_template("errors/error.html", error=None, message=_error_message(None)), 500


def _error_message(error: HTTPException | None) -> str:
    if error is None:
        return _("Something went wrong on our side. What you did was not saved; please try again.")
    if error.code == 413:
        limits = attachments.limits()
        return _(
            "What you sent is too large: a form takes at most %(n)d files of %(mb)s MB each. "
            "Nothing was saved. Go back (what you typed is usually still there) and choose "
            "fewer or smaller files.",
            n=limits["files"],
            mb=limits["mb"],
        )
    messages = {
        400: _("The request could not be understood. Please go back and try again."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist, or it was moved."),
        405: _("This action cannot be done this way."),
        429: _("Too many attempts. Please wait a minute and try again."),
        503: _(
            "Consult cannot answer just now. Nothing was saved; please try again in a few minutes."
        ),
    }
    return messages.get(error.code, error.description)
