"""The rules of proposals: drafting, voting, submission and every state change.

Services check the rule, change state, write the audit event and flush. They never commit,
touch the request or render; the view commits once.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite

from consult.audit.service import record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership
from consult.communities.service import member_count
from consult.core.db import CENT, utcnow
from consult.core.enums import (
    Gender,
    MembershipRole,
    ProblemStatus,
    ProposalState,
    UserRole,
    VoteChoice,
    VoteResult,
    VoteSubject,
)
from consult.core.formatting import local_datetime
from consult.core.locking import lock_row
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.notifications.service import link_to, notify
from consult.problems.models import Problem
from consult.proposals import workflow
from consult.proposals.models import Proposal, ProposalVersion
from consult.proposals.policy import proposal_actor
from consult.proposals.workflow import TransitionRefused  # noqa: F401  (re-exported for views)
from consult.votes.models import Vote, VoteRound, VoteTally


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
    after = workflow.next_state(before, action, _actor(by, proposal), target)
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


class VoteError(ProposalError):
    """A vote, tally or close that the rules refuse (closed, too late, wrong meeting…)."""


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
        value = Decimal("0") if value is None else Decimal(value).quantize(CENT)
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
    co: CommunityOrganisation, by: User, terms: dict, problems: list[Problem] = ()
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


# --- votes ----------------------------------------------------------------------------------

GENDERS = (Gender.WOMAN, Gender.MAN, Gender.OTHER)
#: VoteTally's columns by gender, in the order of GENDERS
_TALLY_SUFFIX = {Gender.WOMAN: "women", Gender.MAN: "men", Gender.OTHER: "other"}
TALLY_FIELDS = tuple(f"{c.value}_{_TALLY_SUFFIX[g]}" for c in VoteChoice for g in GENDERS)
#: how long before a vote opened a meeting may be held and still count (the vote is often
#: opened on the evening of the assembly that discusses it)
TALLY_GRACE = timedelta(days=1)


def members_of(co_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.co_id == co_id, Membership.left_on.is_(None))
        )
    )


def current_round(proposal: Proposal) -> VoteRound | None:
    """The open member vote on the proposal itself, if any."""
    return db.session.scalar(_newest_open_round(*_proposal_rounds(proposal)))


def _proposal_rounds(proposal: Proposal) -> tuple:
    return (VoteRound.proposal_id == proposal.id, VoteRound.subject == VoteSubject.PROPOSAL)


def _newest_open_round(*which, column=VoteRound):
    return (
        select(column)
        .where(*which, VoteRound.closed_at.is_(None))
        .order_by(VoteRound.id.desc())
        .limit(1)
    )


def _lock_open_round(proposal: Proposal) -> VoteRound | None:
    """The proposal's open round, locked until commit (see :func:`_lock_round`)."""
    return _lock_round(*_proposal_rounds(proposal))


def _lock_round(*which) -> VoteRound | None:
    """The newest open round matching ``which``, locked until commit and read fresh.

    Ballots, tallies and the close all take this lock first, so a close cannot slip between
    a ballot's checks and its insert, and each recount sees every committed ballot. The lock
    is a no-op write guarded by "still open" (:func:`lock_row`), which works on SQLite too,
    where ``FOR UPDATE`` does nothing.
    """
    round_id = db.session.scalar(_newest_open_round(*which, column=VoteRound.id))
    if round_id is None or not lock_row(VoteRound, round_id, VoteRound.closed_at.is_(None)):
        return None  # none open, or closed while we looked
    return db.session.get(VoteRound, round_id, populate_existing=True)


