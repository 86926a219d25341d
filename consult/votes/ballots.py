"""A member's ballot in a vote round (:func:`cast`), in as few statements as the engine allows.

The rules are those of :mod:`consult.votes.service` (the electorate, the lock order): a
ballot locks its round first, then writes its row, the round's cached totals and its audit
event. Services flush and never commit.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from consult.audit.models import AuditEvent
from consult.audit.service import event_values
from consult.communities.models import Membership
from consult.core.db import utcnow
from consult.core.enums import VoteChoice, VoteSubject
from consult.extensions import db
from consult.votes.models import Vote, VoteRoll, VoteRound
from consult.votes.service import (
    VoteError,
    no_open_vote,
    on_roll,
    open_round_of,
    refuse_after_closing_time,
)


def check_voter(proposal, membership: Membership | None) -> None:
    """Only a current member of the proposal's CO votes."""
    if membership is None or membership.co_id != proposal.co_id or membership.left_on is not None:
        raise VoteError(_l("Only current members of the CO can vote."))


class Outcome(str):
    """What a ballot did: "cast", "changed" or "unchanged" (compares equal to those words),
    with ``round_id``, the round it went into."""

    round_id: int

    def __new__(cls, value: str, round_id: int) -> "Outcome":
        outcome = super().__new__(cls, value)
        outcome.round_id = round_id
        return outcome


def cast(
    proposal,
    membership: Membership | None,
    choice: VoteChoice,
    *,
    subject: VoteSubject = VoteSubject.PROPOSAL,
    counter_offer_id: int | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Record ``membership``'s ballot in the open round, or change it: returns "cast",
    "changed" or "unchanged" (an :class:`Outcome`, which also names the round).

    Two statements on PostgreSQL, three on SQLite:

    1. lock the open round (:func:`_lock_for_ballot`), only if it is still open, before its
       closing time and ``membership`` is on its roll: a close waits for this ballot, and this
       ballot for the one before it in the same round;
    2. ``INSERT … ON CONFLICT DO UPDATE`` of the ballot: the unique (round, membership)
       constraint, not a prior look-up, decides whether this is a first vote, so two taps at
       once give one vote. The cached totals move by +1/-1 from the previous choice to this
       one (no recount) and the audit event is written: on PostgreSQL inside the same
       statement; on SQLite the totals move in step 1 (its lock is the database's, so what
       step 1 reads is final) and the audit event is a third statement.

    A refused ballot changes nothing and costs a few more statements, to say why.
    """
    now = now or utcnow()
    check_voter(proposal, membership)
    on_sqlite = db.session.get_bind().dialect.name == "sqlite"
    locked = _lock_for_ballot(
        proposal, subject, counter_offer_id, membership.id, choice, now, move_totals=on_sqlite
    )
    if locked is None:
        raise _why_refused(proposal, subject, counter_offer_id, membership, now)
    _expire(VoteRound, locked.id, "yes_count", "no_count", "abstain_count")
    if on_sqlite:
        outcome = _store_after_totals(proposal, locked.id, membership, choice, now)
    else:
        outcome = _store_with_totals(proposal, locked.id, membership, choice, now)
    return Outcome(outcome, locked.id)


def _lock_for_ballot(
    proposal,
    subject: VoteSubject,
    counter_offer_id: int | None,
    membership_id: int,
    choice: VoteChoice,
    now: datetime,
    *,
    move_totals: bool,
):
    """Step 1 of :func:`cast`: the no-op write that locks the newest open round (as
    :func:`lock_round`), guarded by everything a ballot needs; ``move_totals`` also moves the
    cached totals from the member's previous choice to ``choice``. The row ``(id,)``, or None
    when the round is not open, its time is up or the member is not on its roll.

    On PostgreSQL what a statement reads besides the locked row comes from before it waited
    for the lock, so the previous choice is read by the next statement there instead.
    """
    newest = aliased(VoteRound)
    which = [newest.proposal_id == proposal.id, newest.subject == subject]
    if counter_offer_id is not None:
        which.append(newest.counter_offer_id == counter_offer_id)
    open_id = (
        select(newest.id)
        .where(*which, newest.closed_at.is_(None))
        .order_by(newest.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    previous = (
        select(Vote.choice)
        .where(Vote.round_id == VoteRound.id, Vote.membership_id == membership_id)
        .scalar_subquery()
    )
    values = {"id": VoteRound.id}
    if move_totals:
        values.update(_moved_totals(VoteRound.__table__, choice, previous))
    stmt = (
        update(VoteRound)
        .where(
            VoteRound.id == open_id,
            VoteRound.closed_at.is_(None),
            VoteRound.closes_at > now,
            select(VoteRoll.round_id)
            .where(VoteRoll.round_id == VoteRound.id, VoteRoll.membership_id == membership_id)
            .exists(),
        )
        .values(**values)
        .returning(VoteRound.id)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(stmt).first()


def _moved_totals(rounds, choice: VoteChoice, previous) -> dict:
    """SET clauses moving a round's cached totals from ``previous`` (an SQL expression,
    NULL for a first ballot) to ``choice``: equal choices cancel out."""
    return {
        f"{c.value}_count": rounds.c[f"{c.value}_count"]
        + (1 if c == choice else 0)
        - case((previous == c, 1), else_=0)
        for c in VoteChoice
    }


def _upsert(round_id: int, membership_id: int, choice: VoteChoice, now: datetime):
    """The ballot's ``INSERT … ON CONFLICT DO UPDATE`` (nothing to do for the same choice)."""
    table = Vote.__table__
    ins = _insert(table).values(
        round_id=round_id, membership_id=membership_id, choice=choice, cast_at=now
    )
    return ins.on_conflict_do_update(
        index_elements=[table.c.round_id, table.c.membership_id],
        set_={"choice": ins.excluded.choice, "changed_at": now},
        where=table.c.choice != ins.excluded.choice,  # same choice again: nothing to change
    )


