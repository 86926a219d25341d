"""Staff register settlements and COs and keep their details right; leaders make a fresh
invitation link for a member who lost theirs."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from consult.auth import service as accounts
from consult.communities import bp, service
from consult.communities.forms import AddMemberForm, OrganisationForm, SettlementForm
from consult.communities.models import CommunityOrganisation, Membership, Municipality, Settlement
from consult.core.forms import load, refusals_on
from consult.core.permissions import can, require
from consult.core.templating import ActionForm
from consult.extensions import db


@bp.route("/places/municipalities/<int:municipality_id>/settlements/new", methods=["GET", "POST"])
@login_required
def new_settlement(municipality_id: int):
    m = db.get_or_404(Municipality, municipality_id)
    require(current_user, "register_settlement")
    require(current_user, "view", m)
    form = SettlementForm()
    if form.validate_on_submit():
        with refusals_on(form) as attempt:
            s = service.register_settlement(m, by=current_user, **form.values())
        if attempt.ok:
            db.session.commit()
            flash(_("%(name)s is registered.", name=s.name), "success")
            return redirect(url_for("communities.municipality", municipality_id=m.id))
    return render_template(
        "communities/settlement_form.html", form=form, municipality=m, settlement=None
    )


@bp.route("/places/settlements/<int:settlement_id>/edit", methods=["GET", "POST"])
@login_required
def edit_settlement(settlement_id: int):
    s = load(Settlement, settlement_id, "edit")
    form = SettlementForm(obj=s)
    if form.validate_on_submit():
        with refusals_on(form) as attempt:
            changes = service.update_settlement(s, by=current_user, **form.values())
        if attempt.ok:
            db.session.commit()
            if changes:
                flash(_("%(name)s is saved.", name=s.name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("communities.municipality", municipality_id=s.municipality_id))
    return render_template(
        "communities/settlement_form.html", form=form, municipality=s.municipality, settlement=s
    )


@bp.route("/places/settlements/<int:settlement_id>/cos/new", methods=["GET", "POST"])
@login_required
def new_co(settlement_id: int):
    s = load(Settlement, settlement_id, "register_co")
    form = OrganisationForm()
    if form.validate_on_submit():
        with refusals_on(form) as attempt:
            co = service.register_co(s, by=current_user, **form.values())
        if attempt.ok:
            db.session.commit()
            flash(_("%(name)s is registered. Next, invite its leader.", name=co.name), "success")
            return redirect(url_for("communities.edit_co", co_id=co.id))
    return render_template("communities/co_form.html", form=form, settlement=s, co=None)


@bp.route("/places/cos/<int:co_id>/edit", methods=["GET", "POST"])
@login_required
def edit_co(co_id: int):
    """The CO's registration: name, date formed, status, description; and, while it has no
    leader, the next step of inviting one."""
    co = load(CommunityOrganisation, co_id, "edit_registration")
    form = OrganisationForm(obj=co)
    if form.validate_on_submit():
        with refusals_on(form) as attempt:
            changes = service.update_co(co, by=current_user, **form.values())
        if attempt.ok:
            db.session.commit()
            if changes:
                flash(_("%(name)s is saved.", name=co.name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for("communities.edit_co", co_id=co.id))
    return render_template(
        "communities/co_form.html",
        form=form,
        settlement=co.settlement,
        co=co,
        has_leader=service.leader_count(co.id) > 0,
    )


@bp.route("/co/<int:co_id>/members/<int:membership_id>/invitation", methods=["POST"])
@login_required
def reinvite_member(co_id: int, membership_id: int):
    """A leader makes a fresh invitation link for a member of their CO (shown once)."""
    co = db.get_or_404(CommunityOrganisation, co_id)
    m = db.get_or_404(Membership, membership_id)
    if m.co_id != co.id:
        abort(404)
    require(current_user, "reinvite", m)
    link = None
    if ActionForm().validate_on_submit():
        try:
            token = accounts.new_invitation(
                m.user, by=current_user, days=current_app.config["INVITATION_DAYS"]
            )
        except accounts.AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("communities.members", co_id=co.id))
        db.session.commit()
        link = url_for("auth.accept_invitation", token=token, _external=True)
        flash(
            _(
                "A new invitation link for %(name)s. Earlier links no longer work.",
                name=m.user.name,
            ),
            "success",
        )
    return render_template(
        "communities/members.html",
        co=co,
        members=service.current_members(co.id),
        form=AddMemberForm(formdata=None) if can(current_user, "manage_members", co) else None,
        link=link,
        action_form=ActionForm(),
    )
