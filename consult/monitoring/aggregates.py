"""Keeping the dashboard's summary rows (``monitoring_days``) equal to the programme.

Each event adds to the row of its CO and its day (the CO's municipality's date), by measure:

========== ============================ ================================================
measure    key                          count (and amount)
========== ============================ ================================================
formed     ""                           COs formed that day (``formed_on``)
meetings   ""                           meetings held (``held_at``)
present    woman / man / other          people present at them, by head-count
votes      woman / man / other          online ballots (``cast_at``, by the voter's
                                        gender) and show-of-hands tallies (``created_at``)
problems   ``category:status``          problems recorded (``created_at``), current status
proposals  state                        proposals created (``created_at``), current state
submitted  ""                           proposals first submitted (``submitted_at``)
answered   whole hours to the answer    of those, answered (``first_response_at``)
within     ""                           of those, answered within the municipality's target
funding    currency                     agreed (``agreed_at``), now agreed or beyond; amount:
                                        municipal share
community  currency                     amount: community share (cash + labour)
completed  infrastructure type          completed (``completed_on``)
families   infrastructure type          families benefited (actual, else planned)
estimated  infrastructure type          completed ones with no actual household count
settlement settlement id                completed proposals of that settlement
========== ============================ ================================================

How each is kept:

- **In the same transaction as the event** (meetings, problems, proposals, COs, tallies):
  after each flush, the changed rows' contributions before and after the change are compared
  (SQLAlchemy's attribute history) and the difference is added with one
  ``INSERT … ON CONFLICT DO UPDATE`` (plus one look-up of the COs' municipalities). So a
  state change moves a proposal from one state's count to the next, and a backdated meeting
  leaves its old day for its new one. A service needs no call of its own.
- **By ``consult refresh-monitoring``** (online ballots): casting a ballot stays as cheap as
  it is; :func:`count_votes` adds the ballots cast since the last count (by id, stopping at
  the first one younger than ``VOTES_SETTLE_SECONDS``, whose transaction may still be open,
  so none is skipped). The page says until when ballots are counted. Ballots are never
  deleted and a changed ballot keeps its ``cast_at``, so counting each id once is exact.

What these rows do not follow (``consult rebuild-monitoring`` repairs them): a change of a
municipality's time zone or response target (rows keep the days and the target of when they
were counted), a change of a voter's recorded gender, and rows changed by hand in SQL.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership, Municipality, Settlement
from consult.core.db import utcnow
from consult.core.enums import Gender, ProposalState
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.monitoring.models import DailyFigure, MonitoringMark
from consult.problems.models import Problem
from consult.proposals.models import Proposal
from consult.votes.models import Vote, VoteRound, VoteTally

CO = CommunityOrganisation
AGREED_STATES = (ProposalState.AGREED, ProposalState.IN_PROGRESS, ProposalState.COMPLETED)
#: a ballot younger than this may belong to a transaction not yet committed: counted next time
VOTES_SETTLE_SECONDS = 120
SECONDS_PER_DAY = 86400
#: rows per INSERT (SQLite allows 32,766 parameters in one statement)
BATCH = 2000
GENDER_KEYS = {Gender.WOMAN: "woman", Gender.MAN: "man", Gender.OTHER: "other"}
CHOICES = ("yes", "no", "abstain")
#: a tally's column suffix and the gender key it counts for
TALLY_GENDERS = (("women", "woman"), ("men", "man"), ("other", "other"))

#: (co_id, a datetime or date, measure, key, count, amount)
Fact = tuple[int, datetime | date, str, str, int, Decimal]
ZERO = Decimal("0")


@dataclass(frozen=True)
class Place:
    """Where a CO is: what its facts need to know about its municipality."""

    municipality_id: int
    settlement_id: int
    timezone: str
    target_days: int


# --- what one row contributes -------------------------------------------------------------


def co_facts(v) -> list[Fact]:
    return [(v.id, v.formed_on, "formed", "", 1, ZERO)] if v.formed_on else []


def meeting_facts(v) -> list[Fact]:
    if v.held_at is None:
        return []
    return [
        (v.co_id, v.held_at, "meetings", "", 1, ZERO),
        (v.co_id, v.held_at, "present", "woman", v.women_present or 0, ZERO),
        (v.co_id, v.held_at, "present", "man", v.men_present or 0, ZERO),
        (v.co_id, v.held_at, "present", "other", v.other_present or 0, ZERO),
    ]


def problem_facts(v) -> list[Fact]:
    key = f"{_value(v.category)}:{_value(v.status)}"
    return [(v.co_id, v.created_at, "problems", key, 1, ZERO)] if v.created_at else []


def tally_facts(v) -> list[Fact]:
    """``v.co_id`` is the CO of the tally's round's proposal (looked up)."""
    if v.created_at is None:
        return []
    return [
        (
            v.co_id,
            v.created_at,
            "votes",
            key,
            sum(getattr(v, f"{c}_{suffix}") or 0 for c in CHOICES),
            ZERO,
        )
        for suffix, key in TALLY_GENDERS
    ]


def proposal_facts(v, place: Place) -> list[Fact]:
    co = v.co_id
    facts: list[Fact] = []
    if v.created_at is not None:
        facts.append((co, v.created_at, "proposals", _value(v.state), 1, ZERO))
    if v.submitted_at is not None:
        facts.append((co, v.submitted_at, "submitted", "", 1, ZERO))
        if v.first_response_at is not None:
            seconds = (_aware(v.first_response_at) - _aware(v.submitted_at)).total_seconds()
            hours = math.floor(seconds / 3600)
            facts.append((co, v.submitted_at, "answered", str(hours), 1, ZERO))
            # one second of slack, as the raw computation allows
            if seconds <= place.target_days * SECONDS_PER_DAY + 1:
                facts.append((co, v.submitted_at, "within", "", 1, ZERO))
    state = ProposalState(_value(v.state))
    if state in AGREED_STATES and v.agreed_at is not None:
        community = (v.community_cash or ZERO) + (v.community_labour or ZERO)
        facts.append((co, v.agreed_at, "funding", v.currency, 1, v.amount_requested or ZERO))
        facts.append((co, v.agreed_at, "community", v.currency, 0, community))
    if state == ProposalState.COMPLETED and v.completed_on is not None:
        kind = _value(v.infrastructure_type)
        actual = v.households_benefited
        families = actual if actual is not None else (v.households_benefiting or 0)
        facts.append((co, v.completed_on, "completed", kind, 1, ZERO))
        facts.append((co, v.completed_on, "families", kind, families, ZERO))
        facts.append((co, v.completed_on, "estimated", kind, int(actual is None), ZERO))
        facts.append((co, v.completed_on, "settlement", str(place.settlement_id), 1, ZERO))
    return facts


def vote_fact(co_id: int, cast_at: datetime, gender) -> Fact:
    return (co_id, cast_at, "votes", GENDER_KEYS[Gender(_value(gender))], 1, ZERO)


def _value(x):
    return getattr(x, "value", x)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(when: datetime | date, timezone: str) -> date:
    """The municipality's date of ``when`` (a date is taken as it is)."""
    if isinstance(when, datetime):
        return _aware(when).astimezone(_zone(timezone)).date()
    return when


