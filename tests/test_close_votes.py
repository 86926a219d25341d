"""`consult close-votes` closes each vote in its own transaction and skips what is closed or
being closed elsewhere; a leader closing the members' vote on a counter-offer while ballots
arrive does not deadlock (PostgreSQL)."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from consult.core.db import utcnow
from consult.core.enums import ProposalState, VoteChoice, VoteResult, VoteSubject
from consult.extensions import db
from consult.negotiation import offers as negotiation
from consult.proposals import service
from consult.proposals.models import ProposalVersion
from consult.votes import service as votes


def _due(world, make):
    """A proposal whose vote closed a minute ago, with one yes."""
    p = make.proposal(world.co)
    rnd = service.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    service.cast_vote(p, world.leader.membership_in(world.co.id), VoteChoice.YES)
    rnd.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    return p, rnd


def test_each_vote_is_closed_in_its_own_transaction(world, make, runner, monkeypatch):
    (first, r1), (second, r2) = _due(world, make), _due(world, make)
    real = service.close_vote

    def failing_for_the_first(proposal, by, **kw):
        if proposal.id == first.id:
            raise service.VoteError("something went wrong with this one")
        return real(proposal, by, **kw)

    monkeypatch.setattr(service, "close_vote", failing_for_the_first)
    result = runner.invoke(args=["close-votes"])
    assert result.exit_code == 1  # cron hears about it…
    assert "Could not close the vote on proposal" in result.output
    db.session.expire_all()
    assert r1.closed_at is None and first.state == ProposalState.VOTING
    assert r2.closed_at is not None and second.state == ProposalState.APPROVED  # …and kept


def test_a_second_run_skips_what_the_first_closed(world, make, runner):
    _due(world, make)
    assert "1 vote(s) closed" in runner.invoke(args=["close-votes"]).output
    again = runner.invoke(args=["close-votes"])
    assert again.exit_code == 0 and "0 vote(s) closed" in again.output


def test_a_vote_being_closed_elsewhere_is_skipped_without_waiting(world, make, runner):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks held by another connection: PostgreSQL")
    p, rnd = _due(world, make)
    with db.engine.connect() as other:  # a leader closing it by hand, or another run
        other.execute(text("SELECT id FROM proposals WHERE id = :id FOR UPDATE"), {"id": p.id})
        result = runner.invoke(args=["close-votes"])
        assert result.exit_code == 0, result.output
        assert "0 vote(s) closed, 1 skipped" in result.output
        other.rollback()
    assert "1 vote(s) closed" in runner.invoke(args=["close-votes"]).output


def _offer_in_vote(world, make):
    p = make.proposal(world.co, state=ProposalState.UNDER_REVIEW)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    v = p.latest_version
    offer = negotiation.counter_offer(
        p,
        world.officer,
        municipal_share=v.amount_requested - Decimal("1000000"),
        community_cash=v.community_cash + Decimal("1000000"),
        community_labour=v.community_labour,
    )
    negotiation.put_counter_offer_to_vote(p, world.leader, offer, utcnow() + timedelta(days=3))
    db.session.commit()
    return p.id, offer.id


def _waiting_for_a_lock(pid: int) -> bool:
    with db.engine.connect() as conn:
        return bool(
            conn.execute(
                text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            ).scalar()
        )


def test_closing_a_counter_offer_vote_while_a_ballot_arrives_does_not_deadlock(app, world, make):
    """The ballot holds the round and is about to write its audit row (which names the
    proposal); the leader's close holds the proposal and waits for the round. Before, the
    ballot then waited for the proposal: a deadlock, and one of the two got a 500."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    from consult.auth.models import User
    from consult.negotiation.models import Message
    from consult.proposals.models import Proposal

    proposal_id, offer_id = _offer_in_vote(world, make)
    member_id, leader_id = world.member.id, world.leader.id
    db.session.remove()

    # the ballot, step one: its round locked (as votes.cast does first)
    proposal = db.session.get(Proposal, proposal_id)
    assert votes.lock_round(proposal, VoteSubject.COUNTER_OFFER, offer_id) is not None
    ballot_pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()

    closer: dict = {}

    def close():
        with app.app_context():
            try:
                closer["pid"] = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
                p = db.session.get(Proposal, proposal_id)
                leader = db.session.get(User, leader_id)
                offer = db.session.get(Message, offer_id)
                negotiation.close_offer_vote(p, leader, offer)
                db.session.commit()
                closer["done"] = True
            except Exception as error:  # noqa: BLE001 - reported below
                closer["error"] = error
                db.session.rollback()
            finally:
                db.session.remove()

    thread = threading.Thread(target=close)
    thread.start()
    # the close now holds the proposal and waits for the round the ballot holds
    while not closer.get("error") and not (
        closer.get("pid") and _waiting_for_a_lock(closer["pid"])
    ):
        thread.join(timeout=0.05)
    assert "error" not in closer, closer
    # the ballot, step two: counted, its audit row written (pointing at the proposal)
    member = db.session.get(User, member_id)
    offer = db.session.get(Message, offer_id)
    outcome = negotiation.cast_offer_vote(proposal, member, offer, VoteChoice.YES)
    db.session.commit()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert closer.get("done"), closer.get("error")
    assert outcome == "cast" and ballot_pid != closer["pid"]
    db.session.remove()
    closed_at, result = db.session.execute(
        text("SELECT closed_at, result FROM vote_rounds WHERE counter_offer_id = :o"),
        {"o": offer_id},
    ).one()
    assert closed_at is not None and result in {r.value for r in VoteResult}
    assert db.session.scalar(text("SELECT COUNT(*) FROM votes")) == 1  # the ballot counted
