"""Who may see, draft, vote on and lead a proposal; the workflow's transitions as rules."""

from enum import StrEnum

from consult.auth.models import User
from consult.communities.models import CommunityOrganisation
from consult.core.enums import ProposalState
from consult.core.permissions import is_leader, is_member, is_officer_of, register_rule, rule
from consult.proposals import workflow
from consult.proposals.models import Proposal


class ProposalAction(StrEnum):
    DRAFT = "draft_proposal"
    VIEW = "view"
    VIEW_AUDIT = "view_audit"
    EDIT = "edit"
    VOTE = "vote"
    RECORD_TALLY = "record_tally"
    LEAD = "lead"
    BALLOT = "ballot"
    VIEW_VOTE_COUNTS = "view_vote_counts"


A = ProposalAction

SEEN_BY_MUNICIPALITY = {
    ProposalState.SUBMITTED,
    ProposalState.UNDER_REVIEW,
    ProposalState.NEGOTIATING,
    ProposalState.AGREED,
    ProposalState.IN_PROGRESS,
    ProposalState.COMPLETED,
    ProposalState.DECLINED,
}


def proposal_actor(user: User, proposal: Proposal) -> str | None:
    """The workflow role ``user`` plays for ``proposal``: leader, officer, staff or None."""
    if is_leader(user, proposal.co_id):
        return workflow.LEADER
    if is_officer_of(user, proposal.municipality_id):
        return workflow.OFFICER
    if user.is_staff:
        return workflow.STAFF
    return None


@rule(CommunityOrganisation, A.DRAFT)
def _draft_proposal(user: User, co: CommunityOrganisation) -> bool:
    return is_leader(user, co.id)


@rule(Proposal, A.VIEW)
def view_proposal(user: User, p: Proposal) -> bool:
    if user.is_staff or is_member(user, p.co_id):
        return True
    # Officers see what was submitted to them, including later withdrawn ones.
    return is_officer_of(user, p.municipality_id) and p.submitted_at is not None


@rule(Proposal, A.VIEW_AUDIT)
def _view_audit(user: User, p: Proposal) -> bool:
    return user.is_staff or is_leader(user, p.co_id)


@rule(Proposal, A.EDIT)
def _edit_proposal(user: User, p: Proposal) -> bool:
    return p.state == ProposalState.DRAFT and is_leader(user, p.co_id)


@rule(Proposal, A.VOTE)
def _vote(user: User, p: Proposal) -> bool:
    return p.state == ProposalState.VOTING and is_member(user, p.co_id)


@rule(Proposal, A.RECORD_TALLY)
def _proposal_tally(user: User, p: Proposal) -> bool:
    return p.state == ProposalState.VOTING and is_leader(user, p.co_id)


@rule(Proposal, A.LEAD)
def _lead_proposal(user: User, p: Proposal) -> bool:
    """Act for the CO on its proposal (edit, open/close votes, tallies, submit, revise,
    withdraw). Whether the action is possible *now* is the workflow's call, which refuses with
    a readable message instead of a 403."""
    return is_leader(user, p.co_id)


@rule(Proposal, A.BALLOT)
def _ballot(user: User, p: Proposal) -> bool:
    """Take part in the CO's votes on the proposal; the service says whether a vote is open."""
    return is_member(user, p.co_id)


@rule(Proposal, A.VIEW_VOTE_COUNTS)
def _view_vote_counts(user: User, p: Proposal) -> bool:
    """Running totals while a vote is open: the leader who closes it, and staff. Members see
    the result once it closes, so early counts do not sway later votes."""
    return user.is_staff or is_leader(user, p.co_id)


def _workflow_rule(action: str):
    def check(user: User, p: Proposal) -> bool:
        return workflow.is_allowed(p.state, action, proposal_actor(user, p))

    check.__qualname__ = f"workflow[{action}]"
    return check


for _t in workflow.TRANSITIONS:
    register_rule(Proposal, _t.action, _workflow_rule(_t.action))
