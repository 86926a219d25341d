"""The demo programme: every workflow state, consistent counts, working logins."""

from sqlalchemy import func, select

from consult import demo
from consult.audit.service import trail_for_proposal
from consult.core.enums import ProposalState, VoteChoice
from consult.extensions import db
from consult.proposals.models import Proposal
from consult.votes.models import Vote, VoteRound


def test_seed_demo_covers_every_state_and_is_idempotent(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "Demo data created." in result.output
    for _, login in demo.LOGINS:
        assert login in result.output
    states = set(db.session.scalars(select(Proposal.state)))
    assert states == set(ProposalState)
    again = runner.invoke(args=["seed-demo"])
    assert "already present" in again.output
    assert db.session.scalar(select(func.count(Proposal.id))) == 14


def test_demo_vote_totals_equal_the_votes(runner):
    runner.invoke(args=["seed-demo"])
    for rnd in db.session.scalars(select(VoteRound)):
        counted = {
            choice: db.session.scalar(
                select(func.count(Vote.id)).where(Vote.round_id == rnd.id, Vote.choice == choice)
            )
            for choice in VoteChoice
        }
        assert (rnd.yes_count, rnd.no_count, rnd.abstain_count) == (
            counted[VoteChoice.YES],
            counted[VoteChoice.NO],
            counted[VoteChoice.ABSTAIN],
        )


def test_demo_logins_work(runner, client, app):
    runner.invoke(args=["seed-demo"])
    password = app.config["DEMO_PASSWORD"]
    for _, login in demo.LOGINS:
        c = app.test_client()
        r = c.post("/login", data={"login": login, "password": password})
        assert r.status_code == 302, login
        home = c.get(r.headers["Location"], follow_redirects=True)
        assert home.status_code == 200, login


def test_demo_proposals_are_where_the_workflow_took_them(runner):
    """Each proposal's state is the one its last audited transition led to: the demo takes
    the workflow's own steps (through the services), so it cannot seed a state they refuse."""
    runner.invoke(args=["seed-demo"])
    for p in db.session.scalars(select(Proposal)):
        moves = [
            e.detail["after"]
            for e in trail_for_proposal(p.id)
            if e.action.startswith("proposal.") and "after" in e.detail
        ]
        assert (moves[-1] if moves else "draft") == p.state.value, p.title


def test_the_demo_dashboard_counts_its_ballots_from_the_first_look(runner, app):
    """The summary rows take online ballots from cron; a demo is looked at before cron runs,
    so its rows are already what a count from scratch gives."""
    from consult.monitoring import aggregates
    from consult.monitoring.models import DailyFigure

    def votes_counted() -> int:
        total = select(func.sum(DailyFigure.count)).where(DailyFigure.measure == "votes")
        return db.session.scalar(total)

    runner.invoke(args=["seed-demo"])
    conn = db.session.connection()
    assert aggregates.votes_counted_until(conn) is not None
    seeded = votes_counted()
    aggregates.rebuild(conn)
    assert db.session.scalar(select(func.count(Vote.id))) > 0
    assert seeded == votes_counted()
