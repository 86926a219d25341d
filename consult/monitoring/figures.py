"""The programme's indicators read from the summary rows (``monitoring_days``), not from the
programme's tables: what the dashboard and the scope summaries show.

Five small statements whatever the size of the programme (three on the summary rows, one
on the municipalities and one on the marks); each reads the rows of the COs and days in
scope through an index (``day``; ``municipality_id, day``; the key's ``co_id, day``).
The definitions are those of :mod:`consult.monitoring.service` (which computes the same
figures from the programme's tables and is the tests' oracle), except:

- **Days**: each event counts on its own municipality's date. A scope whose municipalities
  are in several time zones therefore adds up each one's own days (no longer UTC days).
- **Median response time**: counted in whole hours (the median of the hours to the answer,
  in days), since a summary keeps how many answers took each number of hours.
- **Within target**: against the municipality's response target when the answer came.
- **Votes**: online ballots as counted by the last ``consult refresh-monitoring`` (the
  page says until when); show-of-hands tallies at once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, case, cast, extract, func, select, type_coerce
from sqlalchemy.types import Integer

from consult.communities.models import Municipality
from consult.core.db import Money
from consult.core.enums import (
    Gender,
    InfrastructureType,
    ProblemCategory,
    ProblemStatus,
    ProposalState,
)
from consult.extensions import db
from consult.monitoring.models import DailyFigure, MonitoringMark
from consult.monitoring.scope import Scope
from consult.monitoring.service import (
    MAIN_PATH,
    OFF_PATH,
    Attendance,
    FundingRow,
    Indicators,
    InfrastructureRow,
    ProblemRow,
    ResponseRow,
    SettlementsRow,
    StateRow,
)

D = DailyFigure
RESPONSE = ("submitted", "answered", "within")
GENDERS = {"woman": Gender.WOMAN, "man": Gender.MAN, "other": Gender.OTHER}


def in_scope(stmt, scope: Scope):
    """Restrict summary rows to the scope's COs and days."""
    stmt = stmt.where(D.day.between(scope.start, scope.end))
    if scope.co_id is not None:
        return stmt.where(D.co_id == scope.co_id)
    if scope.municipality_id is not None:
        return stmt.where(D.municipality_id == scope.municipality_id)
    if scope.country is not None:
        ids = select(Municipality.id).where(Municipality.country == scope.country)
        return stmt.where(D.municipality_id.in_(ids))
    return stmt


def indicators(scope: Scope) -> Indicators:
    """Every indicator for ``scope`` from the summary rows (see the module's notes)."""
    totals: dict[str, dict[str, list]] = defaultdict(dict)
    stmt = (
        select(D.measure, D.key, func.sum(D.count), type_coerce(func.sum(D.amount), Money()))
        .where(D.measure.not_in((*RESPONSE, "settlement")))
        .group_by(D.measure, D.key)
    )
    for measure, key, count, amount in db.session.execute(in_scope(stmt, scope)):
        totals[measure][key] = [int(count or 0), amount or Decimal("0.00")]

    def n(measure: str, key: str = "") -> int:
        return totals[measure].get(key, [0])[0]

    present = {g: n("present", g) for g in GENDERS}
    votes = {gender: n("votes", key) for key, gender in GENDERS.items()}
    problems = [
        ProblemRow(c, {s: n("problems", f"{c.value}:{s.value}") for s in ProblemStatus})
        for c in ProblemCategory
    ]
    return Indicators(
        scope=scope,
        cos_formed=n("formed"),
        attendance=Attendance(n("meetings"), present["woman"], present["man"], present["other"]),
        votes=votes,
        problems=problems,
        proposals=_states({s: n("proposals", s.value) for s in ProposalState}),
        response=response_times(scope),
        funding=[
            FundingRow(currency, count, amount, totals["community"].get(currency, [0, 0])[1])
            for currency, (count, amount) in sorted(totals["funding"].items())
            if count
        ],
        infrastructure=[
            InfrastructureRow(
                t, n("completed", t.value), n("families", t.value), n("estimated", t.value)
            )
            for t in InfrastructureType
            if n("completed", t.value)
        ],
        settlements=settlements_improved(scope),
        votes_until=votes_counted_until(),
    )


