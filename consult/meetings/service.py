"""Rules for a CO's meetings: logging them, their attendance and head-counts, their files.

Services check the rule, change state, write the audit event and flush; the view commits.
"""

from datetime import date, datetime, time, timedelta

from flask_babel import format_date, lazy_ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from consult.attachments import service as attachments
from consult.audit.service import record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Membership
from consult.core import localtime
from consult.core.db import utcnow
from consult.core.enums import MeetingKind
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.meetings.models import Attendance, Meeting

#: what a leader may set on a meeting (besides attendance and files)
FIELDS = (
    "kind",
    "held_at",
    "place",
    "agenda",
    "minutes",
    "decisions",
    "women_present",
    "men_present",
    "other_present",
)


#: how far ahead a meeting may be planned: a year (later is a typing mistake in the year)
MAX_DAYS_AHEAD = 366


class MeetingError(Refusal):
    """A readable reason a meeting record was refused."""


def local_to_utc(day: date, clock: time, timezone: str) -> datetime:
    """The UTC instant of a date and time read on a clock in ``timezone``; a time that does
    not exist or occurs twice that day (clock change) is refused on the "time" field."""
    return localtime.from_local(datetime.combine(day, clock), timezone, "time")


def check_meeting_day(co: CommunityOrganisation, held_at: datetime, now=None) -> None:
    """A meeting is held on a day of the CO's life: not before the CO was formed, and not
    more than ``MAX_DAYS_AHEAD`` ahead (days of the municipality's calendar)."""
    tz = co.municipality.timezone
    day = localtime.to_local(held_at, tz).date()
    if co.formed_on and day < co.formed_on:
        raise MeetingError(
            _l(
                "The CO was formed on %(date)s; a meeting cannot be earlier.",
                date=format_date(co.formed_on),
            ),
            field="day",
        )
    latest = localtime.local_today(tz, now) + timedelta(days=MAX_DAYS_AHEAD)
    if day > latest:
        raise MeetingError(
            _l(
                "A meeting can be planned at most a year ahead (until %(date)s).",
                date=format_date(latest),
            ),
            field="day",
        )


def check_headcount(members_ticked: int, women: int, men: int, other: int) -> None:
    """Head-counts are of *everyone* present, so they cannot be fewer than the members ticked."""
    if min(women, men, other) < 0:
        raise MeetingError(_l("Head-counts cannot be negative."))
    counted = women + men + other
    if counted < members_ticked:
        raise MeetingError(
            _l(
                "%(ticked)s, but only %(counted)s. Count everyone who came, members included.",
                ticked=lazy_ngettext(
                    "%(num)d member is ticked as present",
                    "%(num)d members are ticked as present",
                    members_ticked,
                ),
                counted=lazy_ngettext(
                    "%(num)d person is counted", "%(num)d people are counted", counted
                ),
            )
        )


def tickable_members(co: CommunityOrganisation, meeting: Meeting | None = None) -> list[Membership]:
    """Who can be ticked as present: current members, plus those already recorded (who may
    have left the CO since)."""
    current = list(
        db.session.scalars(
            select(Membership)
            .join(Membership.user)
            .where(Membership.co_id == co.id, Membership.left_on.is_(None))
            .order_by(User.name)
        )
    )
    if meeting is not None:
        seen = {m.id for m in current}
        current += [a.membership for a in meeting.attendance if a.membership_id not in seen]
    return current


def log_meeting(
    co: CommunityOrganisation,
    *,
    by: User,
    present: list[int] = (),
    uploads: list[attachments.Upload] = (),
    now: datetime | None = None,
    **details,
) -> Meeting:
    """Record a meeting the CO held, who was there, and its photos or scanned sheets;
    ``now`` is when it is recorded (the current time unless given)."""
    meeting = Meeting(
        organisation=co,
        recorded_by_id=by.id,
        women_present=0,
        men_present=0,
        other_present=0,
        created_at=now or utcnow(),
    )
    _set_details(meeting, details, now)
    db.session.add(meeting)
    db.session.flush()
    _set_attendance(meeting, present)
    files = attachments.store(uploads, owner=meeting, by=by)
    record(
        "meeting.logged",
        meeting,
        by,
        co_id=co.id,
        held_at=meeting.held_at.isoformat(),
        members_present=len(meeting.attendance),
        people_present=meeting.people_present,
        files=len(files),
    )
    return meeting


def edit_meeting(
    meeting: Meeting,
    *,
    by: User,
    present: list[int] = (),
    uploads: list[attachments.Upload] = (),
    **details,
) -> None:
    """Correct a meeting's record; new files are added to those already attached."""
    before = {name: getattr(meeting, name) for name in FIELDS}
    before_present = sorted(a.membership_id for a in meeting.attendance)
    _set_details(meeting, details)
    _set_attendance(meeting, present)
    files = attachments.store(uploads, owner=meeting, by=by)
    changed = {
        name: [before[name], getattr(meeting, name)]
        for name in FIELDS
        if before[name] != getattr(meeting, name)
    }
    after_present = sorted(a.membership_id for a in meeting.attendance)
    if after_present != before_present:
        changed["members_present"] = [before_present, after_present]
    record("meeting.edited", meeting, by, co_id=meeting.co_id, changed=changed, files=len(files))


def problems_raised(meeting: Meeting) -> list:
    """The problems raised at ``meeting`` (the relationship is declared by problems), read
    afresh."""
    db.session.expire(meeting, ["problems_raised"])
    return list(meeting.problems_raised)


def _set_details(meeting: Meeting, details: dict, now: datetime | None = None) -> None:
    unknown = set(details) - set(FIELDS)
    if unknown:
        raise TypeError(f"not meeting fields: {sorted(unknown)}")
    for name, value in details.items():
        if name == "kind":
            value = MeetingKind(value)
        elif name in ("place", "agenda", "minutes", "decisions"):
            value = (value or "").strip() or None
        setattr(meeting, name, value)
    if meeting.held_at is None or meeting.held_at.tzinfo is None:
        raise MeetingError(_l("Enter the date and time of the meeting."))
    check_meeting_day(meeting.organisation, meeting.held_at, now)


def _set_attendance(meeting: Meeting, membership_ids) -> None:
    wanted = set(membership_ids or ())
    allowed = {m.id for m in tickable_members(meeting.organisation, meeting)}
    if not wanted <= allowed:
        raise MeetingError(_l("Only members of this community organisation can be ticked."))
    check_headcount(len(wanted), meeting.women_present, meeting.men_present, meeting.other_present)
    for attendance in list(meeting.attendance):
        if attendance.membership_id not in wanted:
            meeting.attendance.remove(attendance)
    have = {a.membership_id for a in meeting.attendance}
    for membership_id in sorted(wanted - have):
        meeting.attendance.append(Attendance(membership_id=membership_id))
    db.session.flush()
