"""A CO's members and its voting rules; the directory of places for staff. (The CO's home,
which shows what other features hold, is assembled in ``consult.main.co_home``.)"""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from consult.auth import service as accounts
from consult.communities import (
    bp,
    registry,  # noqa: F401  (its views attach to the same blueprint)
    service,
)
from consult.communities.forms import AddMemberForm, MemberRoleForm, VotingRulesForm
from consult.communities.models import CommunityOrganisation, Membership, Municipality, Settlement
from consult.core.enums import Gender, MembershipRole
from consult.core.forms import load, show_refusal
from consult.core.permissions import can, require
from consult.core.refusal import Refusal
from consult.core.templating import ActionForm, confirm_page
from consult.extensions import db
from consult.submissions import views as submissions


@bp.route("/places")
@login_required
def directory():
    """Staff: every municipality with its settlements and COs."""
    require(current_user, "view_all")
    municipalities = db.session.scalars(
        select(Municipality).order_by(Municipality.country, Municipality.name)
    ).all()
    co_counts = dict(
        db.session.execute(
            select(Settlement.municipality_id, func.count(CommunityOrganisation.id))
            .join(CommunityOrganisation.settlement)
            .group_by(Settlement.municipality_id)
        ).all()
    )
    return render_template(
        "communities/directory.html", municipalities=municipalities, co_counts=co_counts
    )


@bp.route("/places/municipalities/<int:municipality_id>")
@login_required
def municipality(municipality_id: int):
    m = load(Municipality, municipality_id, "view")
    settlements = db.session.scalars(
        select(Settlement).where(Settlement.municipality_id == m.id).order_by(Settlement.name)
    ).all()
    return render_template("communities/municipality.html", municipality=m, settlements=settlements)


@bp.route("/co/<int:co_id>/members", methods=["GET", "POST"])
@login_required
def members(co_id: int):
    co = load(CommunityOrganisation, co_id, "view_members")
    form = AddMemberForm() if can(current_user, "manage_members", co) else None
    link = None
    if form is not None and form.validate_on_submit():
        again = submissions.repeated(
            form, "membership", lambda _i: url_for("communities.members", co_id=co.id)
        )
        if again is not None:
            return again
        try:
            user, created = accounts.resident_for(
                form.name.data,
                email=form.email.data,
                phone=form.phone.data,
                gender=Gender(form.gender.data),
                by=current_user,
            )
            membership = service.add_member(
                co, user, MembershipRole(form.role.data), by=current_user
            )
            token = None
            if not user.password_hash:  # never set a password: an invitation to do so
                days = current_app.config["INVITATION_DAYS"]
                token = accounts.invite(user, current_user, days)
            submissions.created(form, membership.id)
        except (accounts.AccountError, service.MembershipError) as error:
            db.session.rollback()
            show_refusal(form, error, "phone")
        else:
            db.session.commit()
            if token:
                link = url_for("auth.accept_invitation", token=token, _external=True)
            if not created:
                flash(
                    _(
                        "%(name)s already had an account: they are a member again, with the "
                        "same login.",
                        name=user.name,
                    ),
                    "success",
                )
            if token:
                flash(
                    _(
                        "%(name)s is now a member. Send them the link below to set a password.",
                        name=user.name,
                    ),
                    "success",
                )
            form = AddMemberForm(formdata=None)
    return render_template(
        "communities/members.html",
        co=co,
        members=service.current_members(co.id),
        roles=list(MembershipRole),
        form=form,
        link=link,
        action_form=ActionForm(),
    )


@bp.route("/co/<int:co_id>/members/<int:membership_id>/leave", methods=["GET", "POST"])
@login_required
def end_membership(co_id: int, membership_id: int):
    co = load(CommunityOrganisation, co_id, "manage_members")
    m = db.get_or_404(Membership, membership_id)
    if m.co_id != co.id or m.left_on is not None:
        return redirect(url_for("communities.members", co_id=co.id))
    if request.method == "GET":
        return confirm_page(
            title=_("Remove %(name)s from %(co)s?", name=m.user.name, co=co.name),
            question=_(
                "They stop being a member today: they no longer see the CO's inside pages, "
                "and a ballot they gave in a vote still open is set aside when it closes."
            ),
            consequence=_(
                "Their account is kept: adding the same phone number or e-mail later makes "
                "them a member again."
            ),
            action=url_for("communities.end_membership", co_id=co.id, membership_id=m.id),
            button=_("Remove"),
            cancel=url_for("communities.members", co_id=co.id),
        )
    if ActionForm().validate_on_submit():
        try:
            service.end_membership(m, by=current_user)
        except service.MembershipError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("%(name)s is no longer a member.", name=m.user.name), "success")
    return redirect(url_for("communities.members", co_id=co.id))


@bp.route("/co/<int:co_id>/members/<int:membership_id>/role", methods=["POST"])
@login_required
def change_role(co_id: int, membership_id: int):
    """A leader names another leader, secretary or treasurer, or steps down; audited."""
    co = load(CommunityOrganisation, co_id, "manage_members")
    m = db.get_or_404(Membership, membership_id)
    if m.co_id != co.id or m.left_on is not None:
        return redirect(url_for("communities.members", co_id=co.id))
    form = MemberRoleForm()
    if form.validate_on_submit():
        role = MembershipRole(form.role.data)
        try:
            service.change_role(m, role, by=current_user)
        except Refusal as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("%(name)s is now %(role)s.", name=m.user.name, role=role.label), "success")
    return redirect(url_for("communities.members", co_id=co.id))


@bp.route("/co/<int:co_id>/rules", methods=["GET", "POST"])
@login_required
def rules(co_id: int):
    co = load(CommunityOrganisation, co_id, "edit_rules")
    form = VotingRulesForm(obj=co)
    if form.validate_on_submit():
        service.update_voting_rules(
            co,
            quorum=form.quorum_percent.data,
            threshold=form.threshold_percent.data,
            points=form.priority_points.data,
            by=current_user,
        )
        db.session.commit()
        flash(_("The voting rules are saved. They apply to votes opened from now on."), "success")
        return redirect(url_for("communities.home", co_id=co.id))
    return render_template("communities/rules.html", co=co, form=form)
