"""The rules of a member vote: opening a round, ballots, show-of-hands tallies, the result.

One interface for every vote a CO holds on a proposal: the vote on the proposal itself
(``VoteSubject.PROPOSAL``, driven by ``proposals.service``) and the members' vote on a municipal
counter-offer (``VoteSubject.COUNTER_OFFER`` with the offer's id, driven by
``negotiation.service``). A round is found by its proposal, subject and counter-offer
(:func:`open_round_of`, :func:`lock_round`); ballots go through
:func:`consult.votes.ballots.cast`, tallies through :func:`record_tally`; :func:`close` fixes
the result by :func:`decide`.

The callers check their own workflow (may a vote open, may it close now), write their own
audit event for opening and closing, and tell the members. The ``proposal`` passed in is read
only for its ``id``, ``co_id``, ``organisation`` (the CO's voting rule) and ``municipality``
(its time zone), so this feature imports neither proposals nor negotiation.

The electorate (DESIGN.md, "Honest numbers"): every round has a roll, the CO's members when
it opens (:func:`fill_roll`). People who join later are not on it. A member who leaves before
the close has the ballot set aside and leaves the base. Ballots (a foreign key on the roll),
the cached totals, the breakdown and the quorum base all come from the same roll. While a
round is open a ballot moves the cached totals by +1/-1 and a tally recounts them; the close
recounts them from the roll as it stands then (a member who left is set aside there).

Services flush and never commit.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, func, insert, literal, select, update

from consult.audit.service import record
from consult.auth.models import User
from consult.communities.models import Membership
from consult.communities.service import members_of
from consult.core.db import utcnow
from consult.core.enums import Gender, VoteChoice, VoteResult, VoteSubject
from consult.core.formatting import local_datetime
from consult.core.locking import lock_row
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.meetings.hands import HandsRefused, check_show_of_hands, countable_meetings
from consult.meetings.models import Meeting
from consult.notifications.service import notify
from consult.votes.models import Vote, VoteRoll, VoteRound, VoteTally

GENDERS = (Gender.WOMAN, Gender.MAN, Gender.OTHER)
#: VoteTally's columns by gender, in the order of GENDERS
_TALLY_SUFFIX = {Gender.WOMAN: "women", Gender.MAN: "men", Gender.OTHER: "other"}
TALLY_FIELDS = tuple(f"{c.value}_{_TALLY_SUFFIX[g]}" for c in VoteChoice for g in GENDERS)
#: how long before a vote opened a meeting may be held and still count (the vote is often
#: opened on the evening of the assembly that discusses it)
TALLY_GRACE = timedelta(days=1)

_NO_OPEN_VOTE = {
    VoteSubject.PROPOSAL: _l("There is no open vote on this proposal."),
    VoteSubject.COUNTER_OFFER: _l("There is no open vote on this counter-offer."),
}


class VoteError(Refusal):
    """A vote, tally or close that the rules refuse (closed, too late, wrong meeting…)."""


def no_open_vote(subject: VoteSubject = VoteSubject.PROPOSAL) -> VoteError:
    """The refusal for a ballot, tally or close when no round of ``subject`` is open."""
    return VoteError(_NO_OPEN_VOTE[subject])


# --- finding a round ------------------------------------------------------------------------


def _which(proposal, subject: VoteSubject, counter_offer_id: int | None) -> tuple:
    which = (VoteRound.proposal_id == proposal.id, VoteRound.subject == subject)
    if counter_offer_id is not None:
        which += (VoteRound.counter_offer_id == counter_offer_id,)
    return which


def _newest_open_round(*which, column=VoteRound):
    return (
        select(column)
        .where(*which, VoteRound.closed_at.is_(None))
        .order_by(VoteRound.id.desc())
        .limit(1)
    )


def open_round_of(
    proposal, subject: VoteSubject = VoteSubject.PROPOSAL, counter_offer_id: int | None = None
) -> VoteRound | None:
    """The open round on ``proposal`` (or on its counter-offer ``counter_offer_id``), if any."""
    return db.session.scalar(_newest_open_round(*_which(proposal, subject, counter_offer_id)))


def lock_round(
    proposal, subject: VoteSubject = VoteSubject.PROPOSAL, counter_offer_id: int | None = None
) -> VoteRound | None:
    """The open round as :func:`open_round_of` finds it, locked until commit and read fresh.

    Ballots, tallies and the close all take this lock first, so a close cannot slip between
    a ballot's checks and its insert, and each recount sees every committed ballot. The lock
    is a no-op write guarded by "still open" (:func:`lock_row`), which works on SQLite too,
    where ``FOR UPDATE`` does nothing.
    """
    which = _which(proposal, subject, counter_offer_id)
    round_id = db.session.scalar(_newest_open_round(*which, column=VoteRound.id))
    if round_id is None or not lock_row(VoteRound, round_id, VoteRound.closed_at.is_(None)):
        return None  # none open, or closed while we looked
    return db.session.get(VoteRound, round_id, populate_existing=True)


def _locked_open_round(
    proposal, subject: VoteSubject, counter_offer_id: int | None, now: datetime
) -> VoteRound:
    rnd = lock_round(proposal, subject, counter_offer_id)
    if rnd is None:
        raise no_open_vote(subject)
    refuse_after_closing_time(proposal, rnd, now)
    return rnd


def refuse_after_closing_time(proposal, rnd: VoteRound, now: datetime) -> None:
    if now >= rnd.closes_at:
        raise VoteError(
            _l(
                "Voting closed at %(time)s. Nothing was counted.",
                time=local_datetime(rnd.closes_at, proposal.municipality.timezone, "short"),
            )
        )


# --- opening --------------------------------------------------------------------------------


def open_round(
    proposal,
    by: User,
    closes_at: datetime,
    *,
    now: datetime,
    subject: VoteSubject = VoteSubject.PROPOSAL,
    counter_offer_id: int | None = None,
) -> VoteRound:
    """A round until ``closes_at`` (aware UTC) with the CO's rule as it is now, copied so later
    edits cannot change it. The caller audits the opening and tells the members."""
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
    fill_roll(rnd, proposal.co_id)
    return rnd


# --- the electorate -------------------------------------------------------------------------


def fill_roll(rnd: VoteRound, co_id: int) -> None:
    """Put the CO's current members on ``rnd``'s roll, in one INSERT … SELECT."""
    db.session.execute(
        insert(VoteRoll).from_select(
            ["round_id", "membership_id", "set_aside"],
            select(literal(rnd.id), Membership.id, false()).where(
                Membership.co_id == co_id, Membership.left_on.is_(None)
            ),
        )
    )


def _standing(rnd: VoteRound):
    """Whether a roll row still counts: while open, the member has not left; once closed,
    what the close fixed."""
    if rnd.closed_at is None:
        return Membership.left_on.is_(None)
    return VoteRoll.set_aside.is_(False)


def _standing_ballots(rnd: VoteRound):
    """``select`` of the ids of the round's ballots whose voters still count."""
    return (
        select(Vote.id)
        .join(
            VoteRoll,
            and_(VoteRoll.round_id == Vote.round_id, VoteRoll.membership_id == Vote.membership_id),
        )
        .join(Membership, Membership.id == Vote.membership_id)
        .where(Vote.round_id == rnd.id, _standing(rnd))
    )


