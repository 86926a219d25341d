"""Who may follow and record the works of an agreed scheme."""

from enum import StrEnum

from consult.auth.models import User
from consult.core.enums import ProposalState
from consult.core.permissions import is_member, is_officer_of, rule
from consult.implementation.models import ImplementationUpdate
from consult.proposals.models import Proposal
from consult.proposals.policy import view_proposal


class ImplementationAction(StrEnum):
    VIEW = "view_implementation"
    VIEW_UPDATE = "view"
    RECORD_PROGRESS = "record_progress"
    COMMENT_PROGRESS = "comment_progress"


A = ImplementationAction

IMPLEMENTATION_STATES = {ProposalState.AGREED, ProposalState.IN_PROGRESS, ProposalState.COMPLETED}


@rule(Proposal, A.RECORD_PROGRESS)
def _record_progress(user: User, p: Proposal) -> bool:
    return p.state == ProposalState.IN_PROGRESS and (
        user.is_staff or is_officer_of(user, p.municipality_id)
    )


@rule(Proposal, A.COMMENT_PROGRESS)
def _comment_progress(user: User, p: Proposal) -> bool:
    return p.state in (ProposalState.IN_PROGRESS, ProposalState.COMPLETED) and is_member(
        user, p.co_id
    )


@rule(Proposal, A.VIEW)
def _view_implementation(user: User, p: Proposal) -> bool:
    """The works page of an agreed scheme: whoever may see the proposal."""
    return p.state in IMPLEMENTATION_STATES and view_proposal(user, p)


@rule(ImplementationUpdate, A.VIEW_UPDATE)
def _view_update(user: User, update: ImplementationUpdate) -> bool:
    """An update (and its photos): whoever may see its proposal."""
    return view_proposal(user, update.proposal)