# --- adding facts ---------------------------------------------------------------------------


class Tally:
    """Facts added up by (co, day, measure, key), ready to be written."""

    def __init__(self) -> None:
        self.rows: dict[tuple[int, date, str, str], list] = defaultdict(lambda: [0, ZERO])

    def add(self, facts: Iterable[Fact], places: dict[int, Place], sign: int = 1) -> None:
        for co_id, when, measure, key, count, amount in facts:
            place = places.get(co_id)
            if place is None:  # a CO that is gone: nothing of it is shown
                continue
            row = self.rows[(co_id, local_day(when, place.timezone), measure, key)]
            row[0] += sign * count
            row[1] += sign * amount

    def write(self, conn: Connection, places: dict[int, Place]) -> int:
        """Add the rows to ``monitoring_days`` (``INSERT … ON CONFLICT DO UPDATE``, one
        statement per ``BATCH`` rows); returns how many rows changed."""
        values = [
            {
                "co_id": co_id,
                "day": day,
                "measure": measure,
                "key": key,
                "municipality_id": places[co_id].municipality_id,
                "count": count,
                "amount": amount,
            }
            for (co_id, day, measure, key), (count, amount) in self.rows.items()
            if count or amount
        ]
        for start in range(0, len(values), BATCH):
            conn.execute(_upsert(conn), values[start : start + BATCH])
        self.rows.clear()
        return len(values)


