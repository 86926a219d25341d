"""Counter-offers in the negotiation thread: the municipality proposes changed terms, and the
CO accepts, rejects, or first puts them to its members (through the votes feature).

Services flush and never commit; every state change goes through
:func:`consult.proposals.service.apply_transition`.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from consult.attachments.service import Upload, store
from consult.audit.service import record
from consult.auth.models import User
from consult.core.db import utcnow, written
from consult.core.enums import (
    CounterOfferStatus,
    Decision,
    MessageKind,
    ProposalState,
    VoteChoice,
    VoteResult,
    VoteSubject,
)
from consult.core.numbers import stored_amount
from consult.extensions import db
from consult.negotiation.models import Message
from consult.negotiation.service import (
    NegotiationError,
    add_message,
    clean_body,
    latest_version,
    lock_proposal,
)
from consult.notifications.service import link_to
from consult.proposals.models import Proposal, ProposalVersion
from consult.proposals.service import apply_transition, check_transition
from consult.proposals.terms import TermRow, compare_terms
from consult.votes import ballots
from consult.votes import service as votes
from consult.votes.models import VoteRound

# --- counter-offers -------------------------------------------------------------------------


class CounterOfferError(NegotiationError):
    """A counter-offer (or an answer to one) refused; ``field`` names the form field."""


#: the statuses in which a counter-offer still waits for the community's answer
OPEN_OFFER = (CounterOfferStatus.PENDING, CounterOfferStatus.IN_VOTE)
#: the longest scope change the service accepts (the form says the same)
MAX_SCOPE = 2000
MAX_TIMELINE = 200


def offered_terms(offer: Message, base: ProposalVersion | None = None) -> dict:
    """The terms the offer proposes: its base version's terms with the offered ones applied.

    An offer field left ``None`` keeps the version's value. The estimated cost is recomputed as
    municipal share + community cash + community labour. A scope change is *appended* to the
    description (after a blank line): the original scope stays readable and the change agreed
    to is part of the version's text.
    """
    base = base or offer.version
    terms = base.terms()

    def pick(value, current):
        return current if value is None else value

    terms["amount_requested"] = pick(offer.offer_municipal_share, base.amount_requested)
    terms["community_cash"] = pick(offer.offer_community_cash, base.community_cash)
    terms["community_labour"] = pick(offer.offer_community_labour, base.community_labour)
    terms["estimated_cost"] = (
        terms["amount_requested"] + terms["community_cash"] + terms["community_labour"]
    )
    if offer.offer_timeline:
        terms["timeline"] = offer.offer_timeline
    if offer.offer_scope:
        terms["description"] = "\n\n".join(x for x in (base.description, offer.offer_scope) if x)
    return terms


@dataclass(frozen=True)
class OfferDiff:
    """What a counter-offer changes in the version it was made on, for the thread."""

    offer: Message
    base: ProposalVersion
    rows: list[TermRow]
    #: offered community cash + labour minus the version's (positive: the community pays more)
    community_change: Decimal
    scope: str | None

    @property
    def raises_community_share(self) -> bool:
        return self.community_change > 0


def offer_diff(offer: Message) -> OfferDiff:
    base = offer.version
    after = offered_terms(offer, base)
    before = base.terms()
    rows = compare_terms(
        before,
        after,
        (
            "amount_requested",
            "community_cash",
            "community_labour",
            "estimated_cost",
            "timeline",
        ),
    )
    change = (after["community_cash"] + after["community_labour"]) - base.community_share
    return OfferDiff(offer, base, rows, change, offer.offer_scope)


def open_offer(proposal: Proposal) -> Message | None:
    """The counter-offer still waiting for the community's answer (at most one)."""
    return db.session.scalar(
        select(Message)
        .where(
            Message.proposal_id == proposal.id,
            # written into the SQL: the plan made once reads the open offers' partial index
            Message.kind == written(MessageKind.COUNTER_OFFER, Message.kind),
            Message.offer_status.in_([written(s, Message.offer_status) for s in OPEN_OFFER]),
        )
        .order_by(Message.id.desc())
        .limit(1)
    )


