"""The negotiation thread of a proposal and its counter-offers (the inbox is in inbox.py)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from consult.auth.service import safe_next
from consult.core import localtime
from consult.core.conditional import answer_if_unchanged, page_tag, tag_response, versioned
from consult.core.db import utcnow
from consult.core.enums import (
    CounterOfferStatus,
    MessageKind,
    VoteChoice,
    VoteSubject,
)
from consult.core.fields import set_currency
from consult.core.formatting import local_datetime
from consult.core.forms import load, show_refusal
from consult.core.ids import id_arg
from consult.core.permissions import can, require
from consult.core.refusal import Refusal
from consult.core.templating import ActionForm, confirm_page
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.negotiation import (
    bp,
    inbox,  # noqa: F401  (its view attaches to the same blueprint)
    offers,
    service,
)
from consult.negotiation.forms import (
    AcceptForm,
    AcknowledgeForm,
    CounterOfferForm,
    DeclineForm,
    MessageForm,
    OfferAcceptForm,
    OfferRejectForm,
    OfferVoteForm,
    ReadForm,
)
from consult.negotiation.models import Message
from consult.proposals.lists import proposal_page_version
from consult.proposals.models import Proposal
from consult.submissions import views as submissions
from consult.votes import service as votes
from consult.votes.forms import TallyForm, VoteForm
from consult.votes.models import Vote


@bp.route("/proposals/<int:proposal_id>/thread")
@login_required
@versioned("proposal", proposal_page_version, "proposal_id")
def thread(proposal_id: int):
    not_modified = answer_if_unchanged(page_tag())
    if not_modified is not None:
        return not_modified
    proposal = load(Proposal, proposal_id, "view_thread")
    # Read-only: the read receipt is a POST the page sends (see ``read``).
    return tag_response(_render_thread(proposal))


@bp.route("/proposals/<int:proposal_id>/thread/read", methods=["POST"])
@login_required
def read(proposal_id: int):
    """The reader's receipt: they have seen the thread up to the message ``up_to``. The page
    sends it by itself (``static/js/read.js``); without JavaScript it is a button."""
    proposal = load(Proposal, proposal_id, "view_thread")
    form = ReadForm()
    if form.validate_on_submit():
        service.mark_read(current_user, proposal.id, form.up_to.data)
        try:
            db.session.commit()
        except IntegrityError:  # the same reader sent two receipts at once: one wins
            db.session.rollback()
    if request.headers.get("X-Requested-With") == "fetch":
        return "", 204
    return _back(proposal)


@bp.route("/proposals/<int:proposal_id>/thread/messages", methods=["POST"])
@login_required
def post_message(proposal_id: int):
    proposal = load(Proposal, proposal_id, "write")
    form = _message_form(proposal)
    if form.validate_on_submit():
        again = submissions.repeated(
            form,
            "message",
            lambda _i: url_for("negotiation.thread", proposal_id=proposal.id) + "#end",
        )
        if again is not None:
            return again
        try:
            message = service.post_message(
                proposal,
                current_user,
                MessageKind(form.kind.data),
                form.body.data,
                uploads=form.files.uploads,
            )
            # who answers in the thread has read it: no receipt to send for what came before
            service.mark_read(current_user, proposal.id, message.id)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error, "body")
        else:
            submissions.created(form, message.id)
            db.session.commit()
            flash(_("Your message is posted."), "success")
            return redirect(url_for("negotiation.thread", proposal_id=proposal.id) + "#end")
    return _render_thread(proposal, message_form=form)


@bp.route("/proposals/<int:proposal_id>/thread/acknowledge", methods=["POST"])
@login_required
def acknowledge(proposal_id: int):
    proposal = load(Proposal, proposal_id, "acknowledge")
    form = AcknowledgeForm()
    if form.validate_on_submit():
        try:
            service.acknowledge(proposal, current_user, form.note.data)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error, "note")
        else:
            db.session.commit()
            flash(_("The community is told that the proposal is under review."), "success")
            return redirect(url_for("negotiation.thread", proposal_id=proposal.id))
    return _render_thread(proposal, acknowledge_form=form)


@bp.route("/proposals/<int:proposal_id>/thread/accept", methods=["POST"])
@login_required
def accept(proposal_id: int):
    proposal = load(Proposal, proposal_id, "accept")
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
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error, "note")
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
    proposal = load(Proposal, proposal_id, "decline")
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            service.decline(proposal, current_user, form.reason.data)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error, "reason")
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
    counter_form: CounterOfferForm | None = None,
    offer_forms: dict | None = None,
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
    if counter_form is None and latest is not None and can(current_user, "counter_offer", proposal):
        # Starts from the latest version's terms: the officer changes only what differs.
        counter_form = CounterOfferForm(**fresh)
        set_currency(counter_form, proposal.currency)
        counter_form.municipal_share.data = latest.amount_requested
        counter_form.community_cash.data = latest.community_cash
        counter_form.community_labour.data = latest.community_labour
        counter_form.timeline.data = latest.timeline
    page = service.thread_page(
        proposal,
        earlier_than=request.args.get("after"),
        later_than=request.args.get("before"),
    )
    messages = list(reversed(page.items))  # oldest first on the page
    waiting = offers.open_offer(proposal)
    unread = service.unread_counts(current_user, [proposal.id]).get(proposal.id, 0)
    read_form = None
    if unread and messages:
        read_form = ReadForm(formdata=None, up_to=messages[-1].id)
    return render_template(
        "negotiation/thread.html",
        proposal=proposal,
        municipality=proposal.municipality,
        latest=latest,
        versions=proposal.versions,
        messages=messages,
        page=page,
        message_count=service.message_count(proposal),
        read_form=read_form,
        unread=unread,
        files=service.message_attachments(messages),
        diffs={
            m.id: offers.offer_diff(m)
            for m in [*messages, *([waiting] if waiting and waiting not in messages else [])]
            if m.kind == MessageKind.COUNTER_OFFER and m.version is not None
        },
        clock=service.response_clock(proposal, utcnow()),
        offer=_offer_panel(proposal, waiting, offer_forms or {}),
        message_form=message_form,
        acknowledge_form=acknowledge_form,
        accept_form=accept_form,
        decline_form=decline_form,
        counter_form=counter_form,
        officer_actions=any((acknowledge_form, accept_form, decline_form, counter_form)),
    )


def _offer_panel(proposal: Proposal, offer: Message | None, forms: dict) -> dict | None:
    """What the page shows under the counter-offer that waits for the community: the
    leader's answer forms, or the members' vote (a form given in ``forms`` keeps its errors)."""
    if offer is None:
        return None
    fresh = {"formdata": None}
    panel = {"message": offer, "round": None}
    if can(current_user, "accept_offer", offer):
        panel["accept"] = forms.get("accept") or OfferAcceptForm(**fresh)
        panel["reject"] = forms.get("reject") or OfferRejectForm(**fresh)
    if can(current_user, "put_offer_to_vote", offer):
        vote_form = forms.get("vote") or OfferVoteForm(**fresh)
        if vote_form.closes_at.data is None:
            vote_form.closes_at.data = localtime.wall_time_in(7, proposal.municipality.timezone)
        panel["vote"] = vote_form
    if offer.offer_status == CounterOfferStatus.IN_VOTE:
        rnd = offers.offer_round(offer)
        membership = current_user.membership_in(proposal.co_id)
        panel.update(
            round=rnd,
            in_time=rnd is not None and utcnow() < rnd.closes_at,
            can_vote=can(current_user, "vote_on_offer", offer)
            and rnd is not None
            and votes.on_roll(rnd, membership),
            not_on_roll=membership is not None
            and rnd is not None
            and not votes.on_roll(rnd, membership),
            mine=membership
            and rnd
            and db.session.scalar(
                select(Vote.choice).where(
                    Vote.round_id == rnd.id, Vote.membership_id == membership.id
                )
            ),
            ballot=VoteForm(**fresh),
            choices=list(VoteChoice),
            can_close=can(current_user, "close_offer_vote", offer),
            can_tally=can(current_user, "tally_offer_vote", offer),
            # hands counted so far are running totals: only for those who see the counts
            tallies=votes.round_tallies(rnd)
            if rnd is not None and can(current_user, "view_vote_counts", proposal)
            else [],
        )
    return panel


@bp.app_template_global()
def threads_unread(proposals) -> dict[int, int]:
    """Unread messages by proposal id, for a page of proposals (the CO's list)."""
    return service.unread_counts(current_user, [p.id for p in proposals])


@bp.app_template_global()
def thread_unread(proposal: Proposal) -> int | None:
    """Messages in ``proposal``'s thread the reader has not read; None when they may not see
    the thread (so the proposal page, in a lower feature, need not import this one)."""
    if not can(current_user, "view_thread", proposal):
        return None
    return service.unread_counts(current_user, [proposal.id]).get(proposal.id, 0)


def _back(proposal: Proposal, anchor: str = "end"):
    return redirect(url_for("negotiation.thread", proposal_id=proposal.id, _anchor=anchor))


# --- counter-offers -------------------------------------------------------------------------


@bp.route("/proposals/<int:proposal_id>/thread/counter-offer", methods=["POST"])
@login_required
def counter_offer(proposal_id: int):
    proposal = load(Proposal, proposal_id, "counter_offer")
    form = CounterOfferForm()
    set_currency(form, proposal.currency)
    if form.validate_on_submit():
        again = submissions.repeated(
            form,
            "counter_offer",
            lambda _i: url_for("negotiation.thread", proposal_id=proposal.id) + "#end",
        )
        if again is not None:
            return again
        try:
            offer = offers.counter_offer(
                proposal,
                current_user,
                municipal_share=form.municipal_share.data,
                community_cash=form.community_cash.data,
                community_labour=form.community_labour.data,
                scope=form.scope.data,
                timeline=form.timeline.data,
                body=form.body.data,
                uploads=form.files.uploads,
            )
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error, "municipal_share")
        else:
            submissions.created(form, offer.id)
            db.session.commit()
            flash(_("Your counter-offer is sent to the community."), "success")
            return _back(proposal)
    return _render_thread(proposal, counter_form=form)


