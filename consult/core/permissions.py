"""Who may do what to which object: the one place where access is decided.

``can(user, action, obj)`` is used by views (403 when it says no), by templates (to show a
button or not) and later by the API. Each rule is a small function registered for an object
type and an action; an unregistered pair is refused, so forgetting a rule fails closed.
"""

from collections.abc import Callable

from flask import abort
from flask_login import AnonymousUserMixin

from consult.attachments.models import Attachment
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership, Municipality, Settlement
from consult.core.enums import MembershipRole, ProblemStatus, ProposalState, UserRole
from consult.implementation.models import ImplementationUpdate
from consult.meetings.models import Meeting
from consult.negotiation.models import Message
from consult.problems.models import PriorityRound, Problem
from consult.proposals import workflow
from consult.proposals.models import Proposal

Rule = Callable[[User, object], bool]
_RULES: dict[tuple[type | None, str], Rule] = {}


def rule(kind: type | None, *actions: str):
    def register(fn: Rule) -> Rule:
        for action in actions:
            _RULES[(kind, action)] = fn
        return fn

    return register


def can(user, action: str, obj=None) -> bool:
    """True when ``user`` may do ``action`` to ``obj`` (``obj=None`` for site-wide actions)."""
    if user is None or isinstance(user, AnonymousUserMixin) or not user.is_authenticated:
        return False
    if not user.is_active:
        return False
    fn = _RULES.get((type(obj) if obj is not None else None, action))
    return bool(fn and fn(user, obj))


def require(user, action: str, obj=None) -> None:
    """Abort with 403 unless ``can(user, action, obj)``."""
    if not can(user, action, obj):
        abort(403)


# --- who someone is to a CO or a proposal -------------------------------------------------


def membership(user: User, co_id: int) -> Membership | None:
    return user.membership_in(co_id)


def is_member(user: User, co_id: int) -> bool:
    return membership(user, co_id) is not None


def is_leader(user: User, co_id: int) -> bool:
    m = membership(user, co_id)
    return m is not None and m.role == MembershipRole.LEADER


def is_officer_of(user: User, municipality_id: int) -> bool:
    return user.role == UserRole.OFFICER and user.municipality_id == municipality_id


def proposal_actor(user: User, proposal: Proposal) -> str | None:
    """The workflow role ``user`` plays for ``proposal``: leader, officer, staff or None."""
    if is_leader(user, proposal.co_id):
        return workflow.LEADER
    if is_officer_of(user, proposal.municipality_id):
        return workflow.OFFICER
    if user.is_staff:
        return workflow.STAFF
    return None


# --- site-wide ------------------------------------------------------------------------------


@rule(None, "view_dashboard", "view_all", "register_settlement", "invite")
def _staff(user: User, _obj) -> bool:
    return user.is_staff


@rule(None, "manage_municipalities", "manage_users")
def _admin(user: User, _obj) -> bool:
    return user.is_admin


# --- places and organisations -------------------------------------------------------------


@rule(Municipality, "view")
def _view_municipality(user: User, m: Municipality) -> bool:
    return user.is_staff or is_officer_of(user, m.id)


@rule(Municipality, "view_inbox", "view_summary")
def _municipality_inbox(user: User, m: Municipality) -> bool:
    return user.is_staff or is_officer_of(user, m.id)


@rule(Settlement, "view")
def _view_settlement(user: User, s: Settlement) -> bool:
    return user.is_staff or is_officer_of(user, s.municipality_id)


@rule(Settlement, "register_co")
def _register_co(user: User, s: Settlement) -> bool:
    return user.is_staff


@rule(CommunityOrganisation, "view")
def _view_co(user: User, co: CommunityOrganisation) -> bool:
    # Officers see a CO's public page: name, settlement, problems, submitted proposals.
    return user.is_staff or is_member(user, co.id) or is_officer_of(user, co.municipality_id)


@rule(CommunityOrganisation, "view_internal", "view_members", "view_meetings", "view_summary")
def _view_co_internal(user: User, co: CommunityOrganisation) -> bool:
    return user.is_staff or is_member(user, co.id)


