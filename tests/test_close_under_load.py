"""Closing each kind of vote while ballots arrive: gunicorn with 4 workers, real HTTP, CSRF
on, PostgreSQL.

For a proposal vote, a members' vote on a counter-offer and a priority round: 30 members send
their ballot (each at its own moment over about 2.5 s) while the closing time passes, the
leader closes through the web and ``consult close-votes`` runs twice at once, as two cron
runs that overlap. Afterwards: no response was a 5xx; each ballot was either acknowledged and
is in the final tally, or refused with a "closed" message and left nothing; the stored totals
equal a recount; the round was closed exactly once (one audit event). ``close-votes`` closes
proposal votes only (a vote on a counter-offer, and a priority round, are closed by the
leader, who must then act on the result), so for the other two kinds it runs alongside and
must simply leave them alone, without failing.

PostgreSQL only: SQLite serialises every writer, which ``tests/test_votes_concurrency.py``
covers. Bounded: 30 members, each request with a timeout, the whole load within 60 s.
"""

import os
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from consult.audit.models import AuditEvent
from consult.core.db import utcnow
from consult.core.enums import VoteChoice
from consult.extensions import db
from consult.negotiation import offers
from consult.priorities import service as priorities
from consult.problems.models import PriorityPoints
from consult.proposals import service as proposals
from consult.votes.models import Vote
from tests import factories
from tests import wsgi_concurrency as harness
from tests.helpers import csrf_token
from tests.test_counter_offers import offer, submitted

pytestmark = pytest.mark.slow

MEMBERS = 30
TIME_LIMIT = 60  # seconds for the whole load of one kind
SPREAD = 2.5  # ballots leave over this many seconds…
CLOSES_AFTER = 1.0  # …the closing time passes after this many…
CLOSERS_AFTER = 1.2  # …and the leader and both cron runs close after this many
CHOICES = ("yes", "no", "abstain")
ACKNOWLEDGED = ("Your vote is counted", "points are saved")
CLOSED = (
    "Voting closed at",
    "There is no open vote on this",
    "This round is closed",
    "The time to give points is over",
)


def _seed(kind: str, tag: str):
    """A CO with a leader and ``MEMBERS`` members (one shared password hash) and the vote of
    ``kind`` open for a week; commits. Returns (paths, round model, round id, members,
    leader), ``paths`` holding the ballot, close and page paths."""
    from werkzeug.security import generate_password_hash

    # a cheap hash: 31 logins through the real form, not the cost of scrypt, are tested here
    password_hash = generate_password_hash(harness.PASSWORD, method="pbkdf2:sha256:1000")
    town = factories.municipality(name=f"Close town {tag}", city=f"Close city {tag}")
    co = factories.co(factories.settlement(town, name=f"Close place {tag}"), name=f"CO {tag}")
    leader = factories.leader(co, phone=None, email=f"leader-{tag}@load.test", password=None)
    users = [
        factories.member(co, phone=None, email=f"m{i}-{tag}@load.test", password=None)
        for i in range(MEMBERS)
    ]
    for u in [leader, *users]:
        u.password_hash = password_hash
    factories.officer(town, email=f"officer-{tag}@load.test")
    week = utcnow() + timedelta(days=7)
    if kind == "proposal":
        p = factories.proposal(co)
        rnd = proposals.open_vote(p, leader, week)
        base = f"/proposals/{p.id}"
        paths = {"page": base, "ballot": f"{base}/vote", "close": f"{base}/vote/close"}
    elif kind == "counter_offer":
        p = submitted(factories, co)
        officer = factories.officer(town, email=f"officer2-{tag}@load.test")
        m = offer(
            p, officer, municipal_share=Decimal("24000000"), community_labour=Decimal("14000000")
        )
        rnd = offers.put_counter_offer_to_vote(p, leader, m, week)
        base = f"/proposals/{p.id}/thread/offers/{m.id}/vote"
        paths = {"page": f"/proposals/{p.id}/thread", "ballot": base, "close": f"{base}/close"}
    else:
        problems = [factories.problem(co, title=f"Problem {i} {tag}") for i in range(3)]
        rnd = priorities.open_round(co, by=leader, title=f"Priorities {tag}", closes_at=week)
        paths = {
            "page": f"/priorities/{rnd.id}",
            "ballot": f"/priorities/{rnd.id}/ballot",
            "close": f"/priorities/{rnd.id}/close",
            "problems": [pr.id for pr in problems],
        }
    db.session.commit()
    members = [harness.Voter(u.membership_in(co.id).id, u.email) for u in users]
    chief = harness.Voter(leader.membership_in(co.id).id, leader.email)
    return paths, type(rnd), rnd.id, members, chief


def _sign_in(port: int, voter: harness.Voter, page: str, load: harness.Load) -> None:
    """Log in through the real form (CSRF on), then open ``page`` for a form token."""
    login = harness.request(port, "GET", "/login")
    load.saw("GET /login", login)
    form = {"csrf_token": csrf_token(login.body), "login": voter.login}
    form["password"] = harness.PASSWORD
    signed = harness.request(port, "POST", "/login", cookie=login.cookie, form=form)
    load.saw("POST /login", signed)
    assert signed.status == 302 and signed.cookie, f"{voter.login} could not log in"
    shown = harness.request(port, "GET", page, cookie=signed.cookie)
    load.saw("GET page", shown)
    assert shown.status == 200, (page, shown.status)
    voter.cookie = shown.cookie or signed.cookie
    voter.token = csrf_token(shown.body)


