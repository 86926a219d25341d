"""Priority rounds: a CO ranks its open problems by dot voting and show of hands.

Counting rules (also written on the round's page):

- each member spreads at most ``points_per_member`` points over the round's problems, at most
  ``max_per_problem`` on one; a new ballot replaces the member's previous one;
- the leader may record a meeting's show of hands per problem, by gender, for people at the
  meeting who did not give points online; **each raised hand counts as one point**;
- a problem's score is its points plus its hands; equal scores share a rank (1, 2, 2, 4) and
  are listed oldest problem first.

The electorate is the round's roll: the CO's members when it opened. People who join later
are not on it; a member who leaves before the close has the points set aside and leaves the
base. Turnout is people on the roll who gave points over the roll (``members_at_close`` after
the close). Participants by gender add, for each meeting, the largest show of hands any one problem
got from that gender: people may raise a hand for several problems, so that maximum is the
surest head-count of who took part.

Services check the rule, change state, write the audit event and flush; the view commits.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, false, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from consult.audit.models import AuditEvent
from consult.audit.service import event_values, record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership
from consult.communities.service import current_members
from consult.core.db import utcnow
from consult.core.enums import Gender, ProblemStatus
from consult.core.locking import lock_row
from consult.core.pages import rows_of
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.meetings.hands import HandsRefused, check_show_of_hands, countable_meetings
from consult.meetings.models import Meeting
from consult.notifications.service import link_to, notify
from consult.priorities.counting import (
    GENDERS,
    on_roll,
    roll_size,
    round_problem_ids,
    standings,
)
from consult.problems.models import (
    PriorityPoints,
    PriorityRoll,
    PriorityRound,
    PriorityTally,
    Problem,
)


class PriorityError(Refusal):
    """A readable reason a priority round action was refused."""


# --- locking --------------------------------------------------------------------------------


# --- reading a round --------------------------------------------------------------------------


def open_problems(co: CommunityOrganisation) -> list[Problem]:
    return list(
        db.session.scalars(
            select(Problem)
            .where(Problem.co_id == co.id, Problem.status == ProblemStatus.OPEN)
            .order_by(Problem.id)
        )
    )


def current_round(co_id: int) -> PriorityRound | None:
    """The CO's open round, if any."""
    return db.session.scalars(
        select(PriorityRound)
        .where(PriorityRound.co_id == co_id, PriorityRound.closed_at.is_(None))
        .order_by(PriorityRound.id.desc())
        .limit(1)
    ).first()


def open_and_latest_closed(co_id: int) -> tuple[PriorityRound | None, PriorityRound | None]:
    """The CO's open round and its latest closed one (for its home), in one statement."""
    open_id = (
        select(PriorityRound.id)
        .where(PriorityRound.co_id == co_id, PriorityRound.closed_at.is_(None))
        .order_by(PriorityRound.id.desc())
        .limit(1)
    )
    closed_id = (
        select(PriorityRound.id)
        .where(PriorityRound.co_id == co_id, PriorityRound.closed_at.is_not(None))
        .order_by(PriorityRound.closed_at.desc(), PriorityRound.id.desc())
        .limit(1)
    )
    rounds = db.session.scalars(rows_of(PriorityRound, open_id, closed_id))
    by_state = {r.closed_at is None: r for r in rounds}
    return by_state.get(True), by_state.get(False)


def rounds_of(co_id: int) -> list[PriorityRound]:
    """The CO's rounds, the open one first, then the most recent."""
    return list(
        db.session.scalars(
            select(PriorityRound)
            .where(PriorityRound.co_id == co_id)
            .order_by(PriorityRound.closed_at.is_not(None), PriorityRound.id.desc())
        )
    )


def round_problems(rnd: PriorityRound) -> list[Problem]:
    ids = round_problem_ids(rnd)
    if not ids:
        return []
    return list(db.session.scalars(select(Problem).where(Problem.id.in_(ids)).order_by(Problem.id)))


def is_accepting(rnd: PriorityRound, now: datetime | None = None) -> bool:
    """True while members may still give points: not closed and before its closing time."""
    now = now or utcnow()
    return rnd.closed_at is None and (rnd.closes_at is None or now < rnd.closes_at)


def ballot_of(rnd: PriorityRound, membership: Membership) -> dict[int, int]:
    """The member's current distribution ``{problem_id: points}`` (empty if none)."""
    return dict(
        db.session.execute(
            select(PriorityPoints.problem_id, PriorityPoints.points).where(
                PriorityPoints.round_id == rnd.id,
                PriorityPoints.membership_id == membership.id,
            )
        ).all()
    )