def on_roll(rnd: VoteRound, membership: Membership | None) -> bool:
    """True when ``membership`` is on the round's roll (and so may vote in it)."""
    if membership is None:
        return False
    return db.session.get(VoteRoll, (rnd.id, membership.id)) is not None


def roll_size(rnd: VoteRound) -> int:
    """The quorum base: people on the roll who still count."""
    if rnd.closed_at is not None and rnd.members_at_close is not None:
        return rnd.members_at_close
    return db.session.scalar(
        select(func.count())
        .select_from(VoteRoll)
        .join(Membership, Membership.id == VoteRoll.membership_id)
        .where(VoteRoll.round_id == rnd.id, _standing(rnd))
    )


def _fix_roll(rnd: VoteRound, now: datetime) -> None:
    """Close ``rnd`` at ``now`` and fix its roll: who had left by then is set aside, the
    base (``members_at_close``) and the cached totals are counted from what remains."""
    db.session.execute(
        update(VoteRoll)
        .where(
            VoteRoll.round_id == rnd.id,
            VoteRoll.membership_id.in_(
                select(Membership.id).where(Membership.left_on.is_not(None))
            ),
        )
        .values(set_aside=True)
        .execution_options(synchronize_session=False)
    )
    rnd.closed_at = now
    db.session.flush()
    _recount(rnd)
    rnd.members_at_close = roll_size(rnd)


def tell_members(proposal, kind: str, link: str | None, *, but: User | None = None, **detail):
    """Notify the CO's current members (but ``but``) about a vote on ``proposal``."""
    notify(
        [u for u in members_of(proposal.co_id) if but is None or u.id != but.id],
        kind,
        link=link,
        proposal_id=proposal.id,
        title=proposal.title,
        **detail,
    )


