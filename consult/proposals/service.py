"""The rules of proposals: drafting, voting, submission and every state change.

Services check the rule, change state, write the audit event and flush. They never commit,
touch the request or render; the view commits once.
"""

from flask import url_for

from consult.audit.service import record
from consult.auth.models import User
from consult.core.db import utcnow
from consult.core.enums import ProposalState
from consult.core.permissions import proposal_actor
from consult.notifications.service import notify
from consult.proposals import workflow
from consult.proposals.models import Proposal
from consult.proposals.workflow import TransitionRefused  # noqa: F401  (re-exported for views)


def apply_transition(
    proposal: Proposal,
    action: str,
    by: User,
    *,
    target: ProposalState | None = None,
    notify_other_side: bool = True,
    **detail,
) -> ProposalState:
    """Move ``proposal`` by ``action`` as the workflow table allows for ``by``'s role.

    Raises :class:`TransitionRefused` (with a readable message) when the table has no such
    move. Writes the audit event and notifies the other side.
    """
    before = proposal.state
    after = workflow.next_state(before, action, proposal_actor(by, proposal), target)
    proposal.state = after
    proposal.updated_at = utcnow()
    record(
        f"proposal.{action}",
        proposal,
        by,
        proposal_id=proposal.id,
        co_id=proposal.co_id,
        before=before,
        after=after,
        **detail,
    )
    if notify_other_side:
        notify(
            people_to_tell(proposal, by),
            "proposal.state_changed",
            link=_proposal_link(proposal),
            proposal_id=proposal.id,
            title=proposal.title,
            state=str(after.label),
        )
    return after


def people_to_tell(proposal: Proposal, by: User) -> list[User]:
    """The other side of ``by``: the CO's leaders for the municipality and staff, the
    municipality's officers for the CO (once the proposal has been submitted)."""
    from sqlalchemy import select

    from consult.communities.models import Membership
    from consult.core.enums import MembershipRole, UserRole
    from consult.extensions import db

    leaders = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.co_id == proposal.co_id,
            Membership.role == MembershipRole.LEADER,
            Membership.left_on.is_(None),
        )
    ).all()
    officers = []
    if proposal.submitted_at is not None:
        officers = db.session.scalars(
            select(User).where(
                User.role == UserRole.OFFICER,
                User.municipality_id == proposal.municipality_id,
                User.active.is_(True),
            )
        ).all()
    if by.is_officer or by.is_staff:
        people = list(leaders)
    elif any(u.id == by.id for u in leaders):
        people = list(officers)
    else:
        people = list(leaders) + list(officers)
    return [u for u in people if u.id != by.id]


def _proposal_link(proposal: Proposal) -> str | None:
    try:
        return url_for("proposals.show", proposal_id=proposal.id)
    except RuntimeError:  # outside a request (CLI, seed data): no link, the notice still reads
        return None