def _states(counts: dict[ProposalState, int]) -> list[StateRow]:
    rows, reached = [], 0
    for state in reversed(MAIN_PATH):
        reached += counts[state]
        rows.append(StateRow(state, counts[state], reached))
    rows.reverse()
    rows.extend(StateRow(s, counts[s], None) for s in OFF_PATH)
    return rows


def response_times(scope: Scope) -> list[ResponseRow]:
    """Per municipality: submissions in the period, how many were answered and within the
    target, and the median of the whole hours to the answer, in days (two statements: the
    counts; the median, picked from the hours' histogram with running sums)."""
    counts = (
        select(
            D.municipality_id,
            Municipality.name,
            Municipality.response_target_days,
            func.sum(case((D.measure == "submitted", D.count), else_=0)),
            func.sum(case((D.measure == "answered", D.count), else_=0)),
            func.sum(case((D.measure == "within", D.count), else_=0)),
        )
        .join(Municipality, Municipality.id == D.municipality_id)
        .where(D.measure.in_(RESPONSE))
        .group_by(D.municipality_id, Municipality.name, Municipality.response_target_days)
    )
    found = {
        mid: [name, target, int(sub or 0), int(ans or 0), int(within or 0)]
        for mid, name, target, sub, ans, within in db.session.execute(in_scope(counts, scope))
    }
    medians = _median_hours(scope) if found else {}
    rows = [
        ResponseRow(
            mid,
            name,
            target,
            submitted,
            answered,
            None if medians.get(mid) is None else round(medians[mid] / 24, 2),
            within,
        )
        for mid, (name, target, submitted, answered, within) in found.items()
        if submitted
    ]
    return sorted(rows, key=lambda r: r.name)


def _median_hours(scope: Scope) -> dict[int, float]:
    """Per municipality, the median of the answers' whole hours: the middle one or two
    answers (by running sum over the histogram, no division so both engines agree)."""
    hours = cast(D.key, Integer)
    histogram = in_scope(
        select(D.municipality_id.label("m"), hours.label("h"), func.sum(D.count).label("n"))
        .where(D.measure == "answered")
        .group_by(D.municipality_id, hours),
        scope,
    ).subquery()
    running = select(
        histogram.c.m,
        histogram.c.h,
        func.sum(histogram.c.n)
        .over(partition_by=histogram.c.m, order_by=histogram.c.h)
        .label("upto"),
        func.sum(histogram.c.n).over(partition_by=histogram.c.m).label("total"),
    ).subquery()
    r = running.c
    stmt = select(
        r.m,
        func.min(case((and_(r.total > 0, 2 * r.upto >= r.total), r.h))),
        func.min(case((and_(r.total > 0, 2 * r.upto >= r.total + 1), r.h))),
    ).group_by(r.m)
    return {
        m: (int(lo) + int(hi)) / 2
        for m, lo, hi in db.session.execute(stmt)
        if lo is not None and hi is not None
    }


def settlements_improved(scope: Scope) -> list[SettlementsRow]:
    """Distinct settlements with a proposal completed in the period, per calendar year,
    against the annual target of the municipalities in scope (none for a single CO)."""
    year = extract("year", D.day)
    stmt = (
        select(year, func.count(func.distinct(D.key)))
        .where(D.measure == "settlement", D.count > 0)
        .group_by(year)
    )
    improved = {int(y): n for y, n in db.session.execute(in_scope(stmt, scope))}
    target = None
    if scope.co_id is None:
        target_stmt = select(func.coalesce(func.sum(Municipality.annual_target_settlements), 0))
        if scope.municipality_id is not None:
            target_stmt = target_stmt.where(Municipality.id == scope.municipality_id)
        elif scope.country is not None:
            target_stmt = target_stmt.where(Municipality.country == scope.country)
        target = int(db.session.scalar(target_stmt) or 0)
    return [
        SettlementsRow(y, improved.get(y, 0), target)
        for y in range(scope.start.year, scope.end.year + 1)
    ]


def votes_counted_until() -> datetime | None:
    """Until when online ballots are counted in the summary rows."""
    return db.session.scalar(select(MonitoringMark.at).where(MonitoringMark.name == "votes"))
