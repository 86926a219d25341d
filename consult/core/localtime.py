"""Clock time where the people are: each municipality's time zone.

Forms show and read wall-clock times in the municipality's zone; the database keeps UTC.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import format_date, format_time
from flask_babel import gettext as _

from consult.core.db import utcnow
from consult.core.refusal import Refusal


def local_today(timezone: str, now: datetime | None = None) -> date:
    """Today's date in ``timezone`` (the community's "today", not the server's)."""
    return (now or utcnow()).astimezone(ZoneInfo(timezone)).date()


class WallTimeRefused(Refusal):
    """A wall-clock time that names no instant, or two, in its zone (a clock-change day);
    ``field`` is the form field to show it on."""


def from_local(wall_time: datetime, timezone: str, field: str | None = None) -> datetime:
    """The UTC instant of a naive wall-clock time read in ``timezone`` (a form's input).

    On a clock-change day a time may not exist (clocks jump forward over it) or occur twice
    (clocks go back over it): both are refused with ``WallTimeRefused``, never guessed at.
    """
    zone = ZoneInfo(timezone)
    wall = wall_time.replace(tzinfo=None, second=0, microsecond=0)
    if not 1900 <= wall.year <= 2999:  # the calendar's ends overflow in other zones
        raise WallTimeRefused(_("Enter a date between the years 1900 and 2999."), field)
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        # In a gap Python reads the time with the offset before the change; that instant
        # is what the clock shows after it.
        instead = first.astimezone(UTC).astimezone(zone)
        raise WallTimeRefused(
            _(
                "On %(day)s the clocks go forward and %(time)s does not exist. "
                "Did you mean %(instead)s?",
                day=format_date(wall.date(), "long"),
                time=_clock(wall),
                instead=_clock(instead.replace(tzinfo=None)),
            ),
            field,
        )
    if first.utcoffset() != second.utcoffset():
        raise WallTimeRefused(
            _(
                "On %(day)s the clocks go back and %(time)s happens twice. "
                "Choose a time outside the repeated hour.",
                day=format_date(wall.date(), "long"),
                time=_clock(wall),
            ),
            field,
        )
    return first.astimezone(UTC)


def _clock(wall: datetime) -> str:
    """A wall-clock time as the reader writes it, without seconds ("12:30 AM")."""
    return format_time(wall.time(), "short", rebase=False)


def to_local(value: datetime, timezone: str) -> datetime:
    """An aware instant as the time on a clock in ``timezone``."""
    return value.astimezone(ZoneInfo(timezone))


def wall_time_in(days: int, timezone: str) -> datetime:
    """A naive wall-clock time ``days`` from now, to the minute: a form's default."""
    later = to_local(utcnow() + timedelta(days=days), timezone)
    return later.replace(tzinfo=None, second=0, microsecond=0)
