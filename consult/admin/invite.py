"""Staff invite a municipal officer, a CO leader or a colleague: the account (auth), for a
leader the membership of their CO (communities), and the invitation link (auth). It uses both
features, so it lives here, above them; the view keeps its endpoint ``auth.invite`` and its
address ``/people/invite``."""

from flask import current_app, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from consult.auth import bp as auth
from consult.auth import service
from consult.auth.forms import InviteForm
from consult.communities import service as communities
from consult.communities.models import CommunityOrganisation, Municipality
from consult.core.enums import Gender, MembershipRole, UserRole
from consult.core.forms import show_refusal
from consult.core.ids import id_arg
from consult.core.permissions import require
from consult.extensions import db


@auth.route("/people/invite", methods=["GET", "POST"])
@login_required
def invite():
    """Staff invite a municipal officer, a CO leader or a colleague."""
    require(current_user, "invite")
    form = InviteForm()
    form.municipality_id.choices = [SelectChoice(0, "—")] + [
        SelectChoice(m.id, f"{m.name} ({m.country})")
        for m in db.session.scalars(select(Municipality).order_by(Municipality.name))
    ]
    form.co_id.choices = [SelectChoice(0, "—")] + [
        SelectChoice(co.id, co.name)
        for co in db.session.scalars(
            select(CommunityOrganisation).order_by(CommunityOrganisation.name)
        )
    ]
    if not form.is_submitted() and (co_id := request.args.get("co_id", type=id_arg)):
        # "Invite its leader" from a CO just registered
        form.role.data = UserRole.RESIDENT.value
        form.co_id.data = co_id
    link = None
    if form.validate_on_submit():
        role = UserRole(form.role.data)
        errors = _invite_choice_errors(form, role)
        if not errors:
            try:
                user = service.create_person(
                    form.name.data,
                    email=form.email.data,
                    phone=form.phone.data,
                    gender=Gender(form.gender.data),
                    role=role,
                    municipality_id=form.municipality_id.data or None,
                    by=current_user,
                )
                if role == UserRole.RESIDENT:
                    co = db.get_or_404(CommunityOrganisation, form.co_id.data)
                    communities.add_member(co, user, MembershipRole.LEADER, by=current_user)
                token = service.invite(user, current_user, current_app.config["INVITATION_DAYS"])
            except service.AccountError as error:
                db.session.rollback()
                show_refusal(form, error, "phone")
            else:
                db.session.commit()
                link = url_for("auth.accept_invitation", token=token, _external=True)
                flash(
                    _("%(name)s is invited. Send them the link below.", name=user.name), "success"
                )
                form = None
    return render_template("auth/invite.html", form=form, link=link)


def _invite_choice_errors(form: InviteForm, role: UserRole) -> bool:
    if role == UserRole.OFFICER and not form.municipality_id.data:
        form.municipality_id.errors.append(_("Choose the officer's municipality."))
        return True
    if role == UserRole.RESIDENT and not form.co_id.data:
        form.co_id.errors.append(_("Choose the community organisation this leader leads."))
        return True
    return False
