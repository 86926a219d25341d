"""Logging in and out, accepting an invitation. (Staff invite people from
``consult.admin.invite``, which can make a new leader a member of their CO.)"""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from consult.auth import bp, service
from consult.auth.forms import LoginForm, SetPasswordForm
from consult.auth.models import User
from consult.core.forms import show_refusal
from consult.core.templating import ActionForm
from consult.extensions import db, limiter, login_manager

login_manager.login_view = "auth.login"
login_manager.login_message = None  # the login page says enough


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm(next=request.args.get("next"))
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.login.data, form.password.data)
        except service.AccountError as error:
            show_refusal(form, error, "password")
        else:
            login_user(user, remember=form.remember.data)
            db.session.commit()
            return redirect(service.safe_next(form.next.data) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if ActionForm().validate_on_submit():
        logout_user()
        flash(_("You are logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = service.find_invitation(token)
    if invitation is None:
        return render_template("auth/invitation_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        user = service.accept_invitation(invitation, form.password.data)
        db.session.commit()
        logout_user()
        login_user(user)
        flash(_("Welcome, %(name)s. Your password is set.", name=user.name), "success")
        return redirect(url_for("main.index"))
    return render_template("auth/set_password.html", form=form, invitation=invitation)
