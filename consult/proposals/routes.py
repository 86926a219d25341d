"""Proposals: drafting, the member vote, show-of-hands tallies, submission and after."""

from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from consult.audit.service import trail_for_proposal
from consult.auth.models import User
from consult.auth.service import safe_next
from consult.communities.models import CommunityOrganisation
from consult.communities.service import co_page_version
from consult.core import localtime
from consult.core.conditional import answer_if_unchanged, page_tag, tag_response, versioned
from consult.core.db import utcnow
from consult.core.enums import ProposalState, VoteChoice, VoteResult
from consult.core.fields import set_currency
from consult.core.formatting import local_datetime
from consult.core.forms import load, show_refusal
from consult.core.ids import id_arg
from consult.core.permissions import can, require
from consult.core.refusal import Refusal
from consult.core.templating import ActionForm, confirm_page
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.proposals import (
    bp,
    lists,
    service,
    versions,  # noqa: F401  (its views attach to the same blueprint)
)
from consult.proposals.forms import OpenVoteForm, ProposalFilterForm, ProposalForm, WithdrawForm
from consult.proposals.lists import proposal_page_version
from consult.proposals.models import Proposal, ProposalVersion
from consult.submissions import views as submissions
from consult.votes import service as votes
from consult.votes.forms import TallyForm, VoteForm
from consult.votes.models import Vote, VoteTally

#: audit detail left off the page: how one member voted is not for the leader to see
_SECRET_DETAIL = {"vote.cast": {"choice"}, "vote.changed": {"choice"}}


def _load(proposal_id: int, action: str) -> Proposal:
    proposal = db.get_or_404(Proposal, proposal_id)
    require(current_user, action, proposal)
    return proposal


def _back(proposal: Proposal, anchor: str | None = None):
    return redirect(url_for("proposals.show", proposal_id=proposal.id, _anchor=anchor))


def _expired() -> None:
    flash(_("Nothing was changed: the page had expired. Please try again."), "error")


def _problem_choices(form: ProposalForm, problems) -> dict:
    form.problems.choices = [SelectChoice(pr.id, pr.title) for pr in problems]
    return {pr.id: pr for pr in problems}


# --- the CO's list ---------------------------------------------------------------------------

PER_PAGE = 20


@bp.route("/co/<int:co_id>/proposals")
@login_required
@versioned("co", co_page_version, "co_id")
def index(co_id: int):
    """All the CO's proposals the reader may see, newest first, a page at a time."""
    not_modified = answer_if_unchanged(page_tag())
    if not_modified is not None:
        return not_modified
    co = load(CommunityOrganisation, co_id, "view")
    internal = can(current_user, "view_internal", co)
    filters = ProposalFilterForm(request.args)
    # An unknown state in the query string just means "no filter", never an error.
    state = ProposalState(filters.state.data) if filters.validate() and filters.state.data else None
    page = lists.page(
        co,
        internal=internal,
        state=state,
        after=request.args.get("after"),
        before=request.args.get("before"),
        per_page=PER_PAGE,
    )
    return tag_response(
        render_template(
            "proposals/index.html",
            co=co,
            page=page,
            filters=filters,
            args={"state": state.value} if state else {},
        )
    )


# --- drafting -------------------------------------------------------------------------------


@bp.route("/co/<int:co_id>/proposals/new", methods=["GET", "POST"])
@login_required
def new(co_id: int):
    co = load(CommunityOrganisation, co_id, "draft_proposal")
    form = ProposalForm()
    set_currency(form, co.municipality.currency)
    problems = _problem_choices(form, service.answerable_problems(co.id))
    if form.validate_on_submit():
        again = submissions.repeated(
            form, "proposal", lambda i: url_for("proposals.show", proposal_id=i)
        )
        if again is not None:
            return again
        chosen = [problems[i] for i in form.problems.data or []]
        try:
            proposal = service.draft_proposal(co, current_user, form.terms(), chosen)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            submissions.created(form, proposal.id)
            db.session.commit()
            flash(_("The draft is saved. Open a vote when the members are ready."), "success")
            return _back(proposal)
    return render_template(
        "proposals/form.html", form=form, co=co, proposal=None, currency=co.municipality.currency
    )


@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int):
    proposal = _load(proposal_id, "lead")
    if proposal.state != ProposalState.DRAFT:
        flash(_("Only a draft can be edited. Revise the proposal first."), "error")
        return _back(proposal)
    form = ProposalForm(obj=proposal)
    set_currency(form, proposal.currency)
    problems = _problem_choices(form, service.answerable_problems(proposal.co_id, proposal))
    if request.method == "GET":
        form.problems.data = [pr.id for pr in proposal.problems]
    if form.validate_on_submit():
        chosen = [problems[i] for i in form.problems.data or []]
        try:
            changes = service.update_proposal(proposal, current_user, form.terms(), chosen)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The changes are saved.") if changes else _("Nothing was changed."), "success")
            return _back(proposal)
    return render_template(
        "proposals/form.html",
        form=form,
        co=proposal.organisation,
        proposal=proposal,
        currency=proposal.currency,
    )


