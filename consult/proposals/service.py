"""The rules of proposals: drafting, voting, submission and every state change.

Services check the rule, change state, write the audit event and flush. They never commit,
touch the request or render; the view commits once.
"""

from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, inspect, select

from consult.audit.service import record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership
from consult.core.db import utcnow
from consult.core.enums import (
    MembershipRole,
    ProblemStatus,
    ProposalState,
    UserRole,
    VoteChoice,
    VoteResult,
    VoteSubject,
)
from consult.core.locking import lock_row
from consult.core.numbers import stored_amount
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.notifications.service import link_to, notify
from consult.problems.models import Problem
from consult.proposals import workflow
from consult.proposals.models import Proposal, ProposalVersion
from consult.proposals.policy import proposal_actor
from consult.proposals.workflow import TransitionRefused  # noqa: F401  (re-exported for views)
from consult.votes import ballots
from consult.votes import service as votes
from consult.votes.models import VoteRound, VoteTally
from consult.votes.service import VoteError


def apply_transition(
    proposal: Proposal,
    action: str,
    by: User,
    *,
    target: ProposalState | None = None,
    notify_other_side: bool = True,
    now: datetime | None = None,
    **detail,
) -> ProposalState:
    """Move ``proposal`` by ``action`` as the workflow table allows for ``by``'s role.

    Raises :class:`TransitionRefused` (with a readable message) when the table has no such
    move. Writes the audit event and notifies the other side.
    """
    before = proposal.state
    after = workflow.next_state(before, action, _actor(by, proposal), target)
    proposal.state = after
    proposal.updated_at = now or utcnow()
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
            link=link_to("proposals.show", proposal_id=proposal.id),
            proposal_id=proposal.id,
            title=proposal.title,
            state=after.value,  # a code: the reader's language is chosen when it is shown
        )
    return after


def people_to_tell(proposal: Proposal, by: User) -> list[User]:
    """The other side of ``by``: the CO's leaders for the municipality and staff, the
    municipality's officers for the CO (once the proposal has been submitted)."""
    leaders = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.co_id == proposal.co_id,
            Membership.role == MembershipRole.LEADER,
            Membership.left_on.is_(None),
        )
    ).all()
    officers = officers_of(proposal.municipality_id) if proposal.submitted_at is not None else []
    if by.is_officer or by.is_staff:
        people = list(leaders)
    elif any(u.id == by.id for u in leaders):
        people = list(officers)
    else:
        people = list(leaders) + list(officers)
    return [u for u in people if u.id != by.id]


# --- errors ---------------------------------------------------------------------------------


class ProposalError(Refusal):
    """A readable reason a proposal change was refused; ``field`` names the form field it
    belongs to, when there is one, so the view can show it there."""


class VersionIsImmutable(Exception):
    """Raised on flush when code tries to change or delete a saved proposal version."""


def check_transition(proposal: Proposal, action: str, by: User | None) -> None:
    """Raise :class:`TransitionRefused` now if ``by`` cannot do ``action`` in this state,
    before a service changes anything else."""
    workflow.next_state(proposal.state, action, _actor(by, proposal))


def _actor(by: User | None, proposal: Proposal) -> str | None:
    """The workflow role of ``by``; None stands for the platform itself (scheduled work)."""
    return workflow.SYSTEM if by is None else proposal_actor(by, proposal)


# --- drafting -------------------------------------------------------------------------------

#: the terms a leader types; currency and municipality come from the CO
EDITABLE = (
    "title",
    "description",
    "infrastructure_type",
    "location",
    "latitude",
    "longitude",
    "estimated_cost",
    "community_cash",
    "community_labour",
    "amount_requested",
    "households_benefiting",
    "timeline",
)
MONEY_FIELDS = ("estimated_cost", "community_cash", "community_labour", "amount_requested")


def check_terms(terms: dict, currency: str) -> dict:
    """The terms cleaned (money as two-decimal ``Decimal``), or :class:`ProposalError`.

    The money must add up: what the municipality is asked for plus the community's cash and
    labour is the estimated cost, so nobody negotiates over a gap nobody noticed.
    """
    from consult.core.formatting import money

    clean = {name: terms.get(name) for name in EDITABLE}
    for name in MONEY_FIELDS:
        value = clean[name]
        value = Decimal("0") if value is None else stored_amount(value, currency, name)
        if value < 0:
            raise ProposalError(_l("An amount cannot be negative."), field=name)
        clean[name] = value
    households = clean["households_benefiting"]
    if households is not None and households < 0:
        raise ProposalError(_l("Cannot be negative."), field="households_benefiting")
    if not (clean["title"] or "").strip():
        raise ProposalError(_l("Give the proposal a title."), field="title")
    total = clean["amount_requested"] + clean["community_cash"] + clean["community_labour"]
    if total != clean["estimated_cost"]:
        raise ProposalError(
            _l(
                "Requested from the municipality + community cash + community labour add up "
                "to %(total)s, not the estimated cost of %(cost)s.",
                total=money(total, currency),
                cost=money(clean["estimated_cost"], currency),
            ),
            field="estimated_cost",
        )
    return clean