def tally_of(rnd: PriorityRound, meeting_id: int) -> dict[int, dict[str, int]]:
    """The recorded show of hands of one meeting: ``{problem_id: {women, men, other}}``."""
    rows = db.session.scalars(
        select(PriorityTally).where(
            PriorityTally.round_id == rnd.id, PriorityTally.meeting_id == meeting_id
        )
    )
    return {t.problem_id: {"women": t.women, "men": t.men, "other": t.other} for t in rows}


def tally_meetings(rnd: PriorityRound, *, now: datetime | None = None) -> list[Meeting]:
    """The CO's meetings whose show of hands may count in ``rnd``: those already held."""
    return countable_meetings(rnd.co_id, now=now or utcnow())


def tallied_meetings(rnd: PriorityRound) -> list[Meeting]:
    return list(
        db.session.scalars(
            select(Meeting)
            .where(
                Meeting.id.in_(
                    select(PriorityTally.meeting_id).where(PriorityTally.round_id == rnd.id)
                )
            )
            .order_by(Meeting.held_at)
        )
    )


# --- opening --------------------------------------------------------------------------------


def open_round(
    co: CommunityOrganisation,
    *,
    by: User,
    title: str,
    points_per_member: int | None = None,
    max_per_problem: int | None = None,
    closes_at: datetime | None = None,
) -> PriorityRound:
    """Open a round over the CO's open problems. One open round per CO at a time."""
    points = co.priority_points if points_per_member is None else points_per_member
    most = points if max_per_problem is None else max_per_problem
    if points < 1:
        raise PriorityError(_l("Each member needs at least one point to give."))
    if not 1 <= most <= points:
        raise PriorityError(
            _l("The most points on one problem must be between 1 and %(n)d.", n=points)
        )
    if closes_at is not None and closes_at <= utcnow():
        raise PriorityError(_l("The closing time must be in the future."))
    # Lock the CO so two leaders opening at the same instant cannot both see "no open round".
    lock_row(CommunityOrganisation, co.id)
    if current_round(co.id) is not None:
        raise PriorityError(_l("A priority round is already open. Close it first."))
    problems = open_problems(co)
    if not problems:
        raise PriorityError(
            _l("There is no open problem to rank. Record the community's problems first.")
        )
    rnd = PriorityRound(
        organisation=co,
        title=title.strip(),
        points_per_member=points,
        max_per_problem=most,
        opened_by_id=by.id,
        closes_at=closes_at,
        problems=problems,
    )
    db.session.add(rnd)
    db.session.flush()
    db.session.execute(
        insert(PriorityRoll).from_select(
            ["round_id", "membership_id", "set_aside"],
            select(literal(rnd.id), Membership.id, false()).where(
                Membership.co_id == co.id, Membership.left_on.is_(None)
            ),
        )
    )
    record(
        "priority_round.opened",
        rnd,
        by,
        co_id=co.id,
        title=rnd.title,
        points_per_member=points,
        max_per_problem=most,
        closes_at=closes_at,
        problem_ids=[p.id for p in problems],
    )
    _tell_members(rnd, by, "priorities.opened")
    return rnd


# --- ballots --------------------------------------------------------------------------------


def check_ballot(rnd: PriorityRound, points: dict[int, int]) -> dict[int, int]:
    """The ballot without zero entries, or :class:`PriorityError` saying what is wrong."""
    allowed = {p.id for p in rnd.problems}  # fixed when the round opened
    given: dict[int, int] = {}
    for problem_id, n in points.items():
        n = int(n or 0)
        if n < 0:
            raise PriorityError(_l("Points cannot be negative."))
        if n == 0:
            continue
        if problem_id not in allowed:
            raise PriorityError(_l("Points can only go to the problems of this round."))
        if n > rnd.max_per_problem:
            raise PriorityError(_l("At most %(n)d points on one problem.", n=rnd.max_per_problem))
        given[int(problem_id)] = n
    total = sum(given.values())
    if total > rnd.points_per_member:
        raise PriorityError(
            _l(
                "You gave %(total)d points; you have %(n)d to give.",
                total=total,
                n=rnd.points_per_member,
            )
        )
    return given