# --- the proposal page, its versions and its trail ------------------------------------------


@bp.route("/proposals/<int:proposal_id>")
@login_required
@versioned("proposal", proposal_page_version, "proposal_id")
def show(proposal_id: int):
    not_modified = answer_if_unchanged(page_tag())
    if not_modified is not None:
        return not_modified
    proposal = _load(proposal_id, "view")
    now = utcnow()
    rnd = service.current_round(proposal)
    vote = {"round": rnd}
    if rnd is not None:
        membership = current_user.membership_in(proposal.co_id)
        counts_shown = can(current_user, "view_vote_counts", proposal)
        in_time = proposal.state == ProposalState.VOTING and now < rnd.closes_at
        on_roll = votes.on_roll(rnd, membership)
        vote.update(
            in_time=in_time,
            not_on_roll=membership is not None and not on_roll,
            can_vote=in_time and on_roll and can(current_user, "ballot", proposal),
            mine=membership
            and db.session.scalar(
                select(Vote.choice).where(
                    Vote.round_id == rnd.id, Vote.membership_id == membership.id
                )
            ),
            live=votes.breakdown(rnd) if counts_shown else None,
            early=now < rnd.closes_at,
            form=VoteForm(formdata=None),
        )
    closed = [
        (r, votes.breakdown(r))
        for r in reversed(proposal.vote_rounds)
        if r.closed_at is not None and r.result is not None
    ]
    page = render_template(
        "proposals/show.html",
        p=proposal,
        co=proposal.organisation,
        vote=vote,
        closed=closed,
        choices=list(VoteChoice),
        genders=votes.GENDERS,
        results=VoteResult,
    )
    return tag_response(page)


@bp.route("/proposals/<int:proposal_id>/versions/<int:number>")
@login_required
def version(proposal_id: int, number: int):
    proposal = _load(proposal_id, "view")
    v = db.first_or_404(
        select(ProposalVersion).where(
            ProposalVersion.proposal_id == proposal.id, ProposalVersion.number == number
        )
    )
    return render_template("proposals/version.html", p=proposal, v=v)


@bp.route("/proposals/<int:proposal_id>/audit")
@login_required
def audit(proposal_id: int):
    proposal = _load(proposal_id, "view_audit")
    events = trail_for_proposal(proposal.id)
    ids = {e.actor_id for e in events if e.actor_id}
    people = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    )
    rows = [
        (
            e,
            people.get(e.actor_id),
            {
                k: _as_shown(v, proposal.municipality.timezone)
                for k, v in (e.detail or {}).items()
                if k not in _SECRET_DETAIL.get(e.action, ()) and v is not None
            },
        )
        for e in events
    ]
    return render_template("proposals/audit.html", p=proposal, rows=rows)


def _as_shown(value, timezone: str):
    """An audit detail as the page shows it: an instant (kept as ISO text) on the
    municipality's clock without seconds, like every other time on the site."""
    if isinstance(value, dict):
        return {k: _as_shown(v, timezone) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_shown(v, timezone) for v in value]
    if isinstance(value, str) and len(value) > 19 and value[10] in "T ":
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
        if instant.tzinfo is not None:
            return local_datetime(instant, timezone)
    return value


# --- the member vote ------------------------------------------------------------------------


@bp.route("/proposals/<int:proposal_id>/vote/open", methods=["GET", "POST"])
@login_required
def open_vote(proposal_id: int):
    proposal = _load(proposal_id, "lead")
    try:
        service.check_transition(proposal, "open_vote", current_user)
    except Refusal as error:
        flash(str(error), "error")
        return _back(proposal)
    tz = proposal.municipality.timezone
    form = OpenVoteForm()
    if request.method == "GET":
        form.closes_at.data = localtime.wall_time_in(7, tz)
    if form.validate_on_submit():
        try:
            closes_at = localtime.from_local(form.closes_at.data, tz, "closes_at")
            service.open_vote(proposal, current_user, closes_at)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The vote is open. Members have been told."), "success")
            return _back(proposal, "vote")
    co = proposal.organisation
    return render_template("proposals/open_vote.html", p=proposal, co=co, form=form)


@bp.route("/proposals/<int:proposal_id>/vote", methods=["POST"])
@login_required
def vote(proposal_id: int):
    proposal = _load(proposal_id, "ballot")
    form = VoteForm()
    if not form.validate_on_submit():
        _expired()
        return _back(proposal, "vote")
    # where to go next, worked out before the commit expires the proposal (no reload)
    here = _back(proposal, "vote").location
    back = safe_next(request.form.get("next")) or here
    again = submissions.repeated(form, "ballot", lambda _i: here, object_id=proposal.id)
    if again is not None:
        return again
    choice = VoteChoice(form.choice.data)
    try:
        outcome = service.cast_vote(proposal, current_user.membership_in(proposal.co_id), choice)
    except Refusal as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(form.outcome_message(outcome), "success")
    return redirect(back)  # back to the vote, or to the CO home's "Needs you now"