def answerable_problems(co_id: int, proposal: Proposal | None = None) -> list[Problem]:
    """The problems a proposal may answer: the CO's open ones, plus those it already answers."""
    linked = {pr.id for pr in proposal.problems} if proposal else set()
    rows = db.session.scalars(
        select(Problem)
        .where(Problem.co_id == co_id)
        .where((Problem.status == ProblemStatus.OPEN) | Problem.id.in_(linked or [0]))
        .order_by(Problem.title)
    )
    return list(rows)


def _check_problems(co_id: int, problems: list[Problem], proposal: Proposal | None) -> None:
    allowed = {pr.id for pr in answerable_problems(co_id, proposal)}
    for pr in problems:
        if pr.id not in allowed:
            raise ProposalError(
                _l("“%(title)s” is not an open problem of this CO.", title=pr.title),
                field="problems",
            )


def draft_proposal(
    co: CommunityOrganisation,
    by: User,
    terms: dict,
    problems: list[Problem] = (),
    *,
    now: datetime | None = None,
) -> Proposal:
    """Create a draft proposal for ``co`` in its municipality's currency; audited."""
    currency = co.municipality.currency
    clean = check_terms(terms, currency)
    problems = list(problems)
    _check_problems(co.id, problems, None)
    p = Proposal(
        co_id=co.id,
        municipality_id=co.municipality_id,
        currency=currency,
        state=ProposalState.DRAFT,
        created_by_id=by.id,
        created_at=now or utcnow(),
        **clean,
    )
    p.problems = problems
    db.session.add(p)
    db.session.flush()
    record(
        "proposal.created",
        p,
        by,
        proposal_id=p.id,
        co_id=co.id,
        terms=p.terms(),
        problems=[pr.id for pr in problems],
    )
    return p


def update_proposal(proposal: Proposal, by: User, terms: dict, problems: list[Problem]) -> dict:
    """Change a draft's terms and problems; returns (and audits) what changed."""
    if proposal.state != ProposalState.DRAFT:
        raise ProposalError(
            _l("Only a draft can be edited. Revise the proposal first to make it a draft again.")
        )
    clean = check_terms(terms, proposal.currency)
    problems = list(problems)
    _check_problems(proposal.co_id, problems, proposal)
    changes = {}
    for name, value in clean.items():
        before = getattr(proposal, name)
        if before != value:
            changes[name] = [before, value]
            setattr(proposal, name, value)
    before_ids = sorted(pr.id for pr in proposal.problems)
    after_ids = sorted(pr.id for pr in problems)
    if before_ids != after_ids:
        changes["problems"] = [before_ids, after_ids]
        proposal.problems = problems
    if changes:
        proposal.updated_at = utcnow()
        record(
            "proposal.edited",
            proposal,
            by,
            proposal_id=proposal.id,
            co_id=proposal.co_id,
            changes=changes,
        )
    return changes


# --- the members' vote on the proposal ----------------------------------------------------
# The rounds, ballots, tallies and the result rule are the votes feature's; here is what a vote
# means for the proposal's lifecycle (draft → voting → approved, or back to draft).


def current_round(proposal: Proposal) -> VoteRound | None:
    """The open member vote on the proposal itself, if any."""
    return votes.open_round_of(proposal)


def open_vote(
    proposal: Proposal, by: User, closes_at: datetime, *, now: datetime | None = None
) -> VoteRound:
    """Open a member vote until ``closes_at`` (aware UTC) with the CO's current rule."""
    now = now or utcnow()
    check_transition(proposal, "open_vote", by)
    rnd = votes.open_round(proposal, by, closes_at, now=now)
    apply_transition(
        proposal,
        "open_vote",
        by,
        notify_other_side=False,  # an internal matter of the CO: its members are told below
        now=now,
        round_id=rnd.id,
        closes_at=closes_at,
        quorum_percent=rnd.quorum_percent,
        threshold_percent=rnd.threshold_percent,
    )
    votes.tell_members(
        proposal, "vote.opened", link_to("proposals.show", proposal_id=proposal.id), but=by
    )
    return rnd