@rule(CommunityOrganisation, "report_problem", "give_priorities")
def _member_of_co(user: User, co: CommunityOrganisation) -> bool:
    return is_member(user, co.id)


@rule(
    CommunityOrganisation,
    "manage_members",
    "log_meeting",
    "draft_proposal",
    "edit_rules",
    "open_priority_round",
)
def _leader_of_co(user: User, co: CommunityOrganisation) -> bool:
    return is_leader(user, co.id)


@rule(CommunityOrganisation, "invite_leader")
def _invite_leader(user: User, co: CommunityOrganisation) -> bool:
    return user.is_staff


# --- meetings and problems ----------------------------------------------------------------


@rule(Meeting, "view")
def _view_meeting(user: User, meeting: Meeting) -> bool:
    return user.is_staff or is_member(user, meeting.co_id)


@rule(Meeting, "edit", "record_tally")
def _edit_meeting(user: User, meeting: Meeting) -> bool:
    return is_leader(user, meeting.co_id)


@rule(Problem, "view")
def _view_problem(user: User, problem: Problem) -> bool:
    return (
        user.is_staff
        or is_member(user, problem.co_id)
        or is_officer_of(user, problem.organisation.municipality_id)
    )


@rule(Problem, "edit")
def _edit_problem(user: User, problem: Problem) -> bool:
    if is_leader(user, problem.co_id):
        return True
    # whoever reported it may correct it while nothing has been built on it yet
    return (
        problem.reported_by_id == user.id
        and is_member(user, problem.co_id)
        and problem.status.value == "open"
    )


@rule(Problem, "change_status")
def _change_problem_status(user: User, problem: Problem) -> bool:
    """Close or reopen a problem at all; "close"/"reopen" below also say whether now."""
    return is_leader(user, problem.co_id)


@rule(Problem, "close")
def _close_problem(user: User, problem: Problem) -> bool:
    """The CO's leader closes an open problem (e.g. solved otherwise, or not a problem)."""
    return problem.status == ProblemStatus.OPEN and is_leader(user, problem.co_id)


@rule(Problem, "reopen")
def _reopen_problem(user: User, problem: Problem) -> bool:
    """Only a *closed* problem reopens; addressed/resolved are the proposal workflow's."""
    return problem.status == ProblemStatus.CLOSED and is_leader(user, problem.co_id)


@rule(Attachment, "view")
def _view_attachment(user: User, attachment: Attachment) -> bool:
    """Whoever may see the record a file belongs to may see the file (an implementation
    update's photos: whoever may see its proposal)."""
    from consult.attachments.service import owner_of

    owner = owner_of(attachment)
    if isinstance(owner, ImplementationUpdate):
        owner = owner.proposal
    return owner is not None and can(user, "view", owner)


@rule(PriorityRound, "view")
def _view_round(user: User, rnd: PriorityRound) -> bool:
    return user.is_staff or is_member(user, rnd.co_id)


@rule(PriorityRound, "give_points")
def _give_points(user: User, rnd: PriorityRound) -> bool:
    return rnd.closed_at is None and is_member(user, rnd.co_id)


@rule(PriorityRound, "close", "record_tally")
def _manage_round(user: User, rnd: PriorityRound) -> bool:
    return rnd.closed_at is None and is_leader(user, rnd.co_id)


@rule(PriorityRound, "view_standings")
def _view_standings(user: User, rnd: PriorityRound) -> bool:
    """The running ranking is for leaders (and staff) while the round is open, so it does
    not steer members' points; once closed, every member sees the result."""
    if user.is_staff or is_leader(user, rnd.co_id):
        return True
    return rnd.closed_at is not None and is_member(user, rnd.co_id)


# --- proposals ----------------------------------------------------------------------------

SEEN_BY_MUNICIPALITY = {
    ProposalState.SUBMITTED,
    ProposalState.UNDER_REVIEW,
    ProposalState.NEGOTIATING,
    ProposalState.AGREED,
    ProposalState.IN_PROGRESS,
    ProposalState.COMPLETED,
    ProposalState.DECLINED,
}