def _upsert(conn: Connection):
    table = DailyFigure.__table__
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    ins = insert(table)
    return ins.on_conflict_do_update(
        index_elements=[table.c.co_id, table.c.day, table.c.measure, table.c.key],
        set_={
            "count": table.c.count + ins.excluded.count,
            "amount": table.c.amount + ins.excluded.amount,
        },
    )


def places_of(conn: Connection, co_ids: Iterable[int] | None = None) -> dict[int, Place]:
    """Each CO's municipality, settlement, zone and response target (all COs when None)."""
    stmt = (
        select(
            CO.id,
            Settlement.municipality_id,
            Settlement.id,
            Municipality.timezone,
            Municipality.response_target_days,
        )
        .join(Settlement, Settlement.id == CO.settlement_id)
        .join(Municipality, Municipality.id == Settlement.municipality_id)
    )
    if co_ids is not None:
        ids = sorted(set(co_ids))
        if not ids:
            return {}
        stmt = stmt.where(CO.id.in_(ids))
    return {row[0]: Place(*row[1:]) for row in conn.execute(stmt)}


# --- in the same transaction: after each flush ------------------------------------------------

#: the classes followed, the columns their facts read, and their facts
FOLLOWED = {
    CO: (("id", "formed_on"), co_facts),
    Meeting: (("co_id", "held_at", "women_present", "men_present", "other_present"), meeting_facts),
    Problem: (("co_id", "created_at", "category", "status"), problem_facts),
    Proposal: (
        (
            "co_id",
            "created_at",
            "state",
            "submitted_at",
            "first_response_at",
            "agreed_at",
            "currency",
            "amount_requested",
            "community_cash",
            "community_labour",
            "completed_on",
            "infrastructure_type",
            "households_benefited",
            "households_benefiting",
        ),
        None,
    ),
    VoteTally: (
        (
            "round_id",
            "created_at",
            *(f"{c}_{g}" for c in CHOICES for g in ("women", "men", "other")),
        ),
        tally_facts,
    ),
}


def _old_and_new(obj, columns, status: str):
    """The followed columns' values before and after this flush (None for a side that does
    not exist), or None when none of them changed."""
    state = inspect(obj)
    if status == "dirty" and not any(state.attrs[c].history.has_changes() for c in columns):
        return None  # e.g. a proposal's text was edited: nothing counted changed
    new = SimpleNamespace(**{c: getattr(obj, c) for c in columns}) if status != "deleted" else None
    if status == "new":
        return None, new
    old = {}
    for c in columns:
        history = state.attrs[c].history
        if history.deleted:
            old[c] = history.deleted[0]
        elif history.unchanged:
            old[c] = history.unchanged[0]
        elif history.added and status == "dirty":
            old[c] = None  # it had no value before
        else:
            old[c] = getattr(obj, c)
    return SimpleNamespace(**old), new


def _after_flush(session, flush_context) -> None:
    """Add what this flush changed to the summary rows, in the flush's transaction."""
    changes = []
    for status, objects in (
        ("new", session.new),
        ("dirty", session.dirty),
        ("deleted", session.deleted),
    ):
        for obj in objects:
            followed = FOLLOWED.get(type(obj))
            if followed is None:
                continue
            found = _old_and_new(obj, followed[0], status)
            if found is not None:
                changes.append((type(obj), *found))
    if not changes:
        return
    conn = session.connection()
    rounds = {v.round_id for kind, *sides in changes if kind is VoteTally for v in sides if v}
    round_cos = {}
    if rounds:
        round_cos = dict(
            conn.execute(
                select(VoteRound.id, Proposal.co_id)
                .join(Proposal, Proposal.id == VoteRound.proposal_id)
                .where(VoteRound.id.in_(sorted(rounds)))
            ).all()
        )
    co_ids = set()
    for kind, *sides in changes:
        for v in sides:
            if v is None:
                continue
            if kind is VoteTally:
                v.co_id = round_cos.get(v.round_id)
            co_ids.add(v.id if kind is CO else v.co_id)
    co_ids.discard(None)
    places = places_of(conn, co_ids)
    tally = Tally()
    for kind, old, new in changes:
        for sign, v in ((-1, old), (1, new)):
            if v is not None and (v.id if kind is CO else v.co_id) is not None:
                tally.add(_facts(kind, v, places), places, sign)
    tally.write(conn, places)


def _facts(kind, v, places: dict[int, Place]) -> list[Fact]:
    if kind is Proposal:
        place = places.get(v.co_id)
        return proposal_facts(v, place) if place else []
    return FOLLOWED[kind][1](v)


