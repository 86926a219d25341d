"""Priority rounds: open, give points, record a show of hands, close, see the ranking."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from consult.communities.models import CommunityOrganisation
from consult.core import localtime
from consult.core.formatting import local_datetime
from consult.core.forms import load, show_refusal
from consult.core.ids import id_arg
from consult.core.permissions import can, require
from consult.core.templating import ActionForm, confirm_page
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.priorities import bp, counting, service
from consult.priorities.forms import OpenRoundForm, ballot_form, tally_form
from consult.problems.models import PriorityRound
from consult.submissions import views as submissions


@bp.app_context_processor
def _home_helpers():
    return {"current_priorities": _current_priorities}


def _current_priorities(co: CommunityOrganisation) -> dict:
    """For the CO home: the open round (with turnout so far) and the latest result's top 5."""
    open_round, closed = service.open_and_latest_closed(co.id)
    return {
        "open": open_round,
        "open_turnout": counting.turnout(open_round) if open_round else None,
        "closed": closed,
        "top": counting.still_to_solve(closed)[:5] if closed else [],
    }


@bp.route("/co/<int:co_id>/priorities")
@login_required
def index(co_id: int):
    co = load(CommunityOrganisation, co_id, "view_internal")
    return render_template("priorities/index.html", co=co, rounds=service.rounds_of(co.id))


@bp.route("/co/<int:co_id>/priorities/new", methods=["GET", "POST"])
@login_required
def new(co_id: int):
    co = load(CommunityOrganisation, co_id, "open_priority_round")
    form = OpenRoundForm(points_per_member=co.priority_points, max_per_problem=co.priority_points)
    problems = service.open_problems(co)
    if form.validate_on_submit():
        try:
            rnd = service.open_round(
                co,
                by=current_user,
                title=form.title.data,
                points_per_member=form.points_per_member.data,
                max_per_problem=form.max_per_problem.data,
                closes_at=form.closing_time(co.municipality.timezone),
            )
        except (service.PriorityError, localtime.WallTimeRefused) as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The priority round is open. Members can now give their points."), "success")
            return redirect(url_for("priorities.show", round_id=rnd.id))
    return render_template("priorities/new.html", co=co, form=form, problems=problems)


def _show(rnd: PriorityRound, form=None, status: int = 200):
    """The round's page: the member's ballot while open, the standings when allowed."""
    co = rnd.organisation
    problems = service.round_problems(rnd)
    membership = current_user.membership_in(rnd.co_id)
    on_roll = counting.on_roll(rnd, membership)
    if form is None and on_roll and can(current_user, "give_points", rnd):
        form = ballot_form(rnd, problems, service.ballot_of(rnd, membership))
    show_standings = can(current_user, "view_standings", rnd)
    return (
        render_template(
            "priorities/show.html",
            co=co,
            rnd=rnd,
            problems=problems,
            form=form,
            accepting=service.is_accepting(rnd),
            not_on_roll=membership is not None and not on_roll and rnd.closed_at is None,
            has_ballot=bool(membership and service.ballot_of(rnd, membership)),
            standings=counting.standings(rnd) if show_standings else None,
            turnout=counting.turnout(rnd) if show_standings else None,
            meetings=service.tallied_meetings(rnd) if show_standings else [],
            genders=counting.GENDERS,
        ),
        status,
    )


@bp.route("/priorities/<int:round_id>")
@login_required
def show(round_id: int):
    rnd = load(PriorityRound, round_id, "view")
    return _show(rnd)


@bp.route("/priorities/<int:round_id>/ballot", methods=["POST"])
@login_required
def ballot(round_id: int):
    # the round with its problems in one statement (a ballot is counted in a few)
    rnd = db.session.get(PriorityRound, round_id, options=[joinedload(PriorityRound.problems)])
    if rnd is None:
        abort(404)
    require(current_user, "view", rnd)
    if current_user.membership_in(rnd.co_id) is not None and not service.is_accepting(rnd):
        # say why rather than 403: the member may simply have kept the page open too long
        if rnd.closed_at is not None:
            flash(_("This round is closed; points can no longer be given."), "error")
        else:
            flash(_("The time to give points is over."), "error")
        return redirect(url_for("priorities.show", round_id=rnd.id))
    require(current_user, "give_points", rnd)
    membership = current_user.membership_in(rnd.co_id)
    form = ballot_form(rnd, list(rnd.problems), {})
    if not form.validate_on_submit():
        return _show(rnd, form)
    again = submissions.repeated(
        form, "points", lambda i: url_for("priorities.show", round_id=i), object_id=rnd.id
    )
    if again is not None:
        return again
    try:
        given = service.give_points(rnd, membership, form.points())
    except service.PriorityError as error:
        db.session.rollback()
        show_refusal(form, error)
        return _show(rnd, form)
    db.session.commit()
    if given:
        flash(
            _(
                "Your %(n)d points are saved. You can change them until the round closes.",
                n=sum(given.values()),
            ),
            "success",
        )
    else:
        flash(_("You have taken back your points."), "success")
    return redirect(url_for("priorities.show", round_id=round_id))  # rnd expired at the commit


def _meeting_choices(rnd: PriorityRound, co: CommunityOrganisation):
    """The meetings already held: one still to come cannot have counted any hands."""
    meetings = service.tally_meetings(rnd)
    tz = co.municipality.timezone
    return [
        (m, _("%(kind)s, %(when)s", kind=m.kind.label, when=local_datetime(m.held_at, tz)))
        for m in meetings
    ]


@bp.route("/priorities/<int:round_id>/tally", methods=["GET", "POST"])
@login_required
def tally(round_id: int):
    rnd = load(PriorityRound, round_id, "record_tally")
    co = rnd.organisation
    problems = service.round_problems(rnd)
    meetings = _meeting_choices(rnd, co)
    chosen = request.args.get("meeting_id", type=id_arg)
    current = service.tally_of(rnd, chosen) if chosen else {}
    form = tally_form(problems, meetings, current, meeting_id=chosen)
    if form.validate_on_submit():
        meeting = db.session.get(Meeting, form.meeting_id.data)
        if meeting is None:
            abort(404)
        try:
            service.record_tally(rnd, meeting, form.counts(), current_user)
        except service.PriorityError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The show of hands is recorded."), "success")
            return redirect(url_for("priorities.show", round_id=rnd.id))
    return render_template(
        "priorities/tally.html",
        co=co,
        rnd=rnd,
        form=form,
        has_meetings=bool(meetings),
        tallied=service.tallied_meetings(rnd),
    )


@bp.route("/priorities/<int:round_id>/close", methods=["GET", "POST"])
@login_required
def close(round_id: int):
    rnd = load(PriorityRound, round_id, "view")
    if rnd.closed_at is not None:
        flash(_("This round is already closed."), "info")
        return redirect(url_for("priorities.show", round_id=rnd.id))
    require(current_user, "close", rnd)
    if request.method == "GET":
        return confirm_page(
            title=_("Close “%(title)s”?", title=rnd.title),
            question=_(
                "The ranking is fixed from the points and show-of-hands counts recorded now; "
                "nobody can give points after this."
            ),
            consequence=_("This cannot be undone."),
            action=url_for("priorities.close", round_id=rnd.id),
            button=_("Close the round"),
            cancel=url_for("priorities.show", round_id=rnd.id),
        )
    if ActionForm().validate_on_submit():
        try:
            service.close_round(rnd, by=current_user)
        except service.PriorityError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("The round is closed. The ranking is final."), "success")
    return redirect(url_for("priorities.show", round_id=rnd.id))