def _money(value, field: str, current: Decimal, currency: str) -> Decimal:
    if value is None or value == "":
        return current
    amount = stored_amount(value, currency, field)
    if amount < 0:
        raise CounterOfferError(_l("An amount cannot be negative."), field=field)
    return amount


def counter_offer(
    proposal: Proposal,
    by: User,
    *,
    municipal_share,
    community_cash,
    community_labour,
    scope: str | None = None,
    timeline: str | None = None,
    body: str | None = None,
    uploads: Iterable[Upload] = (),
    now: datetime | None = None,
) -> Message:
    """The municipality's officer offers other terms for the latest version.

    At least one term must differ. A counter-offer still waiting for an answer is withdrawn by
    the new one; one under a member vote blocks a new one until the vote closes. The proposal
    moves to negotiating. Amounts equal to the version's are stored as ``None`` ("unchanged").
    """
    lock_proposal(proposal)
    check_transition(proposal, "counter_offer", by)
    base = latest_version(proposal)
    if base is None:
        raise CounterOfferError(_l("There is no submitted version to answer."))
    current = open_offer(proposal)
    if current is not None and current.offer_status == CounterOfferStatus.IN_VOTE:
        raise CounterOfferError(
            _l(
                "The community's members are voting on your previous counter-offer. "
                "Wait for the result before making another."
            )
        )
    share = _money(municipal_share, "municipal_share", base.amount_requested, proposal.currency)
    cash = _money(community_cash, "community_cash", base.community_cash, proposal.currency)
    labour = _money(community_labour, "community_labour", base.community_labour, proposal.currency)
    scope = (scope or "").strip() or None
    if scope and len(scope) > MAX_SCOPE:
        raise CounterOfferError(_l("At most %(max)d characters.", max=MAX_SCOPE), field="scope")
    timeline = (timeline or "").strip() or None
    if timeline and len(timeline) > MAX_TIMELINE:
        raise CounterOfferError(
            _l("At most %(max)d characters.", max=MAX_TIMELINE), field="timeline"
        )
    if timeline == base.timeline:
        timeline = None
    offer = {
        "offer_municipal_share": share if share != base.amount_requested else None,
        "offer_community_cash": cash if cash != base.community_cash else None,
        "offer_community_labour": labour if labour != base.community_labour else None,
        "offer_scope": scope,
        "offer_timeline": timeline,
    }
    if all(v is None for v in offer.values()):
        raise CounterOfferError(
            _l(
                "These are the terms of version %(n)d. Change at least one term to make "
                "a counter-offer.",
                n=base.number,
            ),
            field="municipal_share",
        )
    body = clean_body(body, required=False)
    replaced = []
    if current is not None:
        current.offer_status = CounterOfferStatus.WITHDRAWN
        replaced.append(current.id)
    apply_transition(
        proposal,
        "counter_offer",
        by,
        notify_other_side=proposal.state != ProposalState.NEGOTIATING,
        now=now,
        version=base.number,
        replaces=replaced,
        **offer,
    )
    message = add_message(
        proposal,
        by,
        MessageKind.COUNTER_OFFER,
        body,
        version=base,
        offer_status=CounterOfferStatus.PENDING,
        now=now,
        **offer,
    )
    store(uploads, owner=message, by=by)
    return message


def _answerable(proposal: Proposal, offer: Message, *, in_vote: bool = False) -> None:
    """Refuse unless ``offer`` is this proposal's counter-offer waiting for this answer."""
    if offer.proposal_id != proposal.id or offer.kind != MessageKind.COUNTER_OFFER:
        raise CounterOfferError(_l("This is not a counter-offer on this proposal."))
    db.session.refresh(offer)  # read after the proposal lock: another answer may have landed
    if offer.offer_status == CounterOfferStatus.IN_VOTE and not in_vote:
        raise CounterOfferError(
            _l("The members are voting on this counter-offer. Close the vote to answer it.")
        )
    expected = CounterOfferStatus.IN_VOTE if in_vote else CounterOfferStatus.PENDING
    if offer.offer_status != expected:
        raise CounterOfferError(
            _l("This counter-offer has already been answered or replaced by a newer one.")
        )


