"""The programme's raw records for a scope and a period, streamed row by row (the CSV exports)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Select, select

from consult.communities.models import Municipality, Settlement
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.monitoring.scope import (
    CO,
    Scope,
    by_co,
    by_proposal,
    in_period_at,
)
from consult.problems.models import Problem
from consult.proposals.models import Proposal
from consult.votes.models import VoteRound

# --- raw lists, streamed ------------------------------------------------------------------


def _stream(stmt: Select) -> Iterator[tuple]:
    for row in db.session.execute(stmt.execution_options(yield_per=1000)):
        yield tuple(row)


def meetings_list(scope: Scope) -> Iterator[tuple]:
    """Meetings held in the period with their CO, place and head-counts."""
    stmt = (
        select(
            Meeting.id,
            Municipality.country,
            Municipality.name,
            Settlement.name,
            CO.name,
            Meeting.kind,
            Meeting.held_at,
            Meeting.place,
            Meeting.women_present,
            Meeting.men_present,
            Meeting.other_present,
        )
        .join(CO, CO.id == Meeting.co_id)
        .join(Settlement, Settlement.id == CO.settlement_id)
        .join(Municipality, Municipality.id == Settlement.municipality_id)
        .where(in_period_at(Meeting.held_at, scope))
        .order_by(Meeting.held_at, Meeting.id)
    )
    return _stream(by_co(stmt, scope, Meeting.co_id))


def problems_list(scope: Scope) -> Iterator[tuple]:
    stmt = (
        select(
            Problem.id,
            Municipality.country,
            Municipality.name,
            CO.name,
            Problem.title,
            Problem.category,
            Problem.status,
            Problem.households_affected,
            Problem.created_at,
        )
        .join(CO, CO.id == Problem.co_id)
        .join(Settlement, Settlement.id == CO.settlement_id)
        .join(Municipality, Municipality.id == Settlement.municipality_id)
        .where(in_period_at(Problem.created_at, scope))
        .order_by(Problem.created_at, Problem.id)
    )
    return _stream(by_co(stmt, scope, Problem.co_id))


def proposals_list(scope: Scope) -> Iterator[tuple]:
    stmt = (
        select(
            Proposal.id,
            Municipality.country,
            Municipality.name,
            CO.name,
            Proposal.title,
            Proposal.infrastructure_type,
            Proposal.state,
            Proposal.currency,
            Proposal.estimated_cost,
            Proposal.amount_requested,
            Proposal.community_cash,
            Proposal.community_labour,
            Proposal.households_benefiting,
            Proposal.households_benefited,
            Proposal.created_at,
            Proposal.submitted_at,
            Proposal.first_response_at,
            Proposal.agreed_at,
            Proposal.completed_on,
        )
        .join(CO, CO.id == Proposal.co_id)
        .join(Municipality, Municipality.id == Proposal.municipality_id)
        .where(in_period_at(Proposal.created_at, scope))
        .order_by(Proposal.created_at, Proposal.id)
    )
    return _stream(by_proposal(stmt, scope))


def votes_list(scope: Scope) -> Iterator[tuple]:
    """One line per vote round opened in the period: its totals and result (not who voted)."""
    stmt = (
        select(
            VoteRound.id,
            Proposal.id,
            Municipality.name,
            CO.name,
            Proposal.title,
            VoteRound.subject,
            VoteRound.opened_at,
            VoteRound.closed_at,
            VoteRound.members_at_close,
            VoteRound.yes_count,
            VoteRound.no_count,
            VoteRound.abstain_count,
            VoteRound.result,
        )
        .join(Proposal, Proposal.id == VoteRound.proposal_id)
        .join(CO, CO.id == Proposal.co_id)
        .join(Municipality, Municipality.id == Proposal.municipality_id)
        .where(in_period_at(VoteRound.opened_at, scope))
        .order_by(VoteRound.opened_at, VoteRound.id)
    )
    return _stream(by_proposal(stmt, scope))