def give_points(
    rnd: PriorityRound, membership: Membership, points: dict[int, int]
) -> dict[int, int]:
    """Replace ``membership``'s distribution in ``rnd`` with ``points`` ({problem_id: points}).

    All zeros withdraws the ballot. Returns the distribution kept (without zeros).

    Exactness: the round row is write-locked first, by a no-op UPDATE that only matches while
    the round is open, before its closing time and with the member on its roll, so a ballot
    and the close cannot cross. On PostgreSQL, two submissions by the same member (or by
    anyone, in the same round) therefore run one after the other; the second one's DELETE, a
    new statement under READ COMMITTED, sees and removes the first one's committed rows (and
    returns them: the audit's "before") before inserting its own. On SQLite the lock is the
    database's single write lock. So the member ends with exactly one of the two
    distributions, never a mix. If an insert still fails, the unique constraint (round,
    membership, problem) has refused a duplicate: the member is asked to try again and the
    caller's rollback keeps the previous ballot; nothing is checked-then-inserted.

    Statements: the lock, the DELETE … RETURNING, then one INSERT of every row and the audit
    event (one statement on PostgreSQL, two on SQLite). The round's problems come with
    ``rnd``: load it with them to save one more.
    """
    if membership.co_id != rnd.co_id or membership.left_on is not None:
        raise PriorityError(_l("Only current members of this CO can give points."))
    now = utcnow()
    if not _lock_for_ballot(rnd, membership, now):
        raise _why_refused(rnd, membership, now)
    given = check_ballot(rnd, points)
    mine = (PriorityPoints.round_id == rnd.id, PriorityPoints.membership_id == membership.id)
    before = dict(
        db.session.execute(
            delete(PriorityPoints)
            .where(*mine)
            .returning(PriorityPoints.problem_id, PriorityPoints.points)
            .execution_options(synchronize_session=False)
        ).all()
    )
    if not (before or given):
        return given  # nothing given, nothing taken back
    event = insert(AuditEvent).values(
        **event_values(
            "priority_round.ballot_changed" if before else "priority_round.ballot_given",
            "PriorityRound",
            rnd.id,
            membership.user_id,
            co_id=rnd.co_id,
            membership_id=membership.id,
            before={str(k): v for k, v in sorted(before.items())},
            points={str(k): v for k, v in given.items()},
        )
    )
    rows = [
        {"round_id": rnd.id, "membership_id": membership.id, "problem_id": pid, "points": n}
        for pid, n in given.items()
    ]
    try:
        if not rows:
            db.session.execute(event)
        elif db.session.get_bind().dialect.name == "postgresql":
            # the rows and the audit event in one statement (a data-modifying CTE)
            db.session.execute(event.add_cte(insert(PriorityPoints).values(rows).cte("given")))
        else:
            db.session.execute(insert(PriorityPoints).values(rows))
            db.session.execute(event)
    except IntegrityError as error:
        raise PriorityError(
            _l("Your points were sent twice at the same moment. Please send them again.")
        ) from error
    db.session.expire(rnd, ["points"])
    return given


def _lock_for_ballot(rnd: PriorityRound, membership: Membership, now: datetime) -> bool:
    """The round's write lock (a no-op UPDATE), taken only while a ballot may go in: the round
    open, before its closing time, the member on its roll. False when it did not match."""
    locked = db.session.execute(
        update(PriorityRound)
        .where(
            PriorityRound.id == rnd.id,
            PriorityRound.closed_at.is_(None),
            or_(PriorityRound.closes_at.is_(None), PriorityRound.closes_at > now),
            select(PriorityRoll.round_id)
            .where(
                PriorityRoll.round_id == PriorityRound.id,
                PriorityRoll.membership_id == membership.id,
            )
            .exists(),
        )
        .values(id=PriorityRound.id)
        .execution_options(synchronize_session=False)
    )
    return locked.rowcount == 1


def _why_refused(rnd: PriorityRound, membership: Membership, now: datetime) -> PriorityError:
    """Why :func:`_lock_for_ballot` did not match, read afresh (a refusal may cost more)."""
    if not on_roll(rnd, membership):
        return PriorityError(
            _l(
                "You are not on this round's roll: it lists the members when the round "
                "opened. You can give points in the next one."
            )
        )
    db.session.refresh(rnd, ["closed_at", "closes_at"])
    if rnd.closed_at is not None:
        return PriorityError(_l("This round is closed; points can no longer be given."))
    return PriorityError(_l("The time to give points is over."))