@rule(Proposal, "view")
def _view_proposal(user: User, p: Proposal) -> bool:
    if user.is_staff or is_member(user, p.co_id):
        return True
    # Officers see what was submitted to them, including later withdrawn ones.
    return is_officer_of(user, p.municipality_id) and p.submitted_at is not None


@rule(Proposal, "view_thread")
def _view_thread(user: User, p: Proposal) -> bool:
    return _view_proposal(user, p) and p.submitted_at is not None


@rule(Proposal, "view_audit")
def _view_audit(user: User, p: Proposal) -> bool:
    return user.is_staff or is_leader(user, p.co_id)


@rule(Proposal, "edit")
def _edit_proposal(user: User, p: Proposal) -> bool:
    return p.state == ProposalState.DRAFT and is_leader(user, p.co_id)


@rule(Proposal, "vote")
def _vote(user: User, p: Proposal) -> bool:
    return p.state == ProposalState.VOTING and is_member(user, p.co_id)


@rule(Proposal, "record_tally")
def _proposal_tally(user: User, p: Proposal) -> bool:
    return p.state == ProposalState.VOTING and is_leader(user, p.co_id)


@rule(Proposal, "write")
def _write_in_thread(user: User, p: Proposal) -> bool:
    """Post a comment: the CO's leader or the municipality's officer, while it is with them."""
    if p.submitted_at is None or p.state == ProposalState.WITHDRAWN:
        return False
    return is_leader(user, p.co_id) or is_officer_of(user, p.municipality_id)


@rule(Proposal, "record_progress")
def _record_progress(user: User, p: Proposal) -> bool:
    return p.state == ProposalState.IN_PROGRESS and (
        user.is_staff or is_officer_of(user, p.municipality_id)
    )


@rule(Proposal, "comment_progress")
def _comment_progress(user: User, p: Proposal) -> bool:
    return p.state in (ProposalState.IN_PROGRESS, ProposalState.COMPLETED) and is_member(
        user, p.co_id
    )


@rule(Proposal, "lead")
def _lead_proposal(user: User, p: Proposal) -> bool:
    """Act for the CO on its proposal (edit, open/close votes, tallies, submit, revise,
    withdraw). Whether the action is possible *now* is the workflow's call, which refuses with
    a readable message instead of a 403."""
    return is_leader(user, p.co_id)


@rule(Proposal, "ballot")
def _ballot(user: User, p: Proposal) -> bool:
    """Take part in the CO's votes on the proposal; the service says whether a vote is open."""
    return is_member(user, p.co_id)


@rule(Proposal, "view_vote_counts")
def _view_vote_counts(user: User, p: Proposal) -> bool:
    """Running totals while a vote is open: the leader who closes it, and staff. Members see
    the result once it closes, so early counts do not sway later votes."""
    return user.is_staff or is_leader(user, p.co_id)


def _workflow_rule(action: str) -> Rule:
    def check(user: User, p: Proposal) -> bool:
        return workflow.is_allowed(p.state, action, proposal_actor(user, p))

    return check


for _t in workflow.TRANSITIONS:
    _RULES[(Proposal, _t.action)] = _workflow_rule(_t.action)


@rule(Message, "view")
def _view_message(user: User, m: Message) -> bool:
    return _view_thread(user, m.proposal)


# --- people -------------------------------------------------------------------------------


@rule(User, "view")
def _view_user(user: User, other: User) -> bool:
    if user.is_staff or user.id == other.id:
        return True
    return any(is_leader(user, m.co_id) for m in other.current_memberships())


@rule(User, "manage")
def _manage_user(user: User, other: User) -> bool:
    return user.is_admin


# --- implementation and notifications -----------------------------------------------------

IMPLEMENTATION_STATES = {ProposalState.AGREED, ProposalState.IN_PROGRESS, ProposalState.COMPLETED}


@rule(Proposal, "view_implementation")
def _view_implementation(user: User, p: Proposal) -> bool:
    """The works page of an agreed scheme: whoever may see the proposal."""
    return p.state in IMPLEMENTATION_STATES and _view_proposal(user, p)


