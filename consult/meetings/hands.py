"""One check for every show of hands: proposal votes, counter-offer votes and priority rounds.

The rule (DESIGN.md, "Honest numbers"):

- the meeting is the CO's and has taken place (and, for a vote, was held while it was open
  or the day before: ``since``);
- hands by gender never exceed the people recorded present by gender;
- a person counted online is not counted again by hand: members ticked present at the meeting
  who already voted online take their place among those present;
- a meeting is tallied once per round (each tally table's unique constraint: recording the
  same meeting again replaces its counts).
"""

from collections.abc import Callable
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from consult.auth.models import User
from consult.communities.models import Membership
from consult.core.enums import Gender
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.meetings.models import Attendance, Meeting

GENDERS = (Gender.WOMAN, Gender.MAN, Gender.OTHER)
#: a meeting's head-count column for each gender
PRESENT = {Gender.WOMAN: "women_present", Gender.MAN: "men_present", Gender.OTHER: "other_present"}


class HandsRefused(Refusal):
    """A show of hands the rule refuses; ``field`` names the form field it is about."""


def countable_meetings(co_id: int, *, now: datetime, since: datetime | None = None):
    """The CO's meetings whose hands may be counted: held by ``now`` (and since ``since``),
    newest first. A meeting still to come is never offered."""
    query = select(Meeting).where(Meeting.co_id == co_id, Meeting.held_at <= now)
    if since is not None:
        query = query.where(Meeting.held_at >= since)
    return list(db.session.scalars(query.order_by(Meeting.held_at.desc())))


def online_at_meeting(meeting: Meeting, voted_online) -> dict[Gender, int]:
    """Members ticked present at ``meeting`` who are among ``voted_online`` (a ``select`` of
    membership ids), by gender: they cannot also be counted by hand."""
    rows = db.session.execute(
        select(User.gender, func.count(func.distinct(Attendance.membership_id)))
        .select_from(Attendance)
        .join(Membership, Membership.id == Attendance.membership_id)
        .join(User, User.id == Membership.user_id)
        .where(Attendance.meeting_id == meeting.id, Attendance.membership_id.in_(voted_online))
        .group_by(User.gender)
    ).all()
    return {g: int(n) for g, n in rows}


def check_show_of_hands(
    meeting: Meeting,
    *,
    co_id: int,
    hands: dict[Gender, int],
    now: datetime,
    since: datetime | None = None,
    voted_online=None,
    field: Callable[[Gender], str | None] = lambda g: None,
) -> None:
    """Raise :class:`HandsRefused` unless ``hands`` (people by gender who raised a hand at
    ``meeting``) can be counted for CO ``co_id`` at ``now``.

    ``voted_online`` is a ``select`` of the membership ids who voted online in the same round;
    ``field(gender)`` names the form field an excess is shown on.
    """
    if meeting.co_id != co_id:
        raise HandsRefused(_l("Choose one of this CO's meetings."), field="meeting_id")
    if meeting.held_at > now:
        raise HandsRefused(
            _l("This meeting has not taken place yet. Hands are counted at a meeting held."),
            field="meeting_id",
        )
    if since is not None and meeting.held_at < since:
        raise HandsRefused(
            _l("Only a meeting held while the vote is open (or the day before) can count."),
            field="meeting_id",
        )
    online = online_at_meeting(meeting, voted_online) if voted_online is not None else {}
    for g in GENDERS:
        raised = int(hands.get(g, 0) or 0)
        if raised < 0:
            raise HandsRefused(_l("Cannot be negative."), field=field(g))
        present = getattr(meeting, PRESENT[g])
        already = online.get(g, 0)
        if raised and raised + already > present:
            if already:
                message = _l(
                    "%(hands)d hands counted and %(online)d members present already voted "
                    "online, but the meeting records %(present)d present (%(gender)s). "
                    "Count only those who did not vote online.",
                    hands=raised,
                    online=already,
                    present=present,
                    gender=g.label,
                )
            elif not meeting.people_present:
                message = _l(
                    "%(hands)d hands counted, but the meeting records nobody present. "
                    "Record who came to the meeting first.",
                    hands=raised,
                )
            else:
                message = _l(
                    "%(hands)d hands counted, but the meeting records %(present)d present "
                    "(%(gender)s).",
                    hands=raised,
                    present=present,
                    gender=g.label,
                )
            raise HandsRefused(message, field=field(g))