def _said(reply: harness.Reply, secret: str) -> str:
    """What the server told the voter: the newest flash, or the refusal on a page shown
    again (a points ballot refused inside the service re-renders the form)."""
    flashed = harness.last_flash(secret, reply.cookie) if reply.status == 302 else None
    if flashed:
        return flashed[1]
    text = reply.body.decode(errors="replace")
    return next((m for m in CLOSED if m in text), f"status {reply.status}")


def _close_votes(database: str, secret: str) -> subprocess.Popen:
    """One run of ``consult close-votes``, as cron starts it."""
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "SECRET_KEY": secret,
        "CONSULT_ENV": "testing",
        "PYTHONPATH": str(harness.ROOT),
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "flask", "--app", "consult", "close-votes"],
        cwd=harness.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _run(kind: str, database: str) -> None:
    secret = secrets.token_hex(32)
    harness.last_flash(secret, None)  # the serializer made before the threads need it
    paths, model, round_id, members, leader = _seed(kind, secrets.token_hex(4))
    load = harness.Load()
    said: dict[int, tuple[str, str]] = {}  # membership id -> (choice, what the server said)
    cron: list = []
    with harness.gunicorn(database, secret, workers=4) as (port, log):
        deadline = time.monotonic() + TIME_LIMIT
        harness.run_all(
            [lambda v=v: _sign_in(port, v, paths["page"], load) for v in [leader, *members]],
            threads=16,
            deadline=deadline,
            load=load,
        )
        assert load.failures == [], load.failures

        start = time.monotonic()
        # the closing time passes during the run: from then on, close-votes finds it due
        db.session.execute(
            update(model)
            .where(model.id == round_id)
            .values(closes_at=utcnow() + timedelta(seconds=CLOSES_AFTER))
        )
        db.session.commit()

        def at(offset: float) -> None:
            time.sleep(max(0.0, start + offset - time.monotonic()))

        def ballot(i: int, v: harness.Voter):
            def send():
                at(SPREAD * i / MEMBERS)
                choice = CHOICES[i % 3]
                form = {"csrf_token": v.token}
                if kind == "priority":
                    form[f"problem_{paths['problems'][i % 3]}"] = "2"
                else:
                    form["choice"] = choice
                reply = harness.request(port, "POST", paths["ballot"], cookie=v.cookie, form=form)
                load.saw("POST ballot", reply)
                with load.lock:
                    said[v.membership_id] = (choice, _said(reply, secret))

            return send

        def leader_closes():
            at(CLOSERS_AFTER)
            form = {"csrf_token": leader.token}
            reply = harness.request(port, "POST", paths["close"], cookie=leader.cookie, form=form)
            load.saw("POST close", reply)

        def cron_runs():
            at(CLOSERS_AFTER)
            runs = [_close_votes(database, secret) for _ in range(2)]  # overlapping runs
            for run in runs:
                output, _ = run.communicate(timeout=45)
                cron.append((run.returncode, output))

        jobs = [ballot(i, v) for i, v in enumerate(members)] + [leader_closes, cron_runs]
        harness.run_all(jobs, threads=len(jobs), deadline=deadline, load=load)
        server_log = log.read_text(errors="replace")

    assert load.failures == [], load.failures
    assert load.server_errors == [], load.server_errors
    assert "Traceback" not in server_log, server_log[-3000:]
    assert len(cron) == 2
    for code, output in cron:
        assert code == 0 and "Traceback" not in output, output

    acknowledged = {}
    for membership_id, (choice, message) in said.items():
        if any(ack in message for ack in ACKNOWLEDGED):
            acknowledged[membership_id] = choice
        else:
            assert message.startswith(CLOSED), message
    assert len(said) == MEMBERS
    _check_stored(kind, model, round_id, acknowledged)


def _check_stored(kind, model, round_id, acknowledged) -> None:
    db.session.expire_all()
    rnd = db.session.get(model, round_id)
    assert rnd.closed_at is not None
    if kind == "priority":
        rows = db.session.execute(
            select(PriorityPoints.membership_id, PriorityPoints.problem_id).where(
                PriorityPoints.round_id == round_id
            )
        ).all()
        assert {m for m, _p in rows} == set(acknowledged)  # counted, or nothing kept
        assert len(rows) == len(acknowledged)  # one problem each
    else:
        rows = db.session.execute(
            select(Vote.membership_id, Vote.choice).where(Vote.round_id == round_id)
        ).all()
        assert {m: c.value for m, c in rows} == acknowledged  # counted, or nothing kept
        recount = {c: sum(1 for _m, x in rows if x == c) for c in VoteChoice}
        cached = {
            VoteChoice.YES: rnd.yes_count,
            VoteChoice.NO: rnd.no_count,
            VoteChoice.ABSTAIN: rnd.abstain_count,
        }
        assert cached == recount, "the stored totals are not a recount of the ballots"
        assert rnd.result is not None
    closes = [
        e
        for e in db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action.in_(
                    ("proposal.close_vote", "vote.closed", "priority_round.closed")
                )
            )
        )
        if (e.detail or {}).get("round_id") == round_id
        or (e.object_type in ("VoteRound", "PriorityRound") and e.object_id == round_id)
    ]
    assert len(closes) == 1, f"closed {len(closes)} times: {[e.action for e in closes]}"


@pytest.mark.parametrize("kind", ["proposal", "counter_offer", "priority"])
def test_closing_while_ballots_arrive_on_postgresql(app, database, kind):
    if db.engine.dialect.name != "postgresql":
        pytest.skip(
            "concurrent closers and writers on PostgreSQL (SQLite serialises every writer; "
            "tests/test_votes_concurrency.py runs its ballots on SQLite WAL)"
        )
    _run(kind, database)