def cast_vote(
    proposal: Proposal, membership: Membership, choice: VoteChoice, *, now: datetime | None = None
) -> ballots.Outcome:
    """Record ``membership``'s vote, or change it: returns "cast", "changed" or "unchanged"
    (see :func:`consult.votes.ballots.cast`)."""
    ballots.check_voter(proposal, membership)
    if proposal.state != ProposalState.VOTING:
        raise votes.no_open_vote()
    return ballots.cast(proposal, membership, choice, now=now)


def record_tally(
    proposal: Proposal,
    meeting: Meeting,
    by: User,
    counts: dict[str, int],
    *,
    now: datetime | None = None,
) -> VoteTally:
    """Record (or replace) a meeting's show-of-hands counts by gender, of people who did
    not vote online; audited with the counts it replaced."""
    if proposal.state != ProposalState.VOTING:
        raise votes.no_open_vote()
    return votes.record_tally(proposal, meeting, by, counts, now=now)


def close_vote(proposal: Proposal, by: User | None, *, now: datetime | None = None) -> VoteRound:
    """Close the open vote (early if the leader wishes) and fix its result on the round.

    Approved moves the proposal to approved; rejected or no quorum sends it back to draft.
    ``by=None`` is the platform closing a vote whose time is up (``consult close-votes``).
    """
    now = now or utcnow()
    _lock_proposal(proposal)  # proposal, then round: the order of consult/core/locking.py
    check_transition(proposal, "close_vote", by)
    rnd = votes.lock_round(proposal)
    if rnd is None:
        raise votes.no_open_vote()
    if by is None and now < rnd.closes_at:
        raise VoteError(_l("Only the leader may close a vote before its time."))
    b = votes.close(rnd, now=now)
    result = b.result
    target = ProposalState.APPROVED if result == VoteResult.APPROVED else ProposalState.DRAFT
    apply_transition(
        proposal,
        "close_vote",
        by,
        target=target,
        notify_other_side=False,  # members are told below
        now=now,
        round_id=rnd.id,
        result=result,
        yes=b.yes,
        no=b.no,
        abstain=b.abstain,
        online=b.count(source="online"),
        at_meetings=b.count(source="meetings"),
        members_at_close=b.members,
        set_aside=b.set_aside,
        early=now < rnd.closes_at,
    )
    votes.tell_members(
        proposal,
        "vote.closed",
        link_to("proposals.show", proposal_id=proposal.id),
        result=result.value,
    )
    return rnd


def _lock_proposal(proposal: Proposal) -> None:
    """The proposal's row lock, first (see consult/core/locking.py), and its state as
    committed by whoever held it before us."""
    lock_row(Proposal, proposal.id)
    db.session.refresh(proposal)


def _due(now: datetime):
    return (
        select(Proposal.id)
        .join(VoteRound, VoteRound.proposal_id == Proposal.id)
        .where(
            VoteRound.subject == VoteSubject.PROPOSAL,
            VoteRound.closed_at.is_(None),
            VoteRound.closes_at <= now,
            Proposal.state == ProposalState.VOTING,
        )
    )


def due_votes(*, now: datetime | None = None) -> list[int]:
    """The proposals whose vote's closing time has passed and is still open. Votes on
    counter-offers are left to the leader, who must then answer the municipality."""
    return list(db.session.scalars(_due(now or utcnow()).order_by(Proposal.id)))


def close_due_vote(proposal_id: int, *, now: datetime | None = None) -> VoteRound | None:
    """Close one vote whose time is up, as the platform, so a result is fixed even when the
    leader forgets. None, without waiting, when it is no longer due (closed meanwhile) or
    someone else holds it right now (a leader closing it by hand, another ``close-votes``):
    that one fixes the result. The caller commits each vote on its own."""
    now = now or utcnow()
    # Skip what another transaction holds instead of queueing behind it (PostgreSQL; SQLite
    # has one writer at a time anyway): the proposal first, then its round.
    held = (
        _due(now)
        .where(Proposal.id == proposal_id)
        .with_for_update(skip_locked=True, key_share=True)
    )
    if db.session.scalar(held) is None:
        return None
    proposal = db.session.get(Proposal, proposal_id, populate_existing=True)
    return close_vote(proposal, None, now=now)


