"""Administration: municipalities, accounts and roles."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from consult.admin import (
    bp,
    codes,
    invite,  # noqa: F401  (its view attaches to the auth blueprint)
    service,
)
from consult.admin.forms import MunicipalityForm, PeopleFilterForm, RoleForm
from consult.audit.models import AuditEvent
from consult.auth import service as accounts
from consult.auth.models import User
from consult.auth.service import normalise_phone
from consult.communities.models import Municipality
from consult.core.enums import UserRole
from consult.core.forms import load, refusals_on
from consult.core.pagination import paginate
from consult.core.permissions import require
from consult.core.templating import ActionForm
from consult.extensions import db

PER_PAGE = 25

#: how an account's history reads; other actions show their code
HISTORY = {
    "user.created": _l("Account created"),
    "user.invited": _l("Invitation link made"),
    "user.reinvited": _l("New invitation link made; earlier ones stopped"),
    "user.password_set": _l("Password set"),
    "user.disabled": _l("Account disabled"),
    "user.enabled": _l("Account enabled"),
    "user.role_changed": _l("Role changed"),
}


@bp.route("/")
@login_required
def index():
    require(current_user, "manage_users")
    counts = {
        "municipalities": db.session.scalar(select(func.count(Municipality.id))),
        "people": db.session.scalar(select(func.count(User.id))),
        "disabled": db.session.scalar(select(func.count(User.id)).where(User.active.is_(False))),
    }
    by_role = dict(
        db.session.execute(select(User.role, func.count(User.id)).group_by(User.role)).all()
    )
    return render_template("admin/index.html", counts=counts, by_role=by_role, roles=UserRole)


# --- municipalities -----------------------------------------------------------------------


@bp.route("/municipalities")
@login_required
def municipalities():
    require(current_user, "manage_municipalities")
    rows = db.session.scalars(
        select(Municipality).order_by(Municipality.country, Municipality.name)
    ).all()
    return render_template("admin/municipalities.html", municipalities=rows, codes=codes)


def _municipality_form_page(form: MunicipalityForm, municipality: Municipality | None):
    return render_template(
        "admin/municipality_form.html",
        form=form,
        municipality=municipality,
        codes=codes,
        locked_currency=municipality is not None and service.has_proposals(municipality),
    )


@bp.route("/municipalities/new", methods=["GET", "POST"])
@login_required
def new_municipality():
    require(current_user, "manage_municipalities")
    form = MunicipalityForm()
    if form.validate_on_submit():
        with refusals_on(form) as attempt:
            m = service.create_municipality(
                by=current_user, languages=current_app.config["LANGUAGES"], **form.values()
            )
        if attempt.ok:
            db.session.commit()
            flash(_("%(name)s is registered.", name=m.name), "success")
            return redirect(url_for("admin.municipalities"))
    return _municipality_form_page(form, None)


@bp.route("/municipalities/<int:municipality_id>/edit", methods=["GET", "POST"])
@login_required
def edit_municipality(municipality_id: int):
    m = db.get_or_404(Municipality, municipality_id)
    require(current_user, "manage_municipalities")
    form = MunicipalityForm(obj=m)
    if form.validate_on_submit():
        with refusals_on(form) as attempt:
            changes = service.update_municipality(
                m, by=current_user, languages=current_app.config["LANGUAGES"], **form.values()
            )
        if attempt.ok:
            db.session.commit()
            if changes:
                flash(_("%(name)s is saved.", name=m.name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("admin.municipalities"))
    return _municipality_form_page(form, m)


# --- people -------------------------------------------------------------------------------


@bp.route("/people")
@login_required
def people():
    require(current_user, "manage_users")
    filters = PeopleFilterForm(request.args)
    # An unknown value in the query string just means "no filter", never an error.
    chosen = {}
    if filters.validate():
        chosen = {k: v for k, v in filters.data.items() if v}
    query = select(User)
    if text := (chosen.get("q") or "").strip():
        like = f"%{text.lower()}%"
        conditions = [func.lower(User.name).like(like), func.lower(User.email).like(like)]
        phone = normalise_phone(text)
        if phone:
            conditions.append(User.phone.like(f"%{phone.lstrip('+')}%"))
        query = query.where(or_(*conditions))
    if "role" in chosen:
        query = query.where(User.role == UserRole(chosen["role"]))
    if "municipality_id" in chosen:
        query = query.where(User.municipality_id == chosen["municipality_id"])
    if "active" in chosen:
        query = query.where(User.active.is_(chosen["active"] == "yes"))
    page = paginate(
        query.order_by(func.lower(User.name), User.id),
        per_page=PER_PAGE,
    )
    return render_template("admin/people.html", page=page, filters=filters, args=chosen)


def _account_page(user: User, *, role_form: RoleForm | None = None, link: str | None = None):
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "User", AuditEvent.object_id == user.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(10)
    ).all()
    actor_ids = {ev.actor_id for ev in events if ev.actor_id}
    actors = dict(
        db.session.execute(select(User.id, User.name).where(User.id.in_(actor_ids))).all()
        if actor_ids
        else []
    )
    if role_form is None:
        role_form = RoleForm(
            formdata=None, role=user.role.value, municipality_id=user.municipality_id or 0
        )
    history = [
        (_history_text(ev), ev.at, actors.get(ev.actor_id) if ev.actor_id else None)
        for ev in events
    ]
    return render_template(
        "admin/person.html",
        person=user,
        role_form=role_form,
        link=link,
        history=history,
        is_self=user.id == current_user.id,
    )


def _history_text(ev: AuditEvent) -> str:
    text = str(HISTORY.get(ev.action, ev.action))
    if ev.action == "user.role_changed":
        after = (ev.detail or {}).get("after") or {}
        try:
            return _("%(what)s: %(role)s", what=text, role=UserRole(after.get("role")).label)
        except ValueError:
            return text
    return text


@bp.route("/people/<int:user_id>")
@login_required
def person(user_id: int):
    user = load(User, user_id, "manage")
    return _account_page(user)


@bp.route("/people/<int:user_id>/role", methods=["POST"])
@login_required
def change_role(user_id: int):
    user = load(User, user_id, "manage")
    form = RoleForm()
    if form.validate_on_submit():
        with refusals_on(form) as attempt:
            changed = service.change_role(
                user,
                UserRole(form.role.data),
                municipality_id=form.municipality_id.data or None,
                by=current_user,
            )
        if attempt.ok:
            db.session.commit()
            if changed:
                flash(
                    _("%(name)s is now: %(role)s.", name=user.name, role=user.role.label),
                    "success",
                )
            return redirect(url_for("admin.person", user_id=user.id))
    return _account_page(user, role_form=form), 200


@bp.route("/people/<int:user_id>/disable", methods=["POST"])
@login_required
def disable(user_id: int):
    return _switch(
        user_id, service.disable_user, lambda u: _("%(name)s can no longer log in.", name=u.name)
    )


@bp.route("/people/<int:user_id>/enable", methods=["POST"])
@login_required
def enable(user_id: int):
    return _switch(
        user_id, service.enable_user, lambda u: _("%(name)s can log in again.", name=u.name)
    )


def _switch(user_id: int, change, message):
    user = load(User, user_id, "manage")
    if ActionForm().validate_on_submit():
        try:
            change(user, by=current_user)
        except service.AdminError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(message(user), "success")
    return redirect(url_for("admin.person", user_id=user.id))


@bp.route("/people/<int:user_id>/invitation", methods=["POST"])
@login_required
def reinvite(user_id: int):
    """A fresh invitation link, shown once on the account page."""
    user = load(User, user_id, "reinvite")
    link = None
    if ActionForm().validate_on_submit():
        try:
            token = accounts.new_invitation(
                user, by=current_user, days=current_app.config["INVITATION_DAYS"]
            )
        except accounts.AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("admin.person", user_id=user.id))
        db.session.commit()
        link = url_for("auth.accept_invitation", token=token, _external=True)
        flash(
            _("A new invitation link for %(name)s. Earlier links no longer work.", name=user.name),
            "success",
        )
    return _account_page(user, link=link)
