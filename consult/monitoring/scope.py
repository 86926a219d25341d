"""Which part of the programme and which dates an indicator, a list or the map covers, and
the ``WHERE`` clauses that restrict a statement to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, select

from consult.communities.models import CommunityOrganisation, Municipality, Settlement
from consult.core.db import utcnow
from consult.extensions import db
from consult.proposals.models import Proposal

CO = CommunityOrganisation


@dataclass(frozen=True)
class Scope:
    """Which part of the programme and which dates: at most one of ``co_id``,
    ``municipality_id`` and ``country``; none of them means the whole programme."""

    start: date
    end: date  # included
    municipality_id: int | None = None
    country: str | None = None
    co_id: int | None = None
    #: whose days the dates are: the municipalities' zone when they share one, else UTC
    timezone: str = "UTC"
    #: its municipalities are in several zones (so the days are UTC's, and the page says so)
    several_zones: bool = False

    @property
    def is_all(self) -> bool:
        return self.co_id is None and self.municipality_id is None and self.country is None

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=ZoneInfo(self.timezone))

    @property
    def end_before(self) -> datetime:
        next_day = self.end + timedelta(days=1)
        return datetime.combine(next_day, time.min, tzinfo=ZoneInfo(self.timezone))


def days_of(
    co_id: int | None = None, municipality_id: int | None = None, country: str | None = None
) -> dict:
    """``Scope``'s ``timezone`` and ``several_zones`` for a scope: the days of its
    municipalities when they share a zone, else UTC's (and the pages say so)."""
    return _days(shared_timezone(co_id, municipality_id, country))


def days_among(
    municipalities, municipality_id: int | None = None, country: str | None = None
) -> dict:
    """:func:`days_of` for a scope by municipality or country (or everywhere), from the rows
    of ``service.places()`` (id, name, country, time zone) a page has read already."""
    zones = {
        zone
        for id_, _name, in_country, zone in municipalities
        if (municipality_id is None or id_ == municipality_id)
        and (country is None or in_country == country)
    }
    return _days(zones.pop() if len(zones) == 1 else None)


def _days(zone: str | None) -> dict:
    """The municipalities' shared zone, else UTC's days (and the pages say so)."""
    return {"timezone": zone or "UTC", "several_zones": zone is None}


def shared_timezone(
    co_id: int | None = None, municipality_id: int | None = None, country: str | None = None
) -> str | None:
    """The time zone of every municipality in the scope, or None when they are in several
    (or there are none): the days a period counts in."""
    stmt = select(Municipality.timezone).distinct()
    if co_id is not None:
        stmt = stmt.join(Settlement).join(CO).where(CO.id == co_id)
    elif municipality_id is not None:
        stmt = stmt.where(Municipality.id == municipality_id)
    elif country is not None:
        stmt = stmt.where(Municipality.country == country)
    zones = list(db.session.scalars(stmt.limit(2)))
    return zones[0] if len(zones) == 1 else None


# --- scopes recently resolved from a page's filters -----------------------------------------

#: how long a worker keeps the scope a page's filters resolved to (a new municipality, or a
#: zone changed, shows in the scope after this at most)
RECENT_SECONDS = 60
RECENT_MAX = 1000

#: by the page's endpoint, arguments and query: (scope, until when it holds)
_recent: dict[tuple, tuple[Scope, datetime]] = {}


def remember(key: tuple, scope: Scope, now: datetime | None = None) -> None:
    """Keep ``scope`` as what the filters ``key`` resolve to, so a repeat view of the page
    can find its snapshot without reading the places and building the form. Never past the
    scope's midnight: "this year" and "the last 12 months" move with the local day."""
    now = now or utcnow()
    if len(_recent) >= RECENT_MAX:
        _recent.clear()  # many filters seen: start again rather than grow
    zone = ZoneInfo(scope.timezone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    midnight = datetime.combine(tomorrow, time.min, tzinfo=zone)
    _recent[key] = (scope, min(now + timedelta(seconds=RECENT_SECONDS), midnight))


def recall(key: tuple, now: datetime | None = None) -> Scope | None:
    """The scope :func:`remember` kept for the filters ``key`` while it holds, else None."""
    found = _recent.get(key)
    if found is None or (now or utcnow()) >= found[1]:
        return None
    return found[0]


def forget() -> None:
    """Forget every scope :func:`remember` kept (tests: each starts with new places)."""
    _recent.clear()


def this_year(today: date) -> tuple[date, date]:
    return date(today.year, 1, 1), date(today.year, 12, 31)


def last_12_months(today: date) -> tuple[date, date]:
    return today - timedelta(days=364), today


# --- scoping helpers ------------------------------------------------------------------------


def in_period_at(column, scope: Scope):
    return and_(column >= scope.start_at, column < scope.end_before)


def in_period_on(column, scope: Scope):
    return column.between(scope.start, scope.end)


def country_municipalities(country: str):
    return select(Municipality.id).where(Municipality.country == country)


def by_co(stmt: Select, scope: Scope, co_id) -> Select:
    """Restrict rows that belong to a CO (through ``co_id``) to the scope."""
    if scope.co_id is not None:
        return stmt.where(co_id == scope.co_id)
    if scope.municipality_id is not None:
        cos = (
            select(CO.id)
            .join(CO.settlement)
            .where(Settlement.municipality_id == scope.municipality_id)
        )
        return stmt.where(co_id.in_(cos))
    if scope.country is not None:
        cos = (
            select(CO.id)
            .join(CO.settlement)
            .where(Settlement.municipality_id.in_(country_municipalities(scope.country)))
        )
        return stmt.where(co_id.in_(cos))
    return stmt


def by_proposal(stmt: Select, scope: Scope) -> Select:
    """Restrict proposal rows to the scope (proposals carry their municipality)."""
    if scope.co_id is not None:
        return stmt.where(Proposal.co_id == scope.co_id)
    if scope.municipality_id is not None:
        return stmt.where(Proposal.municipality_id == scope.municipality_id)
    if scope.country is not None:
        return stmt.where(Proposal.municipality_id.in_(country_municipalities(scope.country)))
    return stmt


def by_municipality(stmt: Select, scope: Scope) -> Select:
    if scope.municipality_id is not None:
        return stmt.where(Municipality.id == scope.municipality_id)
    if scope.country is not None:
        return stmt.where(Municipality.country == scope.country)
    return stmt