from consult.notifications.models import Notification  # noqa: E402  (appended section)


@rule(Notification, "open")
def _open_notification(user: User, n: Notification) -> bool:
    """A notification is its recipient's alone."""
    return n.user_id == user.id


# --- counter-offers in the negotiation thread ---------------------------------------------

from consult.core.enums import CounterOfferStatus, MessageKind  # noqa: E402  (appended section)


def _is_offer(m: Message) -> bool:
    return m.kind == MessageKind.COUNTER_OFFER and m.version is not None


def _offer_raises_share(m: Message) -> bool:
    """The offer asks more of the community (cash + labour) than the version it answers."""
    base = m.version
    cash = base.community_cash if m.offer_community_cash is None else m.offer_community_cash
    labour = base.community_labour if m.offer_community_labour is None else m.offer_community_labour
    return cash + labour > base.community_share


@rule(Message, "answer_offer")
def _answer_offer(user: User, m: Message) -> bool:
    """Act for the CO on a counter-offer (accept, reject, put to or close a member vote): the
    CO's leader only. Whether it can be answered *now* is the service's call, with a reason."""
    return _is_offer(m) and is_leader(user, m.proposal.co_id)


@rule(Message, "accept_offer", "reject_offer")
def _offer_waiting(user: User, m: Message) -> bool:
    """Show the answer buttons: the offer waits for the community and the workflow allows."""
    return (
        _answer_offer(user, m)
        and m.offer_status == CounterOfferStatus.PENDING
        and workflow.is_allowed(m.proposal.state, "answer_counter_offer", workflow.LEADER)
    )


@rule(Message, "put_offer_to_vote")
def _put_offer_to_vote(user: User, m: Message) -> bool:
    """Only an offer that raises the community's contribution is put to the members."""
    return _offer_waiting(user, m) and _offer_raises_share(m)


@rule(Message, "vote_on_offer")
def _vote_on_offer(user: User, m: Message) -> bool:
    return (
        _is_offer(m)
        and m.offer_status == CounterOfferStatus.IN_VOTE
        and is_member(user, m.proposal.co_id)
    )


@rule(Message, "close_offer_vote")
def _close_offer_vote(user: User, m: Message) -> bool:
    return _answer_offer(user, m) and m.offer_status == CounterOfferStatus.IN_VOTE


# --- running the programme: registration and accounts -------------------------------------


@rule(Settlement, "edit")
def _edit_settlement(user: User, s: Settlement) -> bool:
    """Staff correct a settlement they (or a colleague) registered."""
    return user.is_staff


@rule(CommunityOrganisation, "edit_registration")
def _edit_co_registration(user: User, co: CommunityOrganisation) -> bool:
    """Staff correct a CO's name, date formed and description, and change its status."""
    return user.is_staff


@rule(User, "reinvite")
def _reinvite_user(user: User, other: User) -> bool:
    """A fresh invitation link from the account page: administrators only."""
    return user.is_admin


@rule(Membership, "reinvite")
def _reinvite_member(user: User, m: Membership) -> bool:
    """A leader makes a fresh invitation link for a current member of their CO who is a plain
    resident. Following the link sets the account's password, so whoever makes it could take
    the account over: never for officers, staff or admins, and never for someone who also
    belongs to a CO this leader does not lead (that would reach into the other CO)."""
    if m.left_on is not None or m.user.role != UserRole.RESIDENT:
        return False
    if not is_leader(user, m.co_id):
        return False
    return all(is_leader(user, other.co_id) for other in m.user.current_memberships())


# --- show-of-hands tallies in a member vote on a counter-offer -----------------------------


@rule(Message, "tally_offer_vote")
def _tally_offer_vote(user: User, m: Message) -> bool:
    """Record a meeting's show of hands in the members' vote on a counter-offer: the CO's
    leader, while the offer is in the vote (as for closing it). After the closing time the
    service refuses with a message rather than a 403."""
    return _close_offer_vote(user, m)
