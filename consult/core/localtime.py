"""Clock time where the people are: each municipality's time zone.

Forms show and read wall-clock times in the municipality's zone; the database keeps UTC.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from consult.core.db import utcnow


def local_today(timezone: str, now: datetime | None = None) -> date:
    """Today's date in ``timezone`` (the community's "today", not the server's)."""
    return (now or utcnow()).astimezone(ZoneInfo(timezone)).date()


def from_local(wall_time: datetime, timezone: str) -> datetime:
    """The UTC instant of a naive wall-clock time read in ``timezone`` (a form's input)."""
    return wall_time.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def to_local(value: datetime, timezone: str) -> datetime:
    """An aware instant as the time on a clock in ``timezone``."""
    return value.astimezone(ZoneInfo(timezone))


def wall_time_in(days: int, timezone: str) -> datetime:
    """A naive wall-clock time ``days`` from now, to the minute: a form's default."""
    later = to_local(utcnow() + timedelta(days=days), timezone)
    return later.replace(tzinfo=None, second=0, microsecond=0)