def _load_offer(proposal_id: int, message_id: int, action: str) -> tuple[Proposal, Message]:
    proposal = db.get_or_404(Proposal, proposal_id)
    offer = db.get_or_404(Message, message_id)
    if offer.proposal_id != proposal.id:
        abort(404)
    require(current_user, action, offer)
    return proposal, offer


@bp.route("/proposals/<int:proposal_id>/thread/offers/<int:message_id>/accept", methods=["POST"])
@login_required
def accept_offer(proposal_id: int, message_id: int):
    proposal, offer = _load_offer(proposal_id, message_id, "answer_offer")
    form = OfferAcceptForm()
    if form.validate_on_submit():
        try:
            version = offers.accept_counter_offer(proposal, current_user, offer, form.note.data)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error, "note")
        else:
            db.session.commit()
            flash(
                _("The counter-offer is accepted: its terms are version %(n)d.", n=version.number),
                "success",
            )
            return _back(proposal)
    return _render_thread(proposal, offer_forms={"accept": form})


@bp.route("/proposals/<int:proposal_id>/thread/offers/<int:message_id>/reject", methods=["POST"])
@login_required
def reject_offer(proposal_id: int, message_id: int):
    proposal, offer = _load_offer(proposal_id, message_id, "answer_offer")
    form = OfferRejectForm()
    if form.validate_on_submit():
        try:
            offers.reject_counter_offer(proposal, current_user, offer, form.reason.data)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error, "reason")
        else:
            db.session.commit()
            flash(_("The counter-offer is rejected; the municipality can read why."), "success")
            return _back(proposal)
    return _render_thread(proposal, offer_forms={"reject": form})