def open_vote(
    proposal: Proposal, by: User, closes_at: datetime, *, now: datetime | None = None
) -> VoteRound:
    """Open a member vote until ``closes_at`` (aware UTC) with the CO's current rule."""
    now = now or utcnow()
    check_transition(proposal, "open_vote", by)
    rnd = _new_round(proposal, by, closes_at, now)
    apply_transition(
        proposal,
        "open_vote",
        by,
        notify_other_side=False,  # an internal matter of the CO: its members are told below
        round_id=rnd.id,
        closes_at=closes_at,
        quorum_percent=rnd.quorum_percent,
        threshold_percent=rnd.threshold_percent,
    )
    _tell_members_vote_opened(proposal, by, link_to("proposals.show", proposal_id=proposal.id))
    return rnd


def _new_round(
    proposal: Proposal,
    by: User,
    closes_at: datetime,
    now: datetime,
    subject: VoteSubject = VoteSubject.PROPOSAL,
    counter_offer_id: int | None = None,
) -> VoteRound:
    """A round with the CO's rule as it is now, copied so later edits cannot change it."""
    if closes_at <= now:
        raise VoteError(_l("The closing time must be in the future."), field="closes_at")
    co = proposal.organisation
    rnd = VoteRound(
        proposal_id=proposal.id,
        subject=subject,
        counter_offer_id=counter_offer_id,
        opened_by_id=by.id,
        opened_at=now,
        closes_at=closes_at,
        quorum_percent=co.quorum_percent,
        threshold_percent=co.threshold_percent,
    )
    db.session.add(rnd)
    db.session.flush()
    return rnd


def _tell_members_vote_opened(proposal: Proposal, by: User, link: str | None) -> None:
    notify(
        [u for u in members_of(proposal.co_id) if u.id != by.id],
        "vote.opened",
        link=link,
        proposal_id=proposal.id,
        title=proposal.title,
    )


def _insert(table):
    """INSERT in the session's dialect, which is what carries ON CONFLICT."""
    name = db.session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


