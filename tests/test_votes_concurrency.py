"""Votes under real concurrency: gunicorn with 4 worker processes, real HTTP on loopback.

100 members log in through the real form (CSRF on) and each sends their ballot 5 times at
once; then a third of them change their vote (5 times at once), the others send theirs
again, and a few race yes against no. Afterwards every member has exactly one vote row, equal
to what the server last acknowledged; the cached totals equal a recount; the audit trail
has exactly one "cast" per member and one "changed" per changer; no response was a 5xx and
none mentioned "database is locked".

Runs on PostgreSQL (the per-run schema of ``TEST_DATABASE_URL``) or on the run's SQLite file
(WAL), whichever the run uses. Bounded: 100 members, about 1,000 requests, each with a 30 s
timeout, the whole load within 120 s; gunicorn is always stopped.
"""

import secrets
import time
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select

from consult.audit.models import AuditEvent
from consult.core.enums import VoteChoice
from consult.extensions import db
from consult.votes.models import Vote, VoteRound
from tests import wsgi_concurrency as load_test

pytestmark = pytest.mark.slow

MEMBERS = 100
REPEATS = 5
RACERS = 10
THREADS = 40
TIME_LIMIT = 120  # seconds for logins and both waves together
CHOICES = ("yes", "no", "abstain")
ACK = {
    "Your vote is counted": "cast",
    "Your vote is changed": "changed",
    "Your vote was already": "unchanged",
}


def _first(i: int) -> str:
    return CHOICES[i % 3]


def _changes(i: int) -> bool:
    return i % 3 == 0


def _races(i: int) -> bool:
    return i % 3 == 1 and i < 3 * RACERS


def _outcome(category, message) -> str | None:
    if category != "success":
        return None
    return next((kind for prefix, kind in ACK.items() if message.startswith(prefix)), None)


def _run(database: str) -> None:
    secret = secrets.token_hex(16)
    load_test.last_flash(secret, None)  # imports and serializer ready before the threads
    proposal_id, round_id, voters = load_test.seed_vote(MEMBERS, secrets.token_hex(4))
    load = load_test.Load()
    with load_test.gunicorn(database, secret, workers=4) as (port, log):
        deadline = time.monotonic() + TIME_LIMIT

        def sign_in(v):
            return lambda: load_test.sign_in(port, v, proposal_id, load)

        def cast(v, choice):
            return lambda: load_test.cast(port, v, proposal_id, choice, load, secret)

        load_test.run_all(
            [sign_in(v) for v in voters], threads=THREADS, deadline=deadline, load=load
        )
        assert load.failures == [], load.failures
        assert all(v.token for v in voters)

        wave1 = [cast(v, _first(i)) for i, v in enumerate(voters) for _ in range(REPEATS)]
        load_test.run_all(wave1, threads=THREADS, deadline=deadline, load=load)
        first_wave = list(load.outcomes)
        load.outcomes.clear()

        wave2 = []
        for i, v in enumerate(voters):
            if _races(i):
                wave2 += [cast(v, c) for c in ("yes", "no") for _ in range(2)]
            elif _changes(i):
                wave2 += [cast(v, CHOICES[(i + 1) % 3]) for _ in range(REPEATS)]
            else:
                wave2 += [cast(v, _first(i))]
        load_test.run_all(wave2, threads=THREADS, deadline=deadline, load=load)
        second_wave = list(load.outcomes)
        server_log = log.read_text(errors="replace")

    assert load.failures == [], load.failures
    assert load.server_errors == [], load.server_errors
    assert load.locked == [], load.locked
    assert "database is locked" not in server_log
    assert "Traceback" not in server_log, server_log[-3000:]

    _check_acknowledgements(voters, first_wave, second_wave)
    _check_database(voters, round_id, second_wave)


def _check_acknowledgements(voters, first_wave, second_wave):
    """Every ballot was answered with a success message, and the atomic upsert let exactly
    one of each member's simultaneous sends count as the cast (or the change)."""
    index = {v.membership_id: i for i, v in enumerate(voters)}
    kinds = defaultdict(Counter)
    for membership_id, _choice, category, message in first_wave:
        kinds[membership_id][_outcome(category, message)] += 1
    assert len(first_wave) == MEMBERS * REPEATS
    for v in voters:
        assert kinds[v.membership_id] == Counter(cast=1, unchanged=REPEATS - 1), v.login
    kinds = defaultdict(Counter)
    for membership_id, _choice, category, message in second_wave:
        kinds[membership_id][_outcome(category, message)] += 1
    for membership_id, seen in kinds.items():
        i = index[membership_id]
        assert None not in seen, f"a ballot of member {i} was not acknowledged"
        if _races(i):
            assert seen["cast"] == 0 and seen["changed"] >= 1
        elif _changes(i):
            assert seen == Counter(changed=1, unchanged=REPEATS - 1), i
        else:
            assert seen == Counter(unchanged=1), i


def _check_database(voters, round_id, second_wave):
    db.session.expire_all()
    rows = db.session.scalars(select(Vote).where(Vote.round_id == round_id)).all()
    by_member = Counter(r.membership_id for r in rows)
    assert len(rows) == MEMBERS and set(by_member.values()) == {1}, "not one vote per member"
    stored = {r.membership_id: r for r in rows}
    raced = defaultdict(set)
    for membership_id, choice, _category, _message in second_wave:
        raced[membership_id].add(choice)
    for i, v in enumerate(voters):
        row = stored[v.membership_id]
        if _races(i):
            assert row.choice.value in raced[v.membership_id]
        elif _changes(i):
            assert row.choice.value == CHOICES[(i + 1) % 3]
        else:
            assert row.choice.value == _first(i)
        # the newest audit event of the ballot says what is stored: the row lock on the
        # round orders the writes, so the last one written is the last one committed
        newest = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "Vote", AuditEvent.object_id == row.id)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).one()
        assert newest.detail["choice"] == row.choice.value, v.login

    events = Counter(
        db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "Vote",
                AuditEvent.object_id.in_([r.id for r in rows]),
            )
        ).all()
    )
    assert events["vote.cast"] == MEMBERS
    changers = sum(1 for i in range(MEMBERS) if _changes(i) and not _races(i))
    assert events["vote.changed"] >= changers + RACERS

    rnd = db.session.get(VoteRound, round_id)
    recount = dict(
        db.session.execute(
            select(Vote.choice, func.count(Vote.id))
            .where(Vote.round_id == round_id)
            .group_by(Vote.choice)
        ).all()
    )
    assert (rnd.yes_count, rnd.no_count, rnd.abstain_count) == (
        recount.get(VoteChoice.YES, 0),
        recount.get(VoteChoice.NO, 0),
        recount.get(VoteChoice.ABSTAIN, 0),
    )


def test_votes_under_gunicorn_on_postgresql(app, database):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL run: set TEST_DATABASE_URL=postgresql://…")
    _run(database)


def test_votes_under_gunicorn_on_sqlite_wal(app, database):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite run (without TEST_DATABASE_URL)")
    mode = db.session.connection().exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"
    _run(database)