@bp.route("/proposals/<int:proposal_id>/thread/offers/<int:message_id>/vote/open", methods=["POST"])
@login_required
def open_offer_vote(proposal_id: int, message_id: int):
    proposal, offer = _load_offer(proposal_id, message_id, "answer_offer")
    form = OfferVoteForm()
    if form.validate_on_submit():
        tz = proposal.municipality.timezone
        try:
            closes_at = localtime.from_local(form.closes_at.data, tz, "closes_at")
            offers.put_counter_offer_to_vote(proposal, current_user, offer, closes_at)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error, "closes_at")
        else:
            db.session.commit()
            flash(_("The members can now vote on the counter-offer."), "success")
            return _back(proposal, f"m{offer.id}")
    return _render_thread(proposal, offer_forms={"vote": form})


@bp.route("/proposals/<int:proposal_id>/thread/offers/<int:message_id>/vote", methods=["POST"])
@login_required
def offer_ballot(proposal_id: int, message_id: int):
    # the proposal and its offer in one statement (a ballot is counted in a few)
    found = db.session.execute(
        select(Proposal, Message)
        .outerjoin(Message, (Message.id == message_id) & (Message.proposal_id == Proposal.id))
        .where(Proposal.id == proposal_id)
    ).first()
    if found is None:
        abort(404)
    proposal, offer = found
    require(current_user, "ballot", proposal)
    if offer is None:
        abort(404)
    form = VoteForm()
    here = _back(proposal, f"m{offer.id}").location
    if not form.validate_on_submit():
        flash(_("Nothing was changed: the page had expired. Please try again."), "error")
        return redirect(here)
    back = safe_next(request.form.get("next")) or here  # or the CO home's "Needs you now"
    again = submissions.repeated(form, "offer_ballot", lambda _i: here, object_id=offer.id)
    if again is not None:
        return again
    choice = VoteChoice(form.choice.data)
    try:
        outcome = offers.cast_offer_vote(proposal, current_user, offer, choice)
    except Refusal as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(form.outcome_message(outcome), "success")
    return redirect(back)


