"""The municipality's inbox and the negotiation thread of a proposal."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from consult.communities.models import Municipality, Settlement
from consult.core.db import utcnow
from consult.core.enums import MessageKind, ProposalState
from consult.core.permissions import can, require
from consult.extensions import db
from consult.negotiation import bp, service
from consult.negotiation.forms import (
    AcceptForm,
    AcknowledgeForm,
    DeclineForm,
    InboxFilterForm,
    MessageForm,
)
from consult.proposals.models import Proposal
from consult.proposals.service import TransitionRefused

PER_PAGE = 20


@bp.route("/municipalities/<int:municipality_id>/inbox")
@login_required
def inbox(municipality_id: int):
    """Every proposal submitted to the municipality, with how long each waits for an answer."""
    m = db.get_or_404(Municipality, municipality_id)
    require(current_user, "view_inbox", m)
    settlements = db.session.scalars(
        select(Settlement).where(Settlement.municipality_id == m.id).order_by(Settlement.name)
    ).all()
    form = InboxFilterForm(request.args)
    form.settlement.choices = form.settlement.choices[:1] + [
        SelectChoice(str(s.id), s.name) for s in settlements
    ]
    form.validate()
    # A filter that does not validate (an old link, a typed URL) is ignored, not an error.
    state = ProposalState(form.state.data) if form.state.data and not form.state.errors else None
    settlement_id = (
        int(form.settlement.data) if form.settlement.data and not form.settlement.errors else None
    )
    sort = form.sort.data if not form.sort.errors else "newest"
    page = db.paginate(
        service.inbox_query(m, state=state, settlement_id=settlement_id, sort=sort),
        page=request.args.get("page", 1, type=int),
        per_page=PER_PAGE,
        error_out=False,
    )
    now = utcnow()
    filters = {
        k: v
        for k, v in (
            ("state", state.value if state else None),
            ("settlement", settlement_id),
            ("sort", sort if sort != "newest" else None),
        )
        if v
    }
    return render_template(
        "negotiation/inbox.html",
        municipality=m,
        form=form,
        page=page,
        entries=service.inbox_entries(list(page.items), m, current_user, now),
        summary=service.inbox_summary(m, now),
        filters=filters,
    )


@bp.route("/proposals/<int:proposal_id>/thread")
@login_required
def thread(proposal_id: int):
    proposal = db.get_or_404(Proposal, proposal_id)
    require(current_user, "view_thread", proposal)
    # A write on GET, allowed only because it is this reader's own read receipt: it changes
    # nothing anyone else sees, and reloading the page does it again harmlessly.
    service.mark_read(current_user, proposal.id)
    try:
        db.session.commit()
    except IntegrityError:  # the same reader opened the thread twice at once: one receipt wins
        db.session.rollback()
    return _render_thread(proposal)


@bp.route("/proposals/<int:proposal_id>/thread/messages", methods=["POST"])
@login_required
def post_message(proposal_id: int):
    proposal = db.get_or_404(Proposal, proposal_id)
    require(current_user, "write", proposal)
    form = _message_form(proposal)
    if form.validate_on_submit():
        try:
            service.post_message(
                proposal, current_user, MessageKind(form.kind.data), form.body.data
            )
        except (service.NegotiationError, TransitionRefused) as error:
            db.session.rollback()
            form.body.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Your message is posted."), "success")
            return redirect(url_for("negotiation.thread", proposal_id=proposal.id) + "#end")
    return _render_thread(proposal, message_form=form)


@bp.route("/proposals/<int:proposal_id>/thread/acknowledge", methods=["POST"])
@login_required
def acknowledge(proposal_id: int):
    proposal = db.get_or_404(Proposal, proposal_id)
    require(current_user, "acknowledge", proposal)
    form = AcknowledgeForm()
    if form.validate_on_submit():
        try:
            service.acknowledge(proposal, current_user, form.note.data)
        except (service.NegotiationError, TransitionRefused) as error:
            db.session.rollback()
            form.note.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The community is told that the proposal is under review."), "success")
            return redirect(url_for("negotiation.thread", proposal_id=proposal.id))
    return _render_thread(proposal, acknowledge_form=form)


@bp.route("/proposals/<int:proposal_id>/thread/accept", methods=["POST"])
@login_required
def accept(proposal_id: int):
    proposal = db.get_or_404(Proposal, proposal_id)
    require(current_user, "accept", proposal)
    form = AcceptForm()
    if form.validate_on_submit():
        version_id = form.version_id.data
        try:
            service.accept(
                proposal,
                current_user,
                int(version_id) if version_id.isdigit() else None,
                form.note.data,
            )
        except (service.NegotiationError, TransitionRefused) as error:
            db.session.rollback()
            form.note.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The proposal is agreed."), "success")
            return redirect(url_for("negotiation.thread", proposal_id=proposal.id))
    else:
        form.note.errors.extend(form.version_id.errors)
    return _render_thread(proposal, accept_form=form)


@bp.route("/proposals/<int:proposal_id>/thread/decline", methods=["POST"])
@login_required
def decline(proposal_id: int):
    proposal = db.get_or_404(Proposal, proposal_id)
    require(current_user, "decline", proposal)
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            service.decline(proposal, current_user, form.reason.data)
        except (service.NegotiationError, TransitionRefused) as error:
            db.session.rollback()
            form.reason.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("The proposal is declined; the community can read your reason."), "success")
            return redirect(url_for("negotiation.thread", proposal_id=proposal.id))
    return _render_thread(proposal, decline_form=form)


def _message_form(proposal: Proposal) -> MessageForm:
    form = MessageForm()
    form.limit_kinds(service.writable_kinds(current_user, proposal))
    return form


def _render_thread(
    proposal: Proposal,
    *,
    message_form: MessageForm | None = None,
    acknowledge_form: AcknowledgeForm | None = None,
    accept_form: AcceptForm | None = None,
    decline_form: DeclineForm | None = None,
):
    """The thread page; a form given here (with its errors and what was typed) replaces the
    empty one. Only the forms the reader may use are shown."""
    # A form re-rendered after a refusal keeps the user's text; the others start empty.
    fresh = {"formdata": None}
    latest = proposal.latest_version
    if message_form is None and can(current_user, "write", proposal):
        message_form = MessageForm(**fresh)
        message_form.limit_kinds(service.writable_kinds(current_user, proposal))
    if acknowledge_form is None and can(current_user, "acknowledge", proposal):
        acknowledge_form = AcknowledgeForm(**fresh)
    if accept_form is None and can(current_user, "accept", proposal) and latest is not None:
        accept_form = AcceptForm(**fresh)
    if accept_form is not None and latest is not None:
        # Always the version on the page now: after a refusal the officer sees the new terms.
        accept_form.version_id.data = str(latest.id)
    if decline_form is None and can(current_user, "decline", proposal):
        decline_form = DeclineForm(**fresh)
    return render_template(
        "negotiation/thread.html",
        proposal=proposal,
        municipality=proposal.municipality,
        latest=latest,
        messages=service.thread_messages(proposal),
        message_form=message_form,
        acknowledge_form=acknowledge_form,
        accept_form=accept_form,
        decline_form=decline_form,
        officer_actions=any((acknowledge_form, accept_form, decline_form)),
    )
