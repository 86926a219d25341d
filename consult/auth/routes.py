"""Logging in and out, accepting an invitation. (Staff invite people from
``consult.admin.invite``, which can make a new leader a member of their CO.)"""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from consult.auth import bp, service, sessions
from consult.auth.forms import ChangePasswordForm, LoginForm, SetPasswordForm
from consult.core import security_log
from consult.core.forms import show_refusal
from consult.core.templating import ActionForm
from consult.extensions import db, limiter, login_manager

login_manager.login_view = "auth.login"
login_manager.login_message = None  # the login page says enough


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_login_limit() -> str:
    return current_app.config["ACCOUNT_LOGIN_RATE_LIMIT"]


def _account_key() -> str:
    """The account a login attempt is for, spelled as it is stored, whether it exists or not
    (so the limit says nothing about who has an account); hashed: no logins in the limiter."""
    return "login:" + service.login_key(request.form.get("login", ""))


def _failed(response) -> bool:
    return response.status_code != 302  # a successful login redirects


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_account_login_limit, key_func=_account_key, methods=["POST"], deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm(next=request.args.get("next"))
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.login.data, form.password.data)
        except service.AccountError as error:
            show_refusal(form, error, "password")
            known = service.find_by_login(form.login.data)
            security_log.event(
                "login.failure", known, login=service.login_key(form.login.data)[:16]
            )
        else:
            db.session.commit()
            sessions.start(user, remember=form.remember.data)
            security_log.event("login.success", user, remembered=bool(form.remember.data))
            return redirect(service.safe_next(form.next.data) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out here and everywhere: every session and remember cookie of the account ends."""
    if ActionForm().validate_on_submit() and current_user.is_authenticated:
        user = current_user._get_current_object()
        service.end_sessions(user)
        db.session.commit()
        sessions.end()
        security_log.event("logout", user)
        flash(_("You are logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            service.change_password(user, form.current.data, form.password.data)
        except service.AccountError as error:
            db.session.rollback()
            show_refusal(form, error, "password")
        else:
            db.session.commit()
            sessions.start(user, remember=sessions.remembered())
            security_log.event("password.changed", user)
            flash(_("Your password is changed. You are logged out everywhere else."), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = service.find_invitation(token)
    if invitation is None:
        return render_template("auth/invitation_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = service.accept_invitation(invitation, form.password.data)
        except service.AccountError as error:
            db.session.rollback()
            show_refusal(form, error, "password")
        else:
            db.session.commit()
            sessions.start(user)
            security_log.event("password.set", user)
            flash(_("Welcome, %(name)s. Your password is set.", name=user.name), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/set_password.html", form=form, invitation=invitation)
