"""Who may read and write a proposal's negotiation thread, and answer counter-offers."""

from enum import StrEnum

from consult.auth.models import User
from consult.communities.models import Municipality
from consult.core.enums import CounterOfferStatus, MessageKind, ProposalState
from consult.core.permissions import is_leader, is_member, is_officer_of, rule
from consult.negotiation.models import Message
from consult.proposals import workflow
from consult.proposals.models import Proposal
from consult.proposals.policy import view_proposal


class NegotiationAction(StrEnum):
    VIEW_INBOX = "view_inbox"
    VIEW_THREAD = "view_thread"
    WRITE = "write"
    VIEW = "view"
    ANSWER_OFFER = "answer_offer"
    ACCEPT_OFFER = "accept_offer"
    REJECT_OFFER = "reject_offer"
    PUT_OFFER_TO_VOTE = "put_offer_to_vote"
    VOTE_ON_OFFER = "vote_on_offer"
    CLOSE_OFFER_VOTE = "close_offer_vote"
    TALLY_OFFER_VOTE = "tally_offer_vote"


A = NegotiationAction


@rule(Municipality, A.VIEW_INBOX)
def _municipality_inbox(user: User, m: Municipality) -> bool:
    return user.is_staff or is_officer_of(user, m.id)


@rule(Proposal, A.VIEW_THREAD)
def _view_thread(user: User, p: Proposal) -> bool:
    return view_proposal(user, p) and p.submitted_at is not None


@rule(Proposal, A.WRITE)
def _write_in_thread(user: User, p: Proposal) -> bool:
    """Post a comment: the CO's leader or the municipality's officer, while it is with them."""
    if p.submitted_at is None or p.state == ProposalState.WITHDRAWN:
        return False
    return is_leader(user, p.co_id) or is_officer_of(user, p.municipality_id)


@rule(Message, A.VIEW)
def _view_message(user: User, m: Message) -> bool:
    return _view_thread(user, m.proposal)


# --- counter-offers in the negotiation thread ---------------------------------------------


def _is_offer(m: Message) -> bool:
    return m.kind == MessageKind.COUNTER_OFFER and m.version_id is not None


def _offer_raises_share(m: Message) -> bool:
    """The offer asks more of the community (cash + labour) than the version it answers."""
    base = m.version
    cash = base.community_cash if m.offer_community_cash is None else m.offer_community_cash
    labour = base.community_labour if m.offer_community_labour is None else m.offer_community_labour
    return cash + labour > base.community_share


@rule(Message, A.ANSWER_OFFER)
def _answer_offer(user: User, m: Message) -> bool:
    """Act for the CO on a counter-offer (accept, reject, put to or close a member vote): the
    CO's leader only. Whether it can be answered *now* is the service's call, with a reason."""
    return _is_offer(m) and is_leader(user, m.proposal.co_id)


@rule(Message, A.ACCEPT_OFFER, A.REJECT_OFFER)
def _offer_waiting(user: User, m: Message) -> bool:
    """Show the answer buttons: the offer waits for the community and the workflow allows."""
    return (
        _answer_offer(user, m)
        and m.offer_status == CounterOfferStatus.PENDING
        and workflow.is_allowed(m.proposal.state, "answer_counter_offer", workflow.LEADER)
    )


@rule(Message, A.PUT_OFFER_TO_VOTE)
def _put_offer_to_vote(user: User, m: Message) -> bool:
    """Only an offer that raises the community's contribution is put to the members."""
    return _offer_waiting(user, m) and _offer_raises_share(m)


@rule(Message, A.VOTE_ON_OFFER)
def _vote_on_offer(user: User, m: Message) -> bool:
    return (
        _is_offer(m)
        and m.offer_status == CounterOfferStatus.IN_VOTE
        and is_member(user, m.proposal.co_id)
    )


@rule(Message, A.CLOSE_OFFER_VOTE)
def _close_offer_vote(user: User, m: Message) -> bool:
    return _answer_offer(user, m) and m.offer_status == CounterOfferStatus.IN_VOTE


@rule(Message, A.TALLY_OFFER_VOTE)
def _tally_offer_vote(user: User, m: Message) -> bool:
    """Record a meeting's show of hands in the members' vote on a counter-offer: the CO's
    leader, while the offer is in the vote (as for closing it). After the closing time the
    service refuses with a message rather than a 403."""
    return _close_offer_vote(user, m)
