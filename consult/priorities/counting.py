"""What counts in a priority round: its problems (fixed when it opened), its roll (the
electorate), and the result read from the stored rows: standings and turnout. The counting
rules are described in ``service.py``."""

from dataclasses import dataclass, field

from sqlalchemy import distinct, func, literal, select

from consult.auth.models import User
from consult.communities.models import Membership
from consult.core.enums import Gender, ProblemStatus
from consult.extensions import db
from consult.problems.models import (
    PriorityPoints,
    PriorityRoll,
    PriorityRound,
    PriorityTally,
    Problem,
    priority_round_problems,
)

GENDERS = (Gender.WOMAN, Gender.MAN, Gender.OTHER)


def round_problem_ids(rnd: PriorityRound) -> list[int]:
    """The problems the round is about: the CO's open problems when it was opened, fixed
    then, so a problem solved or recorded later does not change what members vote on."""
    return list(
        db.session.scalars(
            select(priority_round_problems.c.problem_id)
            .where(priority_round_problems.c.round_id == rnd.id)
            .order_by(priority_round_problems.c.problem_id)
        )
    )


# --- the roll -------------------------------------------------------------------------------


def on_roll(rnd: PriorityRound, membership: Membership | None) -> bool:
    """True when ``membership`` is on the round's roll (the members when it opened)."""
    if membership is None:
        return False
    return db.session.get(PriorityRoll, (rnd.id, membership.id)) is not None


def standing(rnd: PriorityRound):
    """Whether a roll row still counts: while open, the member has not left; once closed,
    what the close fixed."""
    if rnd.closed_at is None:
        return Membership.left_on.is_(None)
    return PriorityRoll.set_aside.is_(False)


def standing_members(rnd: PriorityRound):
    """``select`` of the membership ids on the roll who still count."""
    return (
        select(PriorityRoll.membership_id)
        .join(Membership, Membership.id == PriorityRoll.membership_id)
        .where(PriorityRoll.round_id == rnd.id, standing(rnd))
    )


def roll_size(rnd: PriorityRound) -> int:
    """The turnout base: people on the roll who still count."""
    if rnd.closed_at is not None and rnd.members_at_close is not None:
        return rnd.members_at_close
    return db.session.scalar(select(func.count()).select_from(standing_members(rnd).subquery()))


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    rank: int
    problem_id: int
    title: str
    points: int  # from members online
    voters: int  # members who gave it points
    hands: int  # raised at meetings
    total: int  # points + hands


def standings(rnd: PriorityRound) -> list[Standing]:
    """The ranked problems of the round, counted by the database.

    Score = points + hands; equal scores share a rank (competition ranking 1, 2, 2, 4) and
    are listed by problem id, so the order is the same every time.
    """
    ids = round_problem_ids(rnd)
    if not ids:
        return []
    pts = (
        select(
            PriorityPoints.problem_id.label("problem_id"),
            func.sum(PriorityPoints.points).label("points"),
            func.count(distinct(PriorityPoints.membership_id)).label("voters"),
        )
        .where(
            PriorityPoints.round_id == rnd.id,
            PriorityPoints.membership_id.in_(standing_members(rnd)),
        )
        .group_by(PriorityPoints.problem_id)
        .subquery()
    )
    hands = (
        select(
            PriorityTally.problem_id.label("problem_id"),
            func.sum(PriorityTally.women + PriorityTally.men + PriorityTally.other).label("hands"),
        )
        .where(PriorityTally.round_id == rnd.id)
        .group_by(PriorityTally.problem_id)
        .subquery()
    )
    points_col = func.coalesce(pts.c.points, 0)
    hands_col = func.coalesce(hands.c.hands, 0)
    total = points_col + hands_col
    query = (
        select(
            func.rank().over(order_by=total.desc()).label("rank"),
            Problem.id,
            Problem.title,
            points_col,
            func.coalesce(pts.c.voters, 0),
            hands_col,
            total,
        )
        .select_from(Problem)
        .outerjoin(pts, pts.c.problem_id == Problem.id)
        .outerjoin(hands, hands.c.problem_id == Problem.id)
        .where(Problem.id.in_(ids))
        .order_by(total.desc(), Problem.id)
    )
    return [
        Standing(
            rank=int(rank),
            problem_id=problem_id,
            title=title,
            points=int(points),
            voters=int(voters),
            hands=int(hands_),
            total=int(total_),
        )
        for rank, problem_id, title, points, voters, hands_, total_ in db.session.execute(query)
    ]