@bp.route("/proposals/<int:proposal_id>/tally", methods=["GET", "POST"])
@login_required
def tally(proposal_id: int):
    proposal = _load(proposal_id, "lead")
    rnd = service.current_round(proposal)
    if rnd is None or proposal.state != ProposalState.VOTING:
        flash(_("There is no open vote on this proposal."), "error")
        return _back(proposal)
    tz = proposal.municipality.timezone
    meetings = votes.tally_meetings(proposal, rnd)
    form = TallyForm()
    form.meeting_id.choices = [
        SelectChoice(m.id, f"{m.kind.label} · {local_datetime(m.held_at, tz, 'short')}")
        for m in meetings
    ]
    existing = db.session.scalars(
        select(VoteTally).where(VoteTally.round_id == rnd.id).order_by(VoteTally.id)
    ).all()
    if request.method == "GET" and request.args.get("meeting", type=id_arg):
        # correcting a tally: start from what was recorded
        for t in existing:
            if t.meeting_id == request.args.get("meeting", type=id_arg):
                form.process(obj=t)
                form.meeting_id.data = t.meeting_id
    if form.validate_on_submit():
        meeting = db.session.get(Meeting, form.meeting_id.data)
        try:
            service.record_tally(proposal, meeting, current_user, form.counts())
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The show of hands is recorded."), "success")
            return _back(proposal, "vote")
    return render_template(
        "proposals/tally.html",
        p=proposal,
        co=proposal.organisation,
        form=form,
        meetings=meetings,
        existing=existing,
        tz=tz,
    )


@bp.route("/proposals/<int:proposal_id>/vote/close", methods=["GET", "POST"])
@login_required
def close_vote(proposal_id: int):
    proposal = _load(proposal_id, "lead")
    if request.method == "GET":
        return confirm_page(
            title=_("Close the vote on “%(title)s”?", title=proposal.title),
            question=_(
                "The result is fixed from the ballots and show-of-hands counts recorded now; "
                "nobody can vote after this."
            ),
            consequence=_("This cannot be undone."),
            action=url_for("proposals.close_vote", proposal_id=proposal.id),
            button=_("Close the vote"),
            cancel=url_for("proposals.show", proposal_id=proposal.id, _anchor="vote"),
        )
    if not ActionForm().validate_on_submit():
        _expired()
        return _back(proposal, "vote")
    try:
        rnd = service.close_vote(proposal, current_user)
    except Refusal as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The vote is closed: %(result)s.", result=rnd.result.label), "success")
    return _back(proposal, "vote")


# --- submission, revision, withdrawal -------------------------------------------------------


@bp.route("/proposals/<int:proposal_id>/submit", methods=["GET", "POST"])
@login_required
def submit(proposal_id: int):
    proposal = _load(proposal_id, "lead")
    if request.method == "GET":
        return confirm_page(
            title=_(
                "Submit “%(title)s” to %(m)s?", title=proposal.title, m=proposal.municipality.name
            ),
            question=_(
                "These terms are frozen as a version and sent to the municipality's officers."
            ),
            consequence=_("A submitted version cannot be changed or taken back."),
            action=url_for("proposals.submit", proposal_id=proposal.id),
            button=_("Submit"),
            cancel=url_for("proposals.show", proposal_id=proposal.id),
        )
    if not ActionForm().validate_on_submit():
        _expired()
        return _back(proposal)
    try:
        v = service.submit(proposal, current_user)
    except Refusal as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(
            _(
                "Submitted to %(municipality)s as version %(n)d.",
                municipality=proposal.municipality.name,
                n=v.number,
            ),
            "success",
        )
    return _back(proposal)


@bp.route("/proposals/<int:proposal_id>/revise", methods=["POST"])
@login_required
def revise(proposal_id: int):
    proposal = _load(proposal_id, "lead")
    if not ActionForm().validate_on_submit():
        _expired()
        return _back(proposal)
    try:
        service.revise(proposal, current_user)
    except Refusal as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The proposal is a draft again: edit it, then open a new vote."), "success")
    return _back(proposal)


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(proposal_id: int):
    proposal = _load(proposal_id, "lead")
    try:
        service.check_transition(proposal, "withdraw", current_user)
    except Refusal as error:
        flash(str(error), "error")
        return _back(proposal)
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            service.withdraw(proposal, current_user, form.reason.data)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The proposal is withdrawn."), "success")
            return _back(proposal)
    return render_template(
        "proposals/withdraw.html", p=proposal, co=proposal.organisation, form=form
    )
