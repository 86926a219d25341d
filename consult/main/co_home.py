"""A CO's home page: its proposals by state and the newest few, open problems, meetings and
unread municipal messages. It shows what several features hold, so it is assembled here, above
them, rather than in ``communities`` (which they all build on). The view keeps its endpoint
``communities.home``."""

from flask import render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from consult.agenda.routes import needs_in
from consult.communities import bp as communities
from consult.communities.models import CommunityOrganisation, Settlement
from consult.communities.service import co_page_version, member_count_sql
from consult.core.conditional import answer_if_unchanged, page_tag, tag_response, versioned
from consult.core.db import utcnow
from consult.core.enums import ProblemStatus, VoteChoice
from consult.core.pages import as_count, bounded_count_sql, rows_of
from consult.core.permissions import can, require
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.negotiation import service as negotiation
from consult.problems.models import Problem
from consult.proposals import lists as proposal_lists

#: how many of the newest proposals and open problems the CO's home shows
HOME_NEWEST = 5


@communities.route("/co/<int:co_id>")
@login_required
@versioned("co", co_page_version, "co_id")
def home(co_id: int):
    """The CO's home: proposals by state and the newest few, open problems, meetings, unread
    municipal messages. Every section is bounded; each links to its full, paginated list.
    A repeat view of an unchanged page is a 304 read from one statement, before any of it."""
    not_modified = answer_if_unchanged(page_tag())
    if not_modified is not None:
        return not_modified
    # with the place the header names, in one query rather than three (the rows are kept
    # referenced until the page is rendered: the session holds loaded rows only weakly)
    co = db.get_or_404(
        CommunityOrganisation,
        co_id,
        options=[joinedload(CommunityOrganisation.settlement).joinedload(Settlement.municipality)],
    )
    require(current_user, "view", co)
    place = co.settlement
    internal = can(current_user, "view_internal", co)
    open_problems = select(Problem).where(
        Problem.co_id == co.id, Problem.status == ProblemStatus.OPEN
    )
    problems = db.session.scalars(
        open_problems.order_by(Problem.created_at.desc(), Problem.id.desc()).limit(HOME_NEWEST)
    ).all()
    proposals = proposal_lists.newest(co, internal=internal, limit=HOME_NEWEST)
    upcoming, recent = [], []
    if internal:
        now = utcnow()
        soon = (
            select(Meeting.id)
            .where(Meeting.co_id == co.id, Meeting.held_at >= now)
            .order_by(Meeting.held_at, Meeting.id)
            .limit(3)
        )
        last = (
            select(Meeting.id)
            .where(Meeting.co_id == co.id, Meeting.held_at < now)
            .order_by(Meeting.held_at.desc(), Meeting.id.desc())
            .limit(3)
        )
        meetings = db.session.scalars(rows_of(Meeting, soon, last).order_by(Meeting.held_at)).all()
        upcoming = [m for m in meetings if m.held_at >= now]
        recent = [m for m in reversed(meetings) if m.held_at < now]
    # the section counts in one statement
    counts_row = db.session.execute(
        proposal_lists.state_counts_query(co, internal=internal).add_columns(
            member_count_sql(co.id).label("members"),
            bounded_count_sql(open_problems).label("open_problems"),
        )
    ).one()
    counts = proposal_lists.by_state(counts_row)
    unread = negotiation.unread_in_co(current_user, co.id)
    page = render_template(
        "communities/home.html",
        co=co,
        place=place,
        internal=internal,
        problems=problems,
        open_problem_count=as_count(counts_row.open_problems),
        proposals=proposals,
        state_counts=list(counts.items()),
        proposal_count=sum(counts.values()),
        unread=unread,
        unread_total=sum(unread.values()),
        upcoming=upcoming,
        recent=recent,
        member_count=counts_row.members,
        needs=needs_in(co),  # "Needs you now", at the top (the top bar counts the same)
        choices=list(VoteChoice),
    )
    return tag_response(page)