# --- the cached totals ----------------------------------------------------------------------


def _recount(rnd: VoteRound) -> None:
    """Set the round's cached totals from the ballots that count (see the roll) and the
    tallies, in one UPDATE."""
    counted = _standing_ballots(rnd)

    def online(choice: VoteChoice):
        return (
            select(func.count(Vote.id))
            .where(Vote.id.in_(counted), Vote.choice == choice)
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


# --- show of hands --------------------------------------------------------------------------


def tally_meetings(proposal, rnd: VoteRound, *, now: datetime | None = None) -> list[Meeting]:
    """The CO's meetings whose show of hands may count in ``rnd``."""
    return countable_meetings(
        proposal.co_id, now=now or utcnow(), since=rnd.opened_at - TALLY_GRACE
    )


def record_tally(
    proposal,
    meeting: Meeting,
    by: User,
    counts: dict[str, int],
    *,
    subject: VoteSubject = VoteSubject.PROPOSAL,
    counter_offer_id: int | None = None,
    now: datetime | None = None,
) -> VoteTally:
    """Record (or replace) a meeting's show-of-hands counts by gender, of people who did not
    vote online, in the open round; audited with the counts it replaced."""
    now = now or utcnow()
    rnd = _locked_open_round(proposal, subject, counter_offer_id, now)
    clean = {}
    for name in TALLY_FIELDS:
        value = counts.get(name) or 0
        if value < 0:
            raise VoteError(_l("Cannot be negative."), field=name)
        clean[name] = int(value)
    raised = {g: sum(clean[f"{c.value}_{_TALLY_SUFFIX[g]}"] for c in VoteChoice) for g in GENDERS}
    try:
        check_show_of_hands(
            meeting,
            co_id=proposal.co_id,
            hands=raised,
            now=now,
            since=rnd.opened_at - TALLY_GRACE,
            voted_online=select(Vote.membership_id).where(Vote.round_id == rnd.id),
            field=lambda g: f"yes_{_TALLY_SUFFIX[g]}",
        )
    except HandsRefused as refused:
        raise VoteError(str(refused), field=refused.field) from None
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
    detail = {}
    if subject != VoteSubject.PROPOSAL:
        detail = {"subject": subject, "counter_offer_id": counter_offer_id}
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


# --- the result -----------------------------------------------------------------------------


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
    #: the quorum base: people on the roll who still count
    members: int
    online: dict = field(default_factory=dict)  # {(choice, gender): n}
    meetings: dict = field(default_factory=dict)
    meeting_count: int = 0
    #: ballots of people who left the CO before the close, not counted
    set_aside: int = 0
    #: the base by gender (people on the roll who still count)
    roll_by_gender: dict = field(default_factory=dict)

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
    """Count a round from the stored rows: online ballots of people on the roll who still
    count, by the voter's gender, plus each meeting's tally columns. The denominator is the
    roll less those who left (fixed at the close)."""
    b = Breakdown(round=rnd, members=roll_size(rnd))
    rows = db.session.execute(
        select(Vote.choice, User.gender, func.count(Vote.id))
        .join(Membership, Vote.membership_id == Membership.id)
        .join(User, Membership.user_id == User.id)
        .where(Vote.id.in_(_standing_ballots(rnd)))
        .group_by(Vote.choice, User.gender)
    )
    for choice, gender, n in rows:
        b.online[(choice, gender)] = n
    ballots = db.session.scalar(select(func.count(Vote.id)).where(Vote.round_id == rnd.id))
    b.set_aside = ballots - b.count(source="online")
    b.roll_by_gender = dict(
        db.session.execute(
            select(User.gender, func.count())
            .select_from(VoteRoll)
            .join(Membership, Membership.id == VoteRoll.membership_id)
            .join(User, User.id == Membership.user_id)
            .where(VoteRoll.round_id == rnd.id, _standing(rnd))
            .group_by(User.gender)
        ).all()
    )
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


def close(rnd: VoteRound, *, now: datetime) -> Breakdown:
    """Fix the result of ``rnd`` (locked by :func:`lock_round`): set aside the ballots of
    people who left, recount from the rows, set closing time, the base at close and the
    result. The caller audits and tells."""
    _fix_roll(rnd, now)
    b = breakdown(rnd)
    rnd.result = b.result
    return b


def set_aside(rnd: VoteRound, *, now: datetime) -> None:
    """Close ``rnd`` without a result (the proposal was withdrawn while it was open)."""
    _fix_roll(rnd, now)