def close_due_votes(*, now: datetime | None = None) -> list[VoteRound]:
    """Close every due vote in this one transaction (tests and small tools; the command
    ``consult close-votes`` commits each vote on its own)."""
    now = now or utcnow()
    closed = [close_due_vote(pid, now=now) for pid in due_votes(now=now)]
    return [rnd for rnd in closed if rnd is not None]


# --- submission and after -------------------------------------------------------------------


def officers_of(municipality_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.role == UserRole.OFFICER,
                User.municipality_id == municipality_id,
                User.active.is_(True),
            )
        )
    )


def submit(proposal: Proposal, by: User, *, now: datetime | None = None) -> ProposalVersion:
    """Send an approved proposal to the municipality: freeze its terms as the next version,
    start the response clock on first submission, mark its problems addressed, tell the
    municipality's officers."""
    now = now or utcnow()
    check_transition(proposal, "submit", by)
    last = db.session.scalar(
        select(func.max(ProposalVersion.number)).where(ProposalVersion.proposal_id == proposal.id)
    )
    version = ProposalVersion(
        proposal_id=proposal.id,
        number=(last or 0) + 1,
        reason="submitted",
        created_by_id=by.id,
        created_at=now,
        **proposal.terms(),
    )
    db.session.add(version)
    if proposal.submitted_at is None:
        proposal.submitted_at = now
    for pr in proposal.problems:
        if pr.status == ProblemStatus.OPEN:
            pr.status = ProblemStatus.ADDRESSED
            pr.updated_at = now
    db.session.flush()
    apply_transition(
        proposal,
        "submit",
        by,
        notify_other_side=False,
        now=now,
        version=version.number,
        terms=version.terms(),
    )
    notify(
        officers_of(proposal.municipality_id),
        "proposal.submitted",
        link=link_to("proposals.show", proposal_id=proposal.id),
        proposal_id=proposal.id,
        co=proposal.organisation.name,
        title=proposal.title,
    )
    return version


def revise(proposal: Proposal, by: User) -> None:
    """Take an approved or declined proposal back to draft, to change it and vote again."""
    apply_transition(proposal, "revise", by)


def withdraw(proposal: Proposal, by: User, reason: str, *, now: datetime | None = None) -> None:
    """Withdraw the proposal for good (any state before agreed), with the reason on record.

    An open vote is closed without a result, and problems it was the answer to are open again.
    """
    now = now or utcnow()
    reason = (reason or "").strip()
    check_transition(proposal, "withdraw", by)
    if not reason:
        raise ProposalError(_l("Say why the proposal is withdrawn."), field="reason")
    _lock_proposal(proposal)
    check_transition(proposal, "withdraw", by)  # again, as the proposal is now
    rnd = votes.lock_round(proposal)
    if rnd is not None:
        votes.set_aside(rnd, now=now)
    apply_transition(proposal, "withdraw", by, now=now, reason=reason)
    for pr in proposal.problems:
        if pr.status == ProblemStatus.ADDRESSED and not _answered_elsewhere(pr, proposal):
            pr.status = ProblemStatus.OPEN
            pr.updated_at = now


_INACTIVE = (ProposalState.WITHDRAWN, ProposalState.DECLINED)


def _answered_elsewhere(problem: Problem, proposal: Proposal) -> bool:
    from consult.proposals.models import proposal_problems

    return bool(
        db.session.scalar(
            select(func.count(Proposal.id))
            .join(proposal_problems, proposal_problems.c.proposal_id == Proposal.id)
            .where(
                proposal_problems.c.problem_id == problem.id,
                Proposal.id != proposal.id,
                Proposal.submitted_at.is_not(None),
                Proposal.state.not_in(_INACTIVE),
            )
        )
    )


# --- versions are frozen --------------------------------------------------------------------

#: the only columns of a version that may be filled in later, once: the municipality agreeing
#: to exactly this version
_SET_ONCE = ("agreed_at", "agreed_by_id")


@event.listens_for(ProposalVersion, "before_update")
def _refuse_version_change(mapper, connection, target):
    state = inspect(target)
    for attr in mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        if attr.key in _SET_ONCE:
            before = list(history.deleted)
            if not before:  # changed without being loaded first: ask the database
                column = ProposalVersion.__table__.c[attr.key]
                before = [
                    connection.scalar(
                        select(column).where(ProposalVersion.__table__.c.id == target.id)
                    )
                ]
            if all(v is None for v in before):
                continue
        raise VersionIsImmutable(f"proposal version {target.id}: {attr.key} cannot change")


@event.listens_for(ProposalVersion, "before_delete")
def _refuse_version_delete(mapper, connection, target):
    raise VersionIsImmutable(f"proposal version {target.id} cannot be deleted")