# --- show of hands --------------------------------------------------------------------------


def record_tally(
    rnd: PriorityRound,
    meeting: Meeting,
    counts: dict[int, dict[str, int]],
    by: User,
    *,
    now: datetime | None = None,
) -> None:
    """Record (or replace) ``meeting``'s show of hands for the round.

    ``counts`` maps problem id to ``{"women": n, "men": n, "other": n}``; problems left out
    or all zero get no row. A meeting's earlier tally for this round is replaced as a whole.
    The show-of-hands rule (:mod:`consult.meetings.hands`) applies to the largest count any
    one problem got from each gender, since one person may raise a hand for several problems.
    """
    now = now or utcnow()
    if meeting.co_id != rnd.co_id:
        raise PriorityError(_l("The meeting must be one of this CO's meetings."))
    allowed = set(round_problem_ids(rnd))
    rows: dict[int, dict[str, int]] = {}
    for problem_id, c in counts.items():
        c = {k: int(c.get(k) or 0) for k in ("women", "men", "other")}
        if any(v < 0 for v in c.values()):
            raise PriorityError(_l("Counts cannot be negative."))
        if not any(c.values()):
            continue
        if problem_id not in allowed:
            raise PriorityError(_l("Hands can only be counted for the problems of this round."))
        rows[int(problem_id)] = c
    suffix = {Gender.WOMAN: "women", Gender.MAN: "men", Gender.OTHER: "other"}
    try:
        check_show_of_hands(
            meeting,
            co_id=rnd.co_id,
            hands={g: max((c[suffix[g]] for c in rows.values()), default=0) for g in GENDERS},
            now=now,
            voted_online=select(PriorityPoints.membership_id).where(
                PriorityPoints.round_id == rnd.id
            ),
        )
    except HandsRefused as refused:
        raise PriorityError(str(refused)) from None
    if not lock_row(PriorityRound, rnd.id, PriorityRound.closed_at.is_(None)):
        raise PriorityError(_l("This round is closed; no more counts can be added."))
    before = tally_of(rnd, meeting.id)
    with db.session.begin_nested():
        db.session.execute(
            delete(PriorityTally)
            .where(PriorityTally.round_id == rnd.id, PriorityTally.meeting_id == meeting.id)
            .execution_options(synchronize_session=False)
        )
        db.session.add_all(
            PriorityTally(
                round_id=rnd.id, meeting_id=meeting.id, problem_id=pid, recorded_by_id=by.id, **c
            )
            for pid, c in rows.items()
        )
    record(
        "priority_round.tally_changed" if before else "priority_round.tally_recorded",
        rnd,
        by,
        co_id=rnd.co_id,
        meeting_id=meeting.id,
        before={str(k): v for k, v in before.items()},
        counts={str(k): v for k, v in rows.items()},
    )
    db.session.expire(rnd, ["tallies"])


# --- closing --------------------------------------------------------------------------------


def close_round(rnd: PriorityRound, *, by: User) -> None:
    """Close the round: fix ``closed_at`` and the member count that turnout is measured on."""
    if not lock_row(PriorityRound, rnd.id, PriorityRound.closed_at.is_(None)):
        raise PriorityError(_l("This round is already closed."))
    db.session.execute(
        update(PriorityRoll)
        .where(
            PriorityRoll.round_id == rnd.id,
            PriorityRoll.membership_id.in_(
                select(Membership.id).where(Membership.left_on.is_not(None))
            ),
        )
        .values(set_aside=True)
        .execution_options(synchronize_session=False)
    )
    rnd.closed_at = utcnow()
    db.session.flush()
    rnd.members_at_close = roll_size(rnd)
    db.session.flush()
    result = standings(rnd)
    record(
        "priority_round.closed",
        rnd,
        by,
        co_id=rnd.co_id,
        members_at_close=rnd.members_at_close,
        ranking=[[s.problem_id, s.rank, s.total] for s in result],
    )
    _tell_members(rnd, by, "priorities.closed", first=result[0].title if result else "")


def _tell_members(rnd: PriorityRound, by: User, kind: str, **params) -> None:
    """Everyone in the CO but the leader who acted: a round only counts if members take part."""
    notify(
        [m.user for m in current_members(rnd.co_id) if m.user_id != by.id],
        kind,
        link=link_to("priorities.show", round_id=rnd.id),
        title=rnd.title,
        **params,
    )