def _recount(rnd: VoteRound) -> None:
    """Set the round's cached totals from the stored ballots and tallies, in one UPDATE."""

    def online(choice: VoteChoice):
        return (
            select(func.count(Vote.id))
            .where(Vote.round_id == rnd.id, Vote.choice == choice)
            .scalar_subquery()
        )

    def hands(choice: VoteChoice):
        columns = [getattr(VoteTally, f"{choice.value}_{_TALLY_SUFFIX[g]}") for g in GENDERS]
        return (
            select(func.coalesce(func.sum(columns[0] + columns[1] + columns[2]), 0))
            .where(VoteTally.round_id == rnd.id)
            .scalar_subquery()
        )

    db.session.execute(
        update(VoteRound)
        .where(VoteRound.id == rnd.id)
        .values(
            yes_count=online(VoteChoice.YES) + hands(VoteChoice.YES),
            no_count=online(VoteChoice.NO) + hands(VoteChoice.NO),
            abstain_count=online(VoteChoice.ABSTAIN) + hands(VoteChoice.ABSTAIN),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.expire(rnd, ["yes_count", "no_count", "abstain_count"])


def _refuse_unless_open(proposal: Proposal, rnd: VoteRound | None, now: datetime) -> VoteRound:
    if rnd is None or proposal.state != ProposalState.VOTING:
        raise VoteError(_l("There is no open vote on this proposal."))
    _refuse_after_closing_time(proposal, rnd, now)
    return rnd


def _refuse_after_closing_time(proposal: Proposal, rnd: VoteRound, now: datetime) -> None:
    if now >= rnd.closes_at:
        raise VoteError(
            _l(
                "Voting closed at %(time)s. Nothing was counted.",
                time=local_datetime(rnd.closes_at, proposal.municipality.timezone, "short"),
            )
        )


def cast_vote(
    proposal: Proposal, membership: Membership, choice: VoteChoice, *, now: datetime | None = None
) -> str:
    """Record ``membership``'s vote, or change it: returns "cast", "changed" or "unchanged".

    One ``INSERT … ON CONFLICT DO UPDATE``: the unique (round, membership) constraint, not a
    prior look-up, decides whether this is a first vote, so two taps at once give one vote.
    The cached totals are then recounted from the rows in the same transaction.
    """
    now = now or utcnow()
    if membership.co_id != proposal.co_id or membership.left_on is not None:
        raise VoteError(_l("Only current members of the CO can vote."))
    rnd = _refuse_unless_open(proposal, _lock_open_round(proposal), now)
    return _upsert_ballot(proposal, rnd, membership, choice, now)


def _upsert_ballot(
    proposal: Proposal, rnd: VoteRound, membership: Membership, choice: VoteChoice, now
) -> str:
    """Insert or change ``membership``'s ballot in the locked, open ``rnd``; recount; audit."""
    table = Vote.__table__
    ins = _insert(table).values(
        round_id=rnd.id, membership_id=membership.id, choice=choice, cast_at=now
    )
    stmt = ins.on_conflict_do_update(
        index_elements=[table.c.round_id, table.c.membership_id],
        set_={"choice": ins.excluded.choice, "changed_at": now},
        where=table.c.choice != ins.excluded.choice,  # same choice again: nothing to change
    ).returning(table.c.id, table.c.changed_at)
    row = db.session.execute(stmt).first()
    if row is None:
        return "unchanged"
    _recount(rnd)
    outcome = "cast" if row.changed_at is None else "changed"
    vote = db.session.get(Vote, row.id, populate_existing=True)
    record(
        f"vote.{outcome}",
        vote,
        membership.user,
        proposal_id=proposal.id,
        co_id=proposal.co_id,
        round_id=rnd.id,
        choice=choice,
    )
    return outcome


def tally_meetings(proposal: Proposal, rnd: VoteRound, *, now: datetime | None = None):
    """The CO's meetings whose show of hands may count in ``rnd``."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Meeting)
            .where(
                Meeting.co_id == proposal.co_id,
                Meeting.held_at >= rnd.opened_at - TALLY_GRACE,
                Meeting.held_at <= now,
            )
            .order_by(Meeting.held_at.desc())
        )
    )


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
    now = now or utcnow()
    rnd = _refuse_unless_open(proposal, _lock_open_round(proposal), now)
    return _record_tally(proposal, rnd, meeting, by, counts, now)


def _record_tally(
    proposal: Proposal,
    rnd: VoteRound,
    meeting: Meeting,
    by: User,
    counts: dict[str, int],
    now: datetime,
    **detail,
) -> VoteTally:
    """Check and store a meeting's counts in ``rnd``, which the caller has locked and found
    open and in time; recount the round and audit (``detail`` is added to the audit event)."""
    if meeting.co_id != proposal.co_id:
        raise VoteError(_l("Choose one of this CO's meetings."), field="meeting_id")
    if meeting.held_at < rnd.opened_at - TALLY_GRACE or meeting.held_at > now:
        raise VoteError(
            _l("Only a meeting held while the vote is open (or the day before) can count."),
            field="meeting_id",
        )
    clean = {}
    for name in TALLY_FIELDS:
        value = counts.get(name) or 0
        if value < 0:
            raise VoteError(_l("Cannot be negative."), field=name)
        clean[name] = int(value)
    if meeting.people_present:  # head-counts were taken: hands cannot outnumber them
        for g in GENDERS:
            suffix = _TALLY_SUFFIX[g]
            hands = sum(clean[f"{c.value}_{suffix}"] for c in VoteChoice)
            present = getattr(meeting, f"{suffix}_present")
            if hands > present:
                raise VoteError(
                    _l(
                        "%(hands)d hands counted, but the meeting records %(present)d present "
                        "(%(gender)s).",
                        hands=hands,
                        present=present,
                        gender=g.label,
                    ),
                    field=f"yes_{suffix}",
                )
    tally = db.session.scalar(
        select(VoteTally).where(VoteTally.round_id == rnd.id, VoteTally.meeting_id == meeting.id)
    )
    before = None
    if tally is None:
        tally = VoteTally(round_id=rnd.id, meeting_id=meeting.id, recorded_by_id=by.id, **clean)
        db.session.add(tally)
        action = "vote.tally_recorded"
    else:
        before = {name: getattr(tally, name) for name in TALLY_FIELDS}
        for name, value in clean.items():
            setattr(tally, name, value)
        tally.recorded_by_id = by.id
        action = "vote.tally_replaced"
    db.session.flush()
    _recount(rnd)
    record(
        action,
        tally,
        by,
        proposal_id=proposal.id,
        co_id=proposal.co_id,
        round_id=rnd.id,
        meeting_id=meeting.id,
        counts=clean,
        before=before,
        **detail,
    )
    return tally


def round_tallies(rnd: VoteRound) -> list[VoteTally]:
    """The show-of-hands tallies recorded in ``rnd``, oldest first."""
    return list(
        db.session.scalars(
            select(VoteTally).where(VoteTally.round_id == rnd.id).order_by(VoteTally.id)
        )
    )


def decide(
    yes: int, no: int, participants: int, members: int, quorum_percent: int, threshold: int
) -> VoteResult:
    """The rule: quorum when participants × 100 ≥ quorum % × members; approved when, with
    quorum, yes × 100 > threshold % × (yes + no). Exactly at the threshold is not enough."""
    if participants * 100 < quorum_percent * members:
        return VoteResult.NO_QUORUM
    if yes * 100 > threshold * (yes + no):
        return VoteResult.APPROVED
    return VoteResult.REJECTED


@dataclass
class Breakdown:
    """How a round's numbers were reached: ballots online and hands at meetings, by gender."""

    round: VoteRound
    members: int
    online: dict = field(default_factory=dict)  # {(choice, gender): n}
    meetings: dict = field(default_factory=dict)
    meeting_count: int = 0

    def count(self, choice=None, gender=None, source=None) -> int:
        sources = [self.online, self.meetings]
        if source == "online":
            sources = [self.online]
        elif source == "meetings":
            sources = [self.meetings]
        return sum(
            n
            for src in sources
            for (c, g), n in src.items()
            if (choice is None or c == choice) and (gender is None or g == gender)
        )

    @property
    def yes(self) -> int:
        return self.count(VoteChoice.YES)

    @property
    def no(self) -> int:
        return self.count(VoteChoice.NO)

    @property
    def abstain(self) -> int:
        return self.count(VoteChoice.ABSTAIN)

    @property
    def participants(self) -> int:
        return self.count()

    @property
    def quorum_needed(self) -> int:
        return math.ceil(self.round.quorum_percent * self.members / 100)

    @property
    def quorum_met(self) -> bool:
        return self.participants * 100 >= self.round.quorum_percent * self.members

    @property
    def yes_share(self) -> Decimal | None:
        """Yes as a percentage of yes + no to one decimal, rounded down so a share just under
        the threshold never reads as equal to it; None when nobody voted yes or no."""
        decided = self.yes + self.no
        if not decided:
            return None
        return Decimal(self.yes * 1000 // decided) / 10

    @property
    def result(self) -> VoteResult:
        return decide(
            self.yes,
            self.no,
            self.participants,
            self.members,
            self.round.quorum_percent,
            self.round.threshold_percent,
        )


def breakdown(rnd: VoteRound) -> Breakdown:
    """Count a round from the stored rows: online ballots by the voter's gender, plus each
    meeting's tally columns. The denominator is the members at close, or now while open."""
    members = rnd.members_at_close
    if members is None:
        members = member_count(rnd.proposal.co_id)
    b = Breakdown(round=rnd, members=members)
    rows = db.session.execute(
        select(Vote.choice, User.gender, func.count(Vote.id))
        .join(Membership, Vote.membership_id == Membership.id)
        .join(User, Membership.user_id == User.id)
        .where(Vote.round_id == rnd.id)
        .group_by(Vote.choice, User.gender)
    )
    for choice, gender, n in rows:
        b.online[(choice, gender)] = n
    tallies = db.session.scalars(select(VoteTally).where(VoteTally.round_id == rnd.id)).all()
    b.meeting_count = len(tallies)
    for t in tallies:
        for c in VoteChoice:
            for g in GENDERS:
                key = (c, g)
                b.meetings[key] = b.meetings.get(key, 0) + getattr(
                    t, f"{c.value}_{_TALLY_SUFFIX[g]}"
                )
    return b


def close_vote(proposal: Proposal, by: User | None, *, now: datetime | None = None) -> VoteRound:
    """Close the open vote (early if the leader wishes) and fix its result on the round.

    Approved moves the proposal to approved; rejected or no quorum sends it back to draft.
    ``by=None`` is the platform closing a vote whose time is up (``consult close-votes``).
    """
    now = now or utcnow()
    check_transition(proposal, "close_vote", by)
    rnd = _lock_open_round(proposal)
    if rnd is None:
        raise VoteError(_l("There is no open vote on this proposal."))
    if by is None and now < rnd.closes_at:
        raise VoteError(_l("Only the leader may close a vote before its time."))
    _recount(rnd)
    b = breakdown(rnd)
    result = b.result
    rnd.closed_at = now
    rnd.members_at_close = b.members
    rnd.result = result
    target = ProposalState.APPROVED if result == VoteResult.APPROVED else ProposalState.DRAFT
    apply_transition(
        proposal,
        "close_vote",
        by,
        target=target,
        notify_other_side=False,  # members are told below
        round_id=rnd.id,
        result=result,
        yes=b.yes,
        no=b.no,
        abstain=b.abstain,
        online=b.count(source="online"),
        at_meetings=b.count(source="meetings"),
        members_at_close=b.members,
        early=now < rnd.closes_at,
    )
    notify(
        members_of(proposal.co_id),
        "vote.closed",
        link=link_to("proposals.show", proposal_id=proposal.id),
        proposal_id=proposal.id,
        title=proposal.title,
        result=result.value,
    )
    return rnd


def close_due_votes(*, now: datetime | None = None) -> list[VoteRound]:
    """Close every proposal vote whose closing time has passed, as the platform, so a result
    is fixed even when the leader forgets. Votes on counter-offers are left to the leader,
    who must then answer the municipality."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Proposal)
        .join(VoteRound, VoteRound.proposal_id == Proposal.id)
        .where(
            VoteRound.subject == VoteSubject.PROPOSAL,
            VoteRound.closed_at.is_(None),
            VoteRound.closes_at <= now,
            Proposal.state == ProposalState.VOTING,
        )
        .order_by(Proposal.id)
    ).all()
    return [close_vote(p, None, now=now) for p in due]


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
    rnd = _lock_open_round(proposal)
    if rnd is not None:
        rnd.closed_at = now
        rnd.members_at_close = member_count(proposal.co_id)
    apply_transition(proposal, "withdraw", by, reason=reason)
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


# --- member votes on a municipal counter-offer ----------------------------------------------
# Added for the negotiation feature. The proposal stays "negotiating" throughout: these rounds
# have subject COUNTER_OFFER and never touch the proposal's draft → voting workflow, and the
# functions above (which look only at subject PROPOSAL) are not changed by them.


def counter_offer_round(
    proposal: Proposal, offer_id: int, *, lock: bool = False
) -> VoteRound | None:
    """The open member vote on counter-offer ``offer_id``; locked and read fresh when
    ``lock``, as ballots and the close must be serialised (see :func:`_lock_round`)."""
    which = (
        VoteRound.proposal_id == proposal.id,
        VoteRound.subject == VoteSubject.COUNTER_OFFER,
        VoteRound.counter_offer_id == offer_id,
    )
    if lock:
        return _lock_round(*which)
    return db.session.scalar(_newest_open_round(*which))


def open_counter_offer_vote(
    proposal: Proposal,
    offer_id: int,
    by: User,
    closes_at: datetime,
    *,
    now: datetime | None = None,
) -> VoteRound:
    """Open a member vote on a counter-offer with the CO's current rule; tells the members.
    The caller (negotiation) checks that the offer may be put to a vote."""
    now = now or utcnow()
    if counter_offer_round(proposal, offer_id) is not None:
        raise VoteError(_l("The members are already voting on this counter-offer."))
    rnd = _new_round(proposal, by, closes_at, now, VoteSubject.COUNTER_OFFER, offer_id)
    record(
        "vote.opened",
        rnd,
        by,
        proposal_id=proposal.id,
        co_id=proposal.co_id,
        subject=VoteSubject.COUNTER_OFFER,
        counter_offer_id=offer_id,
        closes_at=closes_at,
        quorum_percent=rnd.quorum_percent,
        threshold_percent=rnd.threshold_percent,
    )
    _tell_members_vote_opened(proposal, by, link_to("negotiation.thread", proposal_id=proposal.id))
    return rnd


def cast_counter_offer_vote(
    proposal: Proposal,
    membership: Membership,
    offer_id: int,
    choice: VoteChoice,
    *,
    now: datetime | None = None,
) -> str:
    """A member's ballot on a counter-offer: "cast", "changed" or "unchanged". Same atomic
    upsert and exact recount as :func:`cast_vote`."""
    now = now or utcnow()
    if membership is None or membership.co_id != proposal.co_id or membership.left_on is not None:
        raise VoteError(_l("Only current members of the CO can vote."))
    rnd = counter_offer_round(proposal, offer_id, lock=True)
    if rnd is None:
        raise VoteError(_l("There is no open vote on this counter-offer."))
    _refuse_after_closing_time(proposal, rnd, now)
    return _upsert_ballot(proposal, rnd, membership, choice, now)


def record_counter_offer_tally(
    proposal: Proposal,
    offer_id: int,
    meeting: Meeting,
    by: User,
    counts: dict[str, int],
    *,
    now: datetime | None = None,
) -> VoteTally:
    """Record (or replace) a meeting's show of hands in the members' vote on a counter-offer,
    with the same checks, recount and audit as :func:`record_tally`."""
    now = now or utcnow()
    rnd = counter_offer_round(proposal, offer_id, lock=True)
    if rnd is None:
        raise VoteError(_l("There is no open vote on this counter-offer."))
    _refuse_after_closing_time(proposal, rnd, now)
    return _record_tally(
        proposal,
        rnd,
        meeting,
        by,
        counts,
        now,
        subject=VoteSubject.COUNTER_OFFER,
        counter_offer_id=offer_id,
    )


def close_counter_offer_vote(
    proposal: Proposal, offer_id: int, by: User, *, now: datetime | None = None
) -> tuple[VoteRound, Breakdown]:
    """Close the vote on a counter-offer and fix its result; the caller acts on the result
    (accept the offer when approved, reject it otherwise)."""
    now = now or utcnow()
    rnd = counter_offer_round(proposal, offer_id, lock=True)
    if rnd is None:
        raise VoteError(_l("There is no open vote on this counter-offer."))
    _recount(rnd)
    b = breakdown(rnd)
    rnd.closed_at = now
    rnd.members_at_close = b.members
    rnd.result = b.result
    record(
        "vote.closed",
        rnd,
        by,
        proposal_id=proposal.id,
        co_id=proposal.co_id,
        subject=VoteSubject.COUNTER_OFFER,
        counter_offer_id=offer_id,
        result=b.result,
        yes=b.yes,
        no=b.no,
        abstain=b.abstain,
        members_at_close=b.members,
        early=now < rnd.closes_at,
    )
    notify(
        members_of(proposal.co_id),
        "vote.closed",
        link=link_to("negotiation.thread", proposal_id=proposal.id),
        proposal_id=proposal.id,
        title=proposal.title,
        result=b.result.value,
    )
    return rnd, b