def _accept_offer(
    proposal: Proposal, by: User, offer: Message, note: str | None, *, now=None, **detail
):
    latest = latest_version(proposal)
    if latest is None or offer.version_id != latest.id:
        raise CounterOfferError(
            _l("The terms have changed since this counter-offer was made; it no longer applies.")
        )
    terms = offered_terms(offer, latest)
    version = ProposalVersion(
        proposal_id=proposal.id,
        number=latest.number + 1,
        reason="counter-offer accepted",
        created_by_id=by.id,
        created_at=now or utcnow(),
        **terms,
    )
    db.session.add(version)
    db.session.flush()
    for name, value in terms.items():  # the live proposal follows its newest version
        setattr(proposal, name, value)
    offer.offer_status = CounterOfferStatus.ACCEPTED
    offer.resulting_version_id = version.id
    apply_transition(
        proposal,
        "answer_counter_offer",
        by,
        notify_other_side=False,  # the decision message below tells the officers
        now=now,
        answer="accepted",
        offer_id=offer.id,
        version=version.number,
        terms=version.terms(),
        **detail,
    )
    add_message(
        proposal, by, MessageKind.DECISION, note, decision=Decision.ACCEPT, version=version, now=now
    )
    return version


def _reject_offer(
    proposal: Proposal, by: User, offer: Message, reason: str, *, now=None, **detail
) -> Message:
    offer.offer_status = CounterOfferStatus.REJECTED
    apply_transition(
        proposal,
        "answer_counter_offer",
        by,
        notify_other_side=False,
        now=now,
        answer="rejected",
        offer_id=offer.id,
        reason=reason,
        **detail,
    )
    return add_message(
        proposal,
        by,
        MessageKind.DECISION,
        reason,
        decision=Decision.DECLINE,
        version=offer.version,
        now=now,
    )


def accept_counter_offer(
    proposal: Proposal, by: User, offer: Message, note: str | None = None, *, now=None
) -> ProposalVersion:
    """The CO's leader accepts a counter-offer: its terms become a new immutable version
    (and the proposal's terms); the officer can then accept that version. The proposal row
    is locked first, so an officer cannot accept the version being superseded meanwhile."""
    lock_proposal(proposal)
    check_transition(proposal, "answer_counter_offer", by)
    _answerable(proposal, offer)
    note = clean_body(note, required=False)
    return _accept_offer(proposal, by, offer, note, now=now)


def reject_counter_offer(
    proposal: Proposal, by: User, offer: Message, reason: str | None, *, now=None
):
    """The CO's leader rejects a counter-offer with a reason; the negotiation goes on."""
    lock_proposal(proposal)
    check_transition(proposal, "answer_counter_offer", by)
    _answerable(proposal, offer)
    reason = clean_body(reason, required=False)
    if not reason:
        raise CounterOfferError(
            _l("Say why the community rejects it; the municipality will read it."), field="reason"
        )
    return _reject_offer(proposal, by, offer, reason, now=now)


def _open_offer_vote(
    proposal: Proposal, offer: Message, by: User, closes_at: datetime, now: datetime
) -> VoteRound:
    """A member vote on ``offer`` with the CO's current rule; audited, members told."""
    if votes.open_round_of(proposal, VoteSubject.COUNTER_OFFER, offer.id) is not None:
        raise votes.VoteError(_l("The members are already voting on this counter-offer."))
    rnd = votes.open_round(
        proposal,
        by,
        closes_at,
        now=now,
        subject=VoteSubject.COUNTER_OFFER,
        counter_offer_id=offer.id,
    )
    record(
        "vote.opened",
        rnd,
        by,
        proposal_id=proposal.id,
        co_id=proposal.co_id,
        subject=VoteSubject.COUNTER_OFFER,
        counter_offer_id=offer.id,
        closes_at=closes_at,
        quorum_percent=rnd.quorum_percent,
        threshold_percent=rnd.threshold_percent,
    )
    votes.tell_members(
        proposal,
        "vote.opened",
        link_to("negotiation.thread", proposal_id=proposal.id, _anchor=f"m{offer.id}"),
        but=by,
        subject=VoteSubject.COUNTER_OFFER.value,  # the notice says it is the counter-offer
    )
    return rnd


