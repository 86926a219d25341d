"""A CO's home, its members and its voting rules; the directory of places for staff."""

from flask import current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from consult.auth import service as accounts
from consult.communities import (
    bp,
    registry,  # noqa: F401  (its views attach to the same blueprint)
    service,
)
from consult.communities.forms import AddMemberForm, VotingRulesForm
from consult.communities.models import CommunityOrganisation, Membership, Municipality, Settlement
from consult.core.conditional import by_content
from consult.core.db import utcnow
from consult.core.enums import Gender, MembershipRole, ProblemStatus, ProposalState
from consult.core.forms import load, show_refusal
from consult.core.pages import bounded_count
from consult.core.permissions import can, require
from consult.core.templating import ActionForm
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.negotiation import service as negotiation
from consult.problems.models import Problem
from consult.proposals import lists as proposal_lists


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


#: how many of the newest proposals and open problems the CO's home shows
HOME_NEWEST = 5


@bp.route("/co/<int:co_id>")
@login_required
def home(co_id: int):
    """The CO's home: proposals by state and the newest few, open problems, meetings, unread
    municipal messages. Every section is bounded; each links to its full, paginated list."""
    co = load(CommunityOrganisation, co_id, "view")
    internal = can(current_user, "view_internal", co)
    open_problems = select(Problem).where(
        Problem.co_id == co.id, Problem.status == ProblemStatus.OPEN
    )
    problems = db.session.scalars(
        open_problems.order_by(Problem.created_at.desc(), Problem.id.desc()).limit(HOME_NEWEST)
    ).all()
    proposals = proposal_lists.newest(co, internal=internal, limit=HOME_NEWEST)
    upcoming, recent = [], []
    if internal:
        now = utcnow()
        upcoming = db.session.scalars(
            select(Meeting)
            .where(Meeting.co_id == co.id, Meeting.held_at >= now)
            .order_by(Meeting.held_at, Meeting.id)
            .limit(3)
        ).all()
        recent = db.session.scalars(
            select(Meeting)
            .where(Meeting.co_id == co.id, Meeting.held_at < now)
            .order_by(Meeting.held_at.desc(), Meeting.id.desc())
            .limit(3)
        ).all()
    counts = proposal_lists.state_counts(co, internal=internal)
    page = render_template(
        "communities/home.html",
        co=co,
        internal=internal,
        problems=problems,
        open_problem_count=bounded_count(open_problems),
        proposals=proposals,
        state_counts=[(state, counts[state]) for state in ProposalState if counts.get(state)],
        proposal_count=sum(counts.values()),
        unread=negotiation.unread_counts(current_user, [p.id for p in proposals]),
        unread_total=negotiation.unread_in_co(current_user, co.id),
        upcoming=upcoming,
        recent=recent,
        member_count=service.member_count(co.id),
    )
    return by_content(make_response(page))


@bp.route("/co/<int:co_id>/members", methods=["GET", "POST"])
@login_required
def members(co_id: int):
    co = load(CommunityOrganisation, co_id, "view_members")
    form = AddMemberForm() if can(current_user, "manage_members", co) else None
    link = None
    if form is not None and form.validate_on_submit():
        try:
            user = accounts.create_person(
                form.name.data,
                email=form.email.data,
                phone=form.phone.data,
                gender=Gender(form.gender.data),
                by=current_user,
            )
            service.add_member(co, user, MembershipRole(form.role.data), by=current_user)
            token = accounts.invite(user, current_user, current_app.config["INVITATION_DAYS"])
        except (accounts.AccountError, service.MembershipError) as error:
            db.session.rollback()
            show_refusal(form, error, "phone")
        else:
            db.session.commit()
            link = url_for("auth.accept_invitation", token=token, _external=True)
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
        form=form,
        link=link,
        action_form=ActionForm(),
    )


@bp.route("/co/<int:co_id>/members/<int:membership_id>/leave", methods=["POST"])
@login_required
def end_membership(co_id: int, membership_id: int):
    co = load(CommunityOrganisation, co_id, "manage_members")
    m = db.get_or_404(Membership, membership_id)
    if m.co_id != co.id:
        return redirect(url_for("communities.members", co_id=co.id))
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