@bp.route(
    "/proposals/<int:proposal_id>/thread/offers/<int:message_id>/vote/close",
    methods=["GET", "POST"],
)
@login_required
def close_offer_vote(proposal_id: int, message_id: int):
    proposal, offer = _load_offer(proposal_id, message_id, "answer_offer")
    if request.method == "GET":
        return confirm_page(
            title=_("Close the members' vote on the counter-offer?"),
            question=_(
                "The result is fixed from the ballots and show-of-hands counts recorded now "
                "and answers the municipality: approved accepts the counter-offer, anything "
                "else rejects it."
            ),
            consequence=_("This cannot be undone."),
            action=url_for(
                "negotiation.close_offer_vote", proposal_id=proposal.id, message_id=offer.id
            ),
            button=_("Close the vote and answer the municipality"),
            cancel=url_for("negotiation.thread", proposal_id=proposal.id, _anchor=f"m{offer.id}"),
        )
    if not ActionForm().validate_on_submit():
        flash(_("Nothing was changed: the page had expired. Please try again."), "error")
        return _back(proposal, f"m{offer.id}")
    try:
        rnd, version = offers.close_offer_vote(proposal, current_user, offer)
    except Refusal as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        if version is not None:
            flash(
                _(
                    "The members approved the counter-offer: its terms are version %(n)d.",
                    n=version.number,
                ),
                "success",
            )
        else:
            flash(
                _(
                    "The vote is closed: %(result)s. The counter-offer is rejected.",
                    result=rnd.result.label,
                ),
                "success",
            )
    return _back(proposal)


@bp.route(
    "/proposals/<int:proposal_id>/thread/offers/<int:message_id>/tally", methods=["GET", "POST"]
)
@login_required
def offer_tally(proposal_id: int, message_id: int):
    """The leader records a meeting's show of hands in the members' vote on a counter-offer,
    for people without a phone (same form and rules as a vote on a proposal)."""
    proposal = db.get_or_404(Proposal, proposal_id)
    offer = db.get_or_404(Message, message_id)
    if offer.proposal_id != proposal.id or offer.kind != MessageKind.COUNTER_OFFER:
        abort(404)
    rnd = votes.open_round_of(proposal, VoteSubject.COUNTER_OFFER, offer.id)
    if rnd is None or offer.offer_status != CounterOfferStatus.IN_VOTE:
        abort(404)
    require(current_user, "tally_offer_vote", offer)
    tz = proposal.municipality.timezone
    meetings = votes.tally_meetings(proposal, rnd)
    form = TallyForm()
    form.meeting_id.choices = [
        SelectChoice(m.id, f"{m.kind.label} · {local_datetime(m.held_at, tz, 'short')}")
        for m in meetings
    ]
    existing = votes.round_tallies(rnd)
    correcting = request.args.get("meeting", type=id_arg)
    if request.method == "GET" and correcting:
        # correcting a tally: start from what was recorded
        for t in existing:
            if t.meeting_id == correcting:
                form.process(obj=t)
                form.meeting_id.data = t.meeting_id
    if form.validate_on_submit():
        meeting = db.session.get(Meeting, form.meeting_id.data)
        try:
            votes.record_tally(
                proposal,
                meeting,
                current_user,
                form.counts(),
                subject=VoteSubject.COUNTER_OFFER,
                counter_offer_id=offer.id,
            )
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The show of hands is recorded."), "success")
            return _back(proposal, f"m{offer.id}")
    return render_template(
        "negotiation/offer_tally.html",
        p=proposal,
        offer=offer,
        rnd=rnd,
        co=proposal.organisation,
        form=form,
        meetings=meetings,
        existing=existing,
        tz=tz,
    )