def put_counter_offer_to_vote(
    proposal: Proposal, by: User, offer: Message, closes_at: datetime, *, now=None
) -> VoteRound:
    """The leader asks the members before answering a counter-offer that raises the
    community's contribution. The offer waits "in vote"; the proposal stays negotiating."""
    lock_proposal(proposal)
    check_transition(proposal, "answer_counter_offer", by)
    _answerable(proposal, offer)
    if not offer_diff(offer).raises_community_share:
        raise CounterOfferError(
            _l("Only a counter-offer that raises the community's share is put to a vote.")
        )
    now = now or utcnow()
    try:
        rnd = _open_offer_vote(proposal, offer, by, closes_at, now)
    except votes.VoteError as error:
        raise CounterOfferError(str(error), field=error.field) from None
    offer.offer_status = CounterOfferStatus.IN_VOTE
    apply_transition(
        proposal,
        "answer_counter_offer",
        by,
        notify_other_side=False,
        now=now,
        answer="put to vote",
        offer_id=offer.id,
        round_id=rnd.id,
    )
    return rnd


def offer_round(offer: Message) -> VoteRound | None:
    """The latest member vote on ``offer`` (open or closed)."""
    return db.session.scalar(
        select(VoteRound)
        .where(VoteRound.counter_offer_id == offer.id)
        .order_by(VoteRound.id.desc())
        .limit(1)
    )


def cast_offer_vote(
    proposal: Proposal, member: User, offer: Message, choice: VoteChoice, *, now=None
) -> ballots.Outcome:
    """A member votes yes/no/abstain on the counter-offer in vote."""
    if offer.proposal_id != proposal.id:
        raise CounterOfferError(_l("This is not a counter-offer on this proposal."))
    try:
        return ballots.cast(
            proposal,
            member.membership_in(proposal.co_id),
            choice,
            subject=VoteSubject.COUNTER_OFFER,
            counter_offer_id=offer.id,
            now=now,
        )
    except votes.VoteError as error:
        raise CounterOfferError(str(error)) from None


def close_offer_vote(proposal: Proposal, by: User, offer: Message, *, now=None):
    """The leader closes the members' vote: approved accepts the counter-offer (a new
    version), rejected or no quorum rejects it with the result as the reason.
    Returns ``(round, version or None)``."""
    from flask_babel import gettext

    lock_proposal(proposal)
    check_transition(proposal, "answer_counter_offer", by)
    _answerable(proposal, offer, in_vote=True)
    now = now or utcnow()
    rnd = votes.lock_round(proposal, VoteSubject.COUNTER_OFFER, offer.id)
    if rnd is None:
        raise CounterOfferError(str(votes.no_open_vote(VoteSubject.COUNTER_OFFER)))
    b = votes.close(rnd, now=now)
    record(
        "vote.closed",
        rnd,
        by,
        proposal_id=proposal.id,
        co_id=proposal.co_id,
        subject=VoteSubject.COUNTER_OFFER,
        counter_offer_id=offer.id,
        result=b.result,
        yes=b.yes,
        no=b.no,
        abstain=b.abstain,
        members_at_close=b.members,
        set_aside=b.set_aside,
        early=now < rnd.closes_at,
    )
    votes.tell_members(
        proposal,
        "vote.closed",
        link_to("negotiation.thread", proposal_id=proposal.id),
        result=b.result.value,
    )
    if rnd.result == VoteResult.APPROVED:
        return rnd, _accept_offer(proposal, by, offer, None, now=now, round_id=rnd.id)
    # Written down in the leader's language, as if they had typed it.
    reason = gettext(
        "The members did not approve the counter-offer (%(result)s: %(yes)d yes, %(no)d no, "
        "%(abstain)d abstained, %(members)d members).",
        result=rnd.result.label,
        yes=b.yes,
        no=b.no,
        abstain=b.abstain,
        members=b.members,
    )
    _reject_offer(proposal, by, offer, reason, now=now, round_id=rnd.id)
    return rnd, None