def still_to_solve(rnd: PriorityRound) -> list[Standing]:
    """The round's ranking without the problems resolved or closed since: what the CO's
    priorities are now (ranks stay those of the vote)."""
    ranking = standings(rnd)
    done = set(
        db.session.scalars(
            select(Problem.id).where(
                Problem.id.in_([s.problem_id for s in ranking]),
                Problem.status.in_([ProblemStatus.RESOLVED, ProblemStatus.CLOSED]),
            )
        )
    )
    return [s for s in ranking if s.problem_id not in done]


@dataclass(frozen=True)
class Turnout:
    members: int  # the denominator: people on the roll who still count
    voted: int  # people on the roll who gave points
    online: dict[Gender, int] = field(default_factory=dict)  # members who gave points
    at_meetings: dict[Gender, int] = field(default_factory=dict)  # show-of-hands head-counts
    #: the base by gender
    roll_by_gender: dict[Gender, int] = field(default_factory=dict)
    #: members who gave points, then left before the close: not counted
    set_aside: int = 0

    @property
    def by_gender(self) -> dict[Gender, int]:
        return {g: self.online.get(g, 0) + self.at_meetings.get(g, 0) for g in GENDERS}

    @property
    def participants(self) -> int:
        return sum(self.by_gender.values())


def turnout(rnd: PriorityRound) -> Turnout:
    """Who took part: people on the roll who gave points over the roll (those who left set
    aside), and participants by gender."""
    members = roll_size(rnd)
    voters = (
        select(PriorityPoints.membership_id)
        .where(
            PriorityPoints.round_id == rnd.id,
            PriorityPoints.membership_id.in_(standing_members(rnd)),
        )
        .distinct()
        .subquery()
    )
    online = {
        g: int(n)
        for g, n in db.session.execute(
            select(User.gender, func.count())
            .select_from(voters)
            .join(Membership, Membership.id == voters.c.membership_id)
            .join(User, User.id == Membership.user_id)
            .group_by(User.gender)
        ).all()
    }
    per_meeting = (
        select(
            func.max(PriorityTally.women).label("women"),
            func.max(PriorityTally.men).label("men"),
            func.max(PriorityTally.other).label("other"),
        )
        .where(PriorityTally.round_id == rnd.id)
        .group_by(PriorityTally.meeting_id)
        .subquery()
    )
    women, men, other = db.session.execute(
        select(
            func.coalesce(func.sum(per_meeting.c.women), literal(0)),
            func.coalesce(func.sum(per_meeting.c.men), literal(0)),
            func.coalesce(func.sum(per_meeting.c.other), literal(0)),
        )
    ).one()
    roll = dict(
        db.session.execute(
            select(User.gender, func.count())
            .select_from(PriorityRoll)
            .join(Membership, Membership.id == PriorityRoll.membership_id)
            .join(User, User.id == Membership.user_id)
            .where(PriorityRoll.round_id == rnd.id, standing(rnd))
            .group_by(User.gender)
        ).all()
    )
    everyone = db.session.scalar(
        select(func.count(distinct(PriorityPoints.membership_id))).where(
            PriorityPoints.round_id == rnd.id
        )
    )
    voted = sum(online.values())
    return Turnout(
        members=members or 0,
        voted=voted,
        online={g: online.get(g, 0) for g in GENDERS},
        at_meetings={Gender.WOMAN: int(women), Gender.MAN: int(men), Gender.OTHER: int(other)},
        roll_by_gender={g: int(roll.get(g, 0)) for g in GENDERS},
        set_aside=int(everyone or 0) - voted,
    )