def _audit_ballot(proposal, round_id: int, membership: Membership, choice, action, vote_id):
    return event_values(
        action,
        "Vote",
        vote_id,
        membership.user_id,
        proposal_id=proposal.id,
        co_id=proposal.co_id,
        round_id=round_id,
        choice=choice,
    )


def _store_after_totals(
    proposal, round_id: int, membership: Membership, choice: VoteChoice, now
) -> str:
    """Step 2 on SQLite: the totals have moved already (by nothing for the same choice);
    store the ballot, then audit it."""
    stmt = _upsert(round_id, membership.id, choice, now).returning(
        Vote.__table__.c.id, Vote.__table__.c.changed_at
    )
    row = db.session.execute(stmt).first()
    if row is None:
        return "unchanged"
    outcome = "cast" if row.changed_at is None else "changed"
    _expire(Vote, row.id, "choice", "changed_at")
    db.session.execute(
        insert(AuditEvent.__table__).values(
            **_audit_ballot(proposal, round_id, membership, choice, f"vote.{outcome}", row.id)
        )
    )
    return outcome


def _store_with_totals(
    proposal, round_id: int, membership: Membership, choice: VoteChoice, now
) -> str:
    """Step 2 on PostgreSQL, one statement: the upsert returns the choice it replaced (a
    subquery in RETURNING reads the rows as they were before the statement), and two
    data-modifying CTEs move the totals and write the audit event from what it returned."""
    votes = Vote.__table__
    earlier = votes.alias("earlier")
    previous = (
        select(earlier.c.choice)
        .where(earlier.c.round_id == round_id, earlier.c.membership_id == membership.id)
        .scalar_subquery()
    )
    ballot = (
        _upsert(round_id, membership.id, choice, now)
        .returning(votes.c.id, votes.c.round_id, votes.c.changed_at, previous.label("previous"))
        .cte("ballot")
    )
    rounds = VoteRound.__table__
    moved = (
        update(rounds)
        .where(rounds.c.id == ballot.c.round_id)  # UPDATE … FROM ballot: none, no change
        .values(**_moved_totals(rounds, choice, ballot.c.previous))
        .cte("moved")
    )
    action = case((ballot.c.changed_at.is_(None), "vote.cast"), else_="vote.changed")
    event = _audit_ballot(proposal, round_id, membership, choice, action, ballot.c.id)
    events = AuditEvent.__table__
    audited = (
        insert(events)
        .from_select(
            list(event),
            select(
                *(
                    v if isinstance(v, ColumnElement) else literal(v, events.c[k].type)
                    for k, v in event.items()
                )
            ).select_from(ballot),
        )
        .cte("audited")
    )
    row = db.session.execute(
        select(ballot.c.id, ballot.c.changed_at).add_cte(moved, audited)
    ).first()
    if row is None:
        return "unchanged"
    _expire(Vote, row.id, "choice", "changed_at")
    return "cast" if row.changed_at is None else "changed"


def _expire(model, ident: int, *names: str) -> None:
    """Forget ``names`` of the ``model`` row ``ident`` if this session holds it (the
    statements above write around the ORM), so the next read sees what they wrote."""
    obj = db.session.identity_map.get(db.session.identity_key(model, ident))
    if obj is not None:
        db.session.expire(obj, list(names))


def _why_refused(
    proposal, subject: VoteSubject, counter_offer_id: int | None, membership, now
) -> VoteError:
    """The refusal for a ballot the lock did not let through: no open round, its time is
    up, or the member is not on its roll."""
    rnd = open_round_of(proposal, subject, counter_offer_id)
    if rnd is None:
        return no_open_vote(subject)
    try:
        refuse_after_closing_time(proposal, rnd, now)
    except VoteError as error:
        return error
    if not on_roll(rnd, membership):
        return VoteError(
            _l(
                "You are not on this vote's roll: it lists the members when the vote opened. "
                "You can vote in the next one."
            )
        )
    return no_open_vote(subject)  # closed between the two looks


def _insert(table):
    """INSERT in the session's dialect, which is what carries ON CONFLICT."""
    name = db.session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)
