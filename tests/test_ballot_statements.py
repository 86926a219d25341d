"""A ballot costs a handful of SQL statements, whatever its kind: the whole POST (or PUT) of
one ballot, from loading the signed-in user to the commit, runs at most ``BUDGET`` of them.

Counted with ``before_cursor_execute`` on the request itself; the redirect's page is another
request and is not counted. Each kind is counted for a first ballot, a changed ballot and the
same ballot again (the submission key is new each time, as a fresh form's is)."""

import secrets
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import event, select

from consult.audit.models import AuditEvent
from consult.core.db import utcnow
from consult.core.enums import VoteChoice
from consult.extensions import db
from consult.negotiation import offers
from consult.priorities import service as priorities
from consult.proposals import service as proposals
from consult.votes.models import Vote, VoteRound
from tests.factories import PASSWORD
from tests.test_api import API
from tests.test_counter_offers import offer, submitted

#: statements one ballot may run, for the whole request
BUDGET = 6


def _statements(send) -> tuple[int, list[str], object]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = send()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen), seen, response


def _key() -> str:
    return secrets.token_urlsafe(18)


def _proposal_vote(world, make):
    p = make.proposal(world.co)
    proposals.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    db.session.commit()
    return p


def _offer_vote(world, make):
    p = submitted(make, world.co)
    m = offer(
        p,
        world.officer,
        municipal_share=Decimal("24000000"),
        community_labour=Decimal("14000000"),
    )
    offers.put_counter_offer_to_vote(p, world.leader, m, utcnow() + timedelta(days=3))
    db.session.commit()
    return p, m


def _cached(round_id: int) -> tuple[int, int, int]:
    rnd = db.session.get(VoteRound, round_id, populate_existing=True)
    return rnd.yes_count, rnd.no_count, rnd.abstain_count


def _check_ballots(world, send, round_id):
    """First ballot, a change and a repeat: each within the budget, each counted right."""
    for choice, outcome, expected in (
        ("yes", "cast", (1, 0, 0)),
        ("no", "changed", (0, 1, 0)),
        ("no", "unchanged", (0, 1, 0)),
    ):
        n, seen, r = _statements(lambda c=choice: send(c))
        assert r.status_code in (200, 302), r.data[:300]
        assert n <= BUDGET, (outcome, n, seen)
        assert _cached(round_id) == expected, outcome
        vote = db.session.scalars(select(Vote).where(Vote.round_id == round_id)).one()
        assert vote.choice == VoteChoice(choice)
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.action.like("vote.%"), AuditEvent.actor_id == world.member.id)
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["vote.cast", "vote.changed"]


def test_a_web_ballot_on_a_proposal(world, make, client, as_user):
    p = _proposal_vote(world, make)
    as_user(world.member)
    client.get("/")  # the session's first request refreshes its times: not a ballot's cost
    round_id = proposals.current_round(p).id

    url = f"/proposals/{p.id}/vote"

    def send(choice):
        return client.post(url, data={"choice": choice, "submission_key": _key()})

    _check_ballots(world, send, round_id)


def test_a_web_ballot_on_a_counter_offer(world, make, client, as_user):
    p, m = _offer_vote(world, make)
    as_user(world.member)
    client.get("/")
    round_id = offers.offer_round(m).id

    url = f"/proposals/{p.id}/thread/offers/{m.id}/vote"

    def send(choice):
        return client.post(url, data={"choice": choice, "submission_key": _key()})

    _check_ballots(world, send, round_id)


def _token(client, user) -> dict:
    """Headers with a bearer token for ``user``, used once already: a token's first use in a
    minute notes the time in a transaction of its own, before the call's."""
    r = client.post(f"{API}/auth/token", json={"login": user.login, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {r.get_json()['token']}"}
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    return headers


def test_an_api_ballot_on_a_proposal(world, make, client):
    p = _proposal_vote(world, make)
    headers = _token(client, world.member)
    round_id = proposals.current_round(p).id

    url = f"{API}/proposals/{p.id}/vote"

    def send(choice):
        return client.put(url, json={"choice": choice}, headers=headers)

    _check_ballots(world, send, round_id)


def test_an_api_ballot_on_a_counter_offer(world, make, client):
    p, m = _offer_vote(world, make)
    headers = _token(client, world.member)
    round_id = offers.offer_round(m).id

    url, offer_id = f"{API}/proposals/{p.id}/vote", m.id

    def send(choice):
        return client.put(url, json={"choice": choice, "offer_id": offer_id}, headers=headers)

    _check_ballots(world, send, round_id)


def test_a_web_points_ballot(world, make, client, as_user):
    """A points ballot replaces several rows: the lock, a DELETE … RETURNING (what it had), one
    INSERT of the new rows and the audit event. PostgreSQL writes the last two in one
    statement; SQLite has no data-modifying CTE and takes one more than ``BUDGET``."""
    problems = [make.problem(world.co, title=f"Problem {i}") for i in range(3)]
    rnd = priorities.open_round(world.co, by=world.leader, title="Priorities")
    db.session.commit()
    as_user(world.member)
    client.get("/")
    url, membership = f"/priorities/{rnd.id}/ballot", world.member.membership_in(world.co.id)
    budget = BUDGET + (db.engine.dialect.name == "sqlite")
    for points, action in (
        ({0: 2, 1: 1}, "priority_round.ballot_given"),
        ({1: 3}, "priority_round.ballot_changed"),
        ({}, "priority_round.ballot_changed"),  # all taken back
    ):
        data = {f"problem_{p.id}": points.get(i, 0) for i, p in enumerate(problems)}
        data["submission_key"] = _key()
        n, seen, r = _statements(lambda d=data: client.post(url, data=d))
        assert r.status_code == 302, r.data[:300]
        assert n <= budget, (n, seen)
        assert priorities.ballot_of(rnd, membership) == {
            problems[i].id: k for i, k in points.items()
        }
        last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert last.action == action and last.actor_id == world.member.id