def _noop(target, value, oldvalue, initiator):
    return value


def register() -> None:
    """Follow the session's flushes (once per process; ``create_app`` calls it). The old
    value of a followed column is loaded when it is set, so its history is always known."""
    if event.contains(db.session, "after_flush", _after_flush):
        return
    for kind, (columns, _facts_of) in FOLLOWED.items():
        for c in columns:
            event.listen(getattr(kind, c), "set", _noop, active_history=True, retval=True)
    event.listen(db.session, "after_flush", _after_flush)


# --- by the scheduled refresh: ballots ---------------------------------------------------------


def _mark(conn: Connection, name: str) -> tuple[int, datetime | None]:
    """The mark ``name`` (made when missing), locked until the transaction ends."""
    table = MonitoringMark.__table__
    stmt = select(table.c.number, table.c.at).where(table.c.name == name)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        conn.execute(table.insert().values(name=name, number=0, at=None))
        return 0, None
    return row.number, row.at


def _set_mark(conn: Connection, name: str, number: int, at: datetime) -> None:
    table = MonitoringMark.__table__
    conn.execute(table.update().where(table.c.name == name).values(number=number, at=at))


def count_votes(conn: Connection, now: datetime | None = None) -> int:
    """Add the online ballots cast since the last count to the summary rows; returns how
    many. Ballots younger than ``VOTES_SETTLE_SECONDS`` wait for the next count (and every
    later id with them). The caller commits."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=VOTES_SETTLE_SECONDS)
    last, _at = _mark(conn, "votes")
    unsettled = (
        select(func.min(Vote.id)).where(Vote.id > last, Vote.cast_at >= cutoff).scalar_subquery()
    )
    stmt = (
        select(Vote.id, Membership.co_id, User.gender, Vote.cast_at)
        .join(Membership, Membership.id == Vote.membership_id)
        .join(User, User.id == Membership.user_id)
        .where(Vote.id > last, Vote.id < func.coalesce(unsettled, 2**62))
        .order_by(Vote.id)
    )
    places = places_of(conn)
    counted, tally = 0, Tally()
    for rows in conn.execute(stmt.execution_options(yield_per=BATCH)).partitions():
        tally.add((vote_fact(co, at, g) for _id, co, g, at in rows), places)
        tally.write(conn, places)
        last = rows[-1][0]
        counted += len(rows)
    _set_mark(conn, "votes", last, cutoff)
    return counted


def votes_counted_until(conn: Connection) -> datetime | None:
    """Until when online ballots are in the summary rows (None: never counted)."""
    table = MonitoringMark.__table__
    return conn.execute(select(table.c.at).where(table.c.name == "votes")).scalar()


# --- from scratch ---------------------------------------------------------------------------


def rebuild(conn: Connection, now: datetime | None = None) -> int:
    """Empty ``monitoring_days`` and count everything again from the programme's tables
    (the migration's back-fill, and ``consult rebuild-monitoring`` for repair); returns the
    number of summary rows. Reads each table once, in batches. The caller commits."""
    conn.execute(delete(DailyFigure.__table__))
    places = places_of(conn)
    tally = Tally()

    def each(stmt, facts):
        for rows in conn.execute(stmt.execution_options(yield_per=BATCH)).partitions():
            for row in rows:
                tally.add(facts(row), places)

    each(select(CO.id, CO.formed_on), co_facts)
    each(select(*(getattr(Meeting, c) for c in FOLLOWED[Meeting][0])), meeting_facts)
    each(select(*(getattr(Problem, c) for c in FOLLOWED[Problem][0])), problem_facts)
    each(
        select(*(getattr(Proposal, c) for c in FOLLOWED[Proposal][0])),
        lambda v: proposal_facts(v, places[v.co_id]) if v.co_id in places else [],
    )
    each(
        select(Proposal.co_id, *(getattr(VoteTally, c) for c in FOLLOWED[VoteTally][0]))
        .join(VoteRound, VoteRound.id == VoteTally.round_id)
        .join(Proposal, Proposal.id == VoteRound.proposal_id),
        tally_facts,
    )
    tally.write(conn, places)
    _mark(conn, "votes")
    table = MonitoringMark.__table__
    conn.execute(table.update().where(table.c.name == "votes").values(number=0, at=None))
    count_votes(conn, now)
    return conn.execute(select(func.count()).select_from(DailyFigure.__table__)).scalar()
