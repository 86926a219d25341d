"""Votes per second under concurrency against a bare route, on the same server, in one run.

    DATABASE_URL=postgresql://root@127.0.0.1/consult_bench python bench/votes.py

Creates the tables if they are missing, then a fresh CO with ``--members`` voters (one
shared password hash) and a proposal in voting. Starts gunicorn (``--workers`` sync workers,
loopback only, CSRF on), logs every member in through the real form, then ``--clients``
threads send ``--requests`` ballots (a random member, a random choice: first votes, changes
and repeats mixed), and the same threads send as many requests to ``/healthz``. Prints
votes/s, requests/s for ``/healthz`` and their ratio, then checks that every member who voted
has exactly one vote row and the cached totals equal a recount. Bounded: at most 20,000
requests a phase, 30 s a request, ``--time-limit`` for the whole load; gunicorn is always
stopped. Each run leaves its CO, members and proposal in the database (a new name each run).
"""

import argparse
import os
import random
import secrets
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import wsgi_concurrency as harness  # noqa: E402

MAX_REQUESTS = 20_000
CHOICES = ("yes", "no", "abstain")


def _timed(job, times: list, lock: threading.Lock):
    def run():
        started = time.perf_counter()
        job()
        with lock:
            times.append(time.perf_counter() - started)

    return run


def _phase(name: str, jobs: list, args, load: harness.Load) -> float:
    """Run ``jobs`` on ``args.clients`` threads; print and return requests per second."""
    times: list[float] = []
    lock = threading.Lock()
    failures_before = len(load.failures)
    started = time.perf_counter()
    harness.run_all(
        [_timed(j, times, lock) for j in jobs],
        threads=args.clients,
        deadline=time.monotonic() + args.time_limit,
        load=load,
    )
    elapsed = time.perf_counter() - started
    rate = len(times) / elapsed
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1] if times else 0
    print(
        f"{name:>10}: {len(times):>6} jobs in {elapsed:6.2f} s = {rate:8.1f}/s  "
        f"median {statistics.median(times) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"
        + (f"  ({len(load.failures) - failures_before} failed)" if len(load.failures) else "")
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--requests", type=int, default=2000, help="ballots (and /healthz)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds per phase")
    args = parser.parse_args()
    args.requests = min(args.requests, MAX_REQUESTS)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL database, e.g. postgresql://root@127.0.0.1/consult_bench"
        )

    from sqlalchemy import func, select

    from consult import create_app
    from consult.core.enums import VoteChoice
    from consult.extensions import db
    from consult.votes.models import Vote, VoteRound

    secret = secrets.token_hex(16)
    harness.last_flash(secret, None)  # imports and serializer ready before the threads
    app = create_app({"SECRET_KEY": secret, "CONSULT_ENV": "testing"})
    with app.app_context():
        db.create_all()  # only the missing tables
        tag = secrets.token_hex(4)
        proposal_id, round_id, voters = harness.seed_vote(args.members, tag)
    print(
        f"{args.members} members, {args.requests} ballots and {args.requests} /healthz, "
        f"{args.clients} clients, gunicorn --workers {args.workers}, CO 'Load CO {tag}'"
    )

    load = harness.Load()
    with harness.gunicorn(url, secret, workers=args.workers) as (port, _log):
        _phase(
            "log in (3 requests each)",
            [lambda v=v: harness.sign_in(port, v, proposal_id, load) for v in voters],
            args,
            load,
        )
        if load.failures:
            sys.exit(f"log-in failed: {load.failures[:3]}")
        # warm every worker's connection pool and templates before timing anything
        for _ in range(args.workers * 4):
            harness.request(port, "GET", "/healthz")
        rng = random.Random(1)
        ballots = [
            (lambda v=rng.choice(voters), c=rng.choice(CHOICES): harness.cast(
                port, v, proposal_id, c, load, secret
            ))
            for _ in range(args.requests)
        ]  # fmt: skip
        votes = _phase("ballots", ballots, args, load)

        def health():
            load.saw("GET /healthz", harness.request(port, "GET", "/healthz"))

        bare = _phase("/healthz", [health] * args.requests, args, load)

    outcomes = Counter(
        harness_kind(category, message) for _m, _c, category, message in load.outcomes
    )
    print(f"ballot outcomes: {dict(outcomes)}")
    print(f"votes/s {votes:.1f}; /healthz requests/s {bare:.1f}; ratio {bare / votes:.1f}")

    problems = []
    if load.server_errors:
        problems.append(f"{len(load.server_errors)} 5xx responses, e.g. {load.server_errors[0]}")
    if load.failures:
        problems.append(f"{len(load.failures)} failed requests, e.g. {load.failures[0]}")
    with app.app_context():
        per_member = db.session.execute(
            select(Vote.membership_id, func.count(Vote.id))
            .where(Vote.round_id == round_id)
            .group_by(Vote.membership_id)
        ).all()
        if any(n != 1 for _m, n in per_member):
            problems.append("a member has more than one vote row")
        rnd = db.session.get(VoteRound, round_id)
        recount = dict(
            db.session.execute(
                select(Vote.choice, func.count(Vote.id))
                .where(Vote.round_id == round_id)
                .group_by(Vote.choice)
            ).all()
        )
        cached = (rnd.yes_count, rnd.no_count, rnd.abstain_count)
        counted = tuple(
            recount.get(c, 0) for c in (VoteChoice.YES, VoteChoice.NO, VoteChoice.ABSTAIN)
        )
        if cached != counted:
            problems.append(f"cached totals {cached} differ from a recount {counted}")
        print(f"{len(per_member)} members voted, one row each; totals {cached} = recount {counted}")
        db.engine.dispose()
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


def harness_kind(category, message) -> str:
    if category is None:
        return "not acknowledged"
    if category != "success":
        return f"refused: {message}"
    return message.split(":")[0]


if __name__ == "__main__":
    sys.exit(main())
