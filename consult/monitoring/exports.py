"""Indicator tables and raw lists as CSV: streamed, UTF-8 with a BOM, safe in spreadsheets."""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from flask_babel import lazy_gettext as _l

from consult.core.enums import Gender, ProblemStatus
from consult.monitoring import lists, service
from consult.monitoring.scope import Scope

BOM = "\ufeff"  # spreadsheet programs need it to read Khmer as UTF-8
#: a cell starting with one of these is a formula to a spreadsheet program
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str | int:
    """One value as a CSV cell; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, Decimal | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def stream_csv(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([cell(h) for h in header])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for row in rows:
        writer.writerow([cell(v) for v in row])
        if buffer.tell() > 16384:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# --- indicator tables: (header, rows) from the service's results ----------------------------


def _headline(scope: Scope):
    ind = service.indicators(scope)
    a = ind.attendance
    header = [_l("Indicator"), _l("Value")]
    rows = [
        (_l("COs formed"), ind.cos_formed),
        (_l("Meetings held"), a.meetings),
        (_l("People present at meetings"), a.people),
        (_l("Women present at meetings"), a.women),
        (_l("Infrastructure completed"), ind.infrastructure_completed),
        (_l("Families benefited"), ind.families_benefited),
    ]
    rows += [
        (_l("Settlements improved in %(year)s", year=r.year), r.improved) for r in ind.settlements
    ]
    return header, rows


def _attendance(scope: Scope):
    a = service.attendance(scope)
    return (
        [_l("Meetings"), _l("Women"), _l("Men"), _l("Other / not stated"), _l("All")],
        [(a.meetings, a.women, a.men, a.other, a.people)],
    )


def _votes(scope: Scope):
    votes = service.votes_by_gender(scope)
    return [_l("Gender"), _l("Votes")], [(g.label, votes[g]) for g in Gender]


def _problems(scope: Scope):
    rows = service.problems(scope)
    header = [_l("Category"), *[s.label for s in ProblemStatus], _l("All")]
    return header, [(r.category.label, *r.by_status.values(), r.total) for r in rows]


def _proposals(scope: Scope):
    rows = service.proposals_by_state(scope)
    header = [_l("State"), _l("Proposals"), _l("At this step or beyond")]
    return header, [(r.state.label, r.count, r.reached) for r in rows]


def _response(scope: Scope):
    header = [
        _l("Municipality"),
        _l("Target (days)"),
        _l("Submitted"),
        _l("Answered"),
        _l("Median days to first response"),
        _l("Answered within target"),
        _l("Share within target (%)"),
    ]
    rows = [
        (
            r.name,
            r.target_days,
            r.submitted,
            r.answered,
            r.median_days,
            r.within_target,
            None if r.share_within is None else round(100 * r.share_within, 1),
        )
        for r in service.response_times(scope)
    ]
    return header, rows


def _funding(scope: Scope):
    header = [_l("Currency"), _l("Proposals"), _l("Municipal share"), _l("Community share")]
    return header, [
        (r.currency, r.proposals, r.municipal, r.community) for r in service.funding(scope)
    ]


def _infrastructure(scope: Scope):
    header = [_l("Type"), _l("Completed"), _l("Families benefited"), _l("Of which planned figure")]
    rows = [
        (r.type.label, r.completed, r.families, r.estimated) for r in service.infrastructure(scope)
    ]
    return header, rows


def _settlements(scope: Scope):
    header = [_l("Year"), _l("Settlements improved"), _l("Annual target")]
    return header, [(r.year, r.improved, r.target) for r in service.settlements_improved(scope)]


def _meetings_list(scope: Scope):
    header = [
        "meeting_id", "country", "municipality", "settlement", "co", "kind", "held_at_utc",
        "place", "women", "men", "other",
    ]  # fmt: skip
    return header, lists.meetings_list(scope)


def _problems_list(scope: Scope):
    header = [
        "problem_id", "country", "municipality", "co", "title", "category", "status",
        "households_affected", "recorded_at_utc",
    ]  # fmt: skip
    return header, lists.problems_list(scope)


def _proposals_list(scope: Scope):
    header = [
        "proposal_id", "country", "municipality", "co", "title", "infrastructure_type", "state",
        "currency", "estimated_cost", "amount_requested", "community_cash", "community_labour",
        "households_benefiting", "households_benefited", "created_at_utc", "submitted_at_utc",
        "first_response_at_utc", "agreed_at_utc", "completed_on",
    ]  # fmt: skip
    return header, lists.proposals_list(scope)


def _votes_list(scope: Scope):
    header = [
        "vote_round_id", "proposal_id", "municipality", "co", "proposal_title", "subject",
        "opened_at_utc", "closed_at_utc", "members_at_close", "yes", "no", "abstain", "result",
    ]  # fmt: skip
    return header, lists.votes_list(scope)


TABLES: dict[str, Callable[[Scope], tuple[list, Iterable]]] = {
    "headline": _headline,
    "attendance": _attendance,
    "votes": _votes,
    "problems": _problems,
    "proposals": _proposals,
    "response": _response,
    "funding": _funding,
    "infrastructure": _infrastructure,
    "settlements": _settlements,
    "meetings-list": _meetings_list,
    "problems-list": _problems_list,
    "proposals-list": _proposals_list,
    "votes-list": _votes_list,
}
