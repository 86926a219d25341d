"""Every page the programme's scale can hurt, against a bare route, same server, same run.

    DATABASE_URL=postgresql://postgres@127.0.0.1/consult_bench python bench/pages.py

For each ``--scales`` (default 0.01, 0.1 and 1) it fills the database with
``bench/generate.py`` (which it drops and recreates), adds the heavy cases the pages are
measured on (one CO with 287 proposals and 1,000 open problems, a thread of 504 messages,
a municipality with 7,000 submitted proposals, all times the scale), counts the SQL
statements of one request to each page in-process, then starts gunicorn (``--workers`` sync
workers, loopback) and for each page runs ``--connections`` client threads for ``--seconds``
on each of: a bare route of the same server (no database, no template), the page, and the
page again with the ETag of its first answer (a repeat view: 304) — in turn, in ``--rounds``
slices, so that each is measured over the same stretch of a shared machine's time.
It prints requests/s, p50 and p95 of each, the ratio of the page's requests/s to the bare
route's, the page's bytes and its SQL statements, as one Markdown table per scale and a
summary across scales. The clients run on the same machine as the server and the database.
"""

# ruff: noqa: S608 - the SQL is assembled from constants in this file, never from input

import argparse
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402

from bench import generate  # noqa: E402

HOST = "127.0.0.1"
TIMEOUT = 120  # seconds; a slower request is a failure, not a figure
WARM_UP = 1  # second of each measurement's load before it is taken
OFFICER_EMAIL = "officer@bench.example"
#: what the bench's clients call themselves (a login binds its session to the address and
#: the browser: see :func:`login_session`)
USER_AGENT = "consult-bench"
BIG = {"proposals": 287, "open_problems": 1000, "messages": 504, "inbox": 7000}


def _scaled(n: int, scale: float) -> int:
    return max(3, round(n * scale))


def add_heavy_cases(conn, scale: float) -> dict:
    """The cases the issue measured: one big CO, one long thread, one full inbox. Returns
    the ids the pages need."""
    co = 1
    m = conn.execute(
        text(
            "SELECT s.municipality_id FROM community_organisations c"
            " JOIN settlements s ON s.id = c.settlement_id WHERE c.id = :co"
        ),
        {"co": co},
    ).scalar_one()
    currency = conn.execute(
        text("SELECT currency FROM municipalities WHERE id = :m"), {"m": m}
    ).scalar_one()
    common = (
        "infrastructure_type, currency, estimated_cost, community_cash, community_labour,"
        " amount_requested, households_benefiting, progress_percent"
    )
    values = "'drainage', :cur, 40000000, 2000000, 4000000, 34000000, 60, 0"
    # the big CO's proposals (drafts and submitted ones) and open problems
    conn.execute(
        text(
            f"INSERT INTO proposals (created_at, co_id, municipality_id, state, title, {common},"
            " submitted_at)"
            f" SELECT now() - i * interval '1 hour', :co, :m,"
            " CASE WHEN i % 2 = 0 THEN 'draft' ELSE 'submitted' END, 'Big CO scheme ' || i,"
            f" {values}, CASE WHEN i % 2 = 1 THEN now() - i * interval '1 hour' END"
            " FROM generate_series(1, :n) AS i"
        ),
        {"co": co, "m": m, "cur": currency, "n": _scaled(BIG["proposals"], scale)},
    )
    conn.execute(
        text(
            "INSERT INTO problems (created_at, co_id, title, category, households_affected,"
            " status) SELECT now() - i * interval '1 hour', :co, 'Open problem ' || i,"
            " 'drainage', 30, 'open' FROM generate_series(1, :n) AS i"
        ),
        {"co": co, "n": _scaled(BIG["open_problems"], scale)},
    )
    # the long thread, on a proposal in negotiation
    thread = conn.execute(
        text(
            f"INSERT INTO proposals (created_at, co_id, municipality_id, state, title, {common},"
            " submitted_at, first_response_at)"
            f" VALUES (now() - interval '90 days', :co, :m, 'negotiating', 'Long thread',"
            f" {values}, now() - interval '80 days', now() - interval '79 days') RETURNING id"
        ),
        {"co": co, "m": m, "cur": currency},
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO proposal_versions (created_at, proposal_id, number, reason, title,"
            " description, infrastructure_type, location, currency, estimated_cost,"
            " community_cash, community_labour, amount_requested, households_benefiting,"
            " timeline) SELECT now(), p.id, 1, 'submitted', p.title, p.description,"
            " p.infrastructure_type, p.location, p.currency, p.estimated_cost, p.community_cash,"
            " p.community_labour, p.amount_requested, p.households_benefiting, p.timeline"
            " FROM proposals p WHERE p.id = :p"
        ),
        {"p": thread},
    )
    conn.execute(
        text(
            "INSERT INTO messages (created_at, proposal_id, side, kind, body)"
            " SELECT now() - interval '79 days' + i * interval '1 hour', :p,"
            " (ARRAY['community', 'municipality'])[1 + i % 2], 'comment',"
            " 'សារ message ' || i || ' about the drain, the sewer and the budget'"
            " FROM generate_series(1, :n) AS i"
        ),
        {"p": thread, "n": _scaled(BIG["messages"], scale)},
    )
    # the full inbox: submitted proposals spread over the municipality's COs
    conn.execute(
        text(
            f"INSERT INTO proposals (created_at, co_id, municipality_id, state, title, {common},"
            " submitted_at)"
            " SELECT now() - i * interval '1 hour', cos.ids[1 + i % cardinality(cos.ids)], :m,"
            f" 'submitted', 'Inbox scheme ' || i, {values}, now() - i * interval '1 hour'"
            " FROM generate_series(1, :n) AS i, (SELECT array_agg(c.id) AS ids"
            " FROM community_organisations c JOIN settlements s ON s.id = c.settlement_id"
            " WHERE s.municipality_id = :m) AS cos"
        ),
        {"m": m, "cur": currency, "n": _scaled(BIG["inbox"], scale)},
    )
    officer = conn.execute(
        text(
            "INSERT INTO users (created_at, name, email, role, gender, active, municipality_id,"
            " session_token) VALUES (now(), 'Bench officer', :email, 'officer', 'man', true, :m,"
            " md5(random()::text)) RETURNING id"
        ),
        {"email": OFFICER_EMAIL, "m": m},
    ).scalar_one()
    leader = conn.execute(
        text("SELECT user_id FROM memberships WHERE co_id = :co AND role = 'leader' LIMIT 1"),
        {"co": co},
    ).scalar_one()
    staff = conn.execute(
        text("SELECT id FROM users WHERE email = :e"), {"e": generate.STAFF_EMAIL}
    ).scalar_one()
    return {
        "co": co,
        "municipality": m,
        "thread": thread,
        "officer": officer,
        "leader": leader,
        "staff": staff,
    }


def fill(scale: float) -> dict:
    """A fresh programme at ``scale`` with the heavy cases; returns their ids."""
    from consult import create_app
    from consult.extensions import db

    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generate.py"), "--reset", "--scale", str(scale)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    app = create_app({"CONSULT_ENV": "testing", "SECRET_KEY": "bench"})
    with app.app_context():
        with db.engine.begin() as conn:
            ids = add_heavy_cases(conn, scale)
            generate.audit_trail(conn)  # again, with the heavy cases' events
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # as autovacuum leaves a table soon after a bulk load: statistics, and the
            # visibility map that lets a count read an index alone
            conn.execute(text("VACUUM ANALYZE"))
            # and the load written out, as a server running for a while has it: otherwise
            # the checkpoint after a big load (scale 1) writes gigabytes while the first
            # pages are measured (the bare route fell to a quarter of its speed)
            try:
                conn.execute(text("CHECKPOINT"))
            except DBAPIError:  # not a superuser (nor pg_checkpoint): measured as it comes
                print(
                    "CHECKPOINT refused: the first pages may be measured while the load is "
                    "written out",
                    flush=True,
                )
        db.engine.dispose()
    return ids


def deep_inbox_cursor(app, municipality: int, page: int) -> str:
    """The keyset cursor of the inbox's ``page``-th page (found once, by OFFSET, for the run)."""
    from sqlalchemy import select

    from consult.core.pages import _encode
    from consult.extensions import db
    from consult.proposals.models import Proposal

    with app.app_context():
        row = db.session.execute(
            select(Proposal.submitted_at, Proposal.id)
            .where(Proposal.municipality_id == municipality, Proposal.submitted_at.is_not(None))
            .order_by(Proposal.submitted_at.desc(), Proposal.id.desc())
            .offset((page - 1) * 20 - 1)
            .limit(1)
        ).one()
        return _encode([row.submitted_at, row.id])


@dataclass
class Page:
    name: str
    path: str
    user: str  # which of the ids reads it
    statements: int = 0
    bytes: int = 0
    results: dict = field(default_factory=dict)


def pages_for(ids: dict, app) -> list[Page]:
    co, m, t = ids["co"], ids["municipality"], ids["thread"]
    deep = deep_inbox_cursor(app, m, 200 if ids["scale"] >= 1 else 3)
    return [
        Page("CO home (big CO)", f"/co/{co}", "leader"),
        Page("CO proposals list", f"/co/{co}/proposals", "leader"),
        Page("open problems list", f"/co/{co}/problems?status=open", "leader"),
        Page("proposal page", f"/proposals/{t}", "leader"),
        Page("thread (long)", f"/proposals/{t}/thread", "leader"),
        Page("inbox, page 1", f"/municipalities/{m}/inbox", "officer"),
        Page("inbox, deep page", f"/municipalities/{m}/inbox?after={deep}", "officer"),
        Page("dashboard, all, this year", "/monitoring/", "staff"),
        Page("CO summary", f"/monitoring/co/{co}", "staff"),
    ]


def login_session(app, user_id: int) -> dict:
    """What a fresh login puts in the session cookie: the account's id with its session token
    (a password change or logout ends it), the address and browser it logged in from
    (Flask-Login's session protection), the times the idle and absolute limits read;
    and the CSRF key its first page adds (a browser keeps it; the bench's clients send one
    cookie throughout, so it is there from the start)."""
    from consult.auth.models import User
    from consult.extensions import db

    with app.app_context():
        user_key = db.session.get(User, user_id).get_id()
    # Flask-Login's session protection: the login's address and browser, which a browser's
    # later requests match (without it, every request would mark the session not fresh and
    # send a new cookie, a cost real readers do not have)
    with app.test_request_context(
        environ_base={"REMOTE_ADDR": HOST}, headers={"User-Agent": USER_AGENT}
    ):
        identifier = app.login_manager._session_identifier_generator()
    now = int(time.time())
    return {
        "_user_id": user_key,
        "_id": identifier,
        "_fresh": True,
        "_started": now,
        "_seen": now,
        "csrf_token": secrets.token_hex(20),
    }


def session_cookie(app, user_id: int) -> str:
    serializer = app.session_interface.get_signing_serializer(app)
    value = serializer.dumps(login_session(app, user_id))
    return f"{app.config.get('SESSION_COOKIE_NAME', 'session')}={value}"


def count_statements(app, user_id: int, path: str) -> tuple[int, int]:
    """SQL statements and bytes of one request to ``path`` as ``user_id``, in-process."""
    from sqlalchemy import event

    from consult.extensions import db

    seen: list[str] = []
    client = app.test_client()
    with client.session_transaction() as session:
        session.update(login_session(app, user_id))
    client.get(path)  # the first request of a process fills its caches; count the second
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    if response.status_code != 200:
        sys.exit(f"{path} answered {response.status_code} in-process")
    return len(seen), len(response.data)


def _get(url: str, headers: dict) -> tuple[int, float, str | None]:
    headers = {"User-Agent": USER_AGENT, **headers}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            response.read()
            status, tag = response.status, response.headers.get("ETag")
    except urllib.error.HTTPError as error:  # 304 arrives as an "error" in urllib
        error.read()
        status, tag = error.code, error.headers.get("ETag")
    return status, time.perf_counter() - started, tag


def load(url: str, headers: dict, connections: int, seconds: float, expect: int) -> dict:
    """``connections`` threads send requests back to back for ``seconds``: the answers' times
    (seconds) and how long it took."""
    times: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client():
        while time.perf_counter() < stop:
            status, took, _ = _get(url, headers)
            with lock:
                (times if status == expect else failures).append(
                    took if status == expect else status
                )

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if failures:
        sys.exit(f"{url}: {len(failures)} answers were not {expect}: {sorted(set(failures))}")
    return {"times": times, "elapsed": elapsed}


def figures(samples: list[dict]) -> dict:
    """Requests/s, p50 and p95 (ms) over the samples of :func:`load` together."""
    times = sorted(t for sample in samples for t in sample["times"])
    return {
        "rps": len(times) / sum(sample["elapsed"] for sample in samples),
        "p50": statistics.median(times) * 1000,
        "p95": times[int(0.95 * (len(times) - 1))] * 1000,
        "n": len(times),
    }


def measure(targets: dict[str, tuple], args) -> dict[str, dict]:
    """Each of ``targets`` (name: url, headers, expected status) for ``--seconds`` in all,
    taken in turn in ``--rounds`` slices (bare, page, 304, bare, page…): a shared machine's
    speed drifts, and each figure is then compared with one measured over the same time."""
    samples: dict[str, list] = {name: [] for name in targets}
    for _ in range(args.rounds):
        for name, (url, headers, expect) in targets.items():
            samples[name].append(
                load(url, headers, args.connections, args.seconds / args.rounds, expect)
            )
    return {name: figures(taken) for name, taken in samples.items()}


def _clear_of_the_tags_window(args) -> None:
    """Wait, when needed, until a page's measurement cannot straddle the turn of the
    half-hour its ETag covers (``consult.core.conditional.WINDOW_SECONDS``): after it, the
    repeat view rightly gets the page again, not a 304."""
    from consult.core.conditional import WINDOW_SECONDS

    needed = 3 * (WARM_UP + args.seconds) + 10  # warm-up, three measurements, a margin
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < needed:
        print(f"(waiting {left:.0f} s for the ETags' half-hour to turn)", flush=True)
        time.sleep(left + 1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def run_scale(scale: float, args) -> list[Page]:
    from consult import create_app

    print(f"\n## --scale {scale}: generating…", flush=True)
    started = time.perf_counter()
    ids = fill(scale)
    ids["scale"] = scale
    print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    secret = secrets.token_hex(16)
    # a cache of its own per scale (no snapshot of another scale's data), kept for the run: a
    # snapshot renewed in the middle of the 304 phase would answer 200, rightly
    cache_dir = ROOT / "instance" / f"bench-cache-{os.getpid()}-{scale}"
    config = {
        "MONITORING_SNAPSHOT_SECONDS": 3600,
        "CONSULT_ENV": "testing",
        "SECRET_KEY": secret,
        "SERVER_NAME": None,
        "RATELIMIT_ENABLED": False,
        "CACHE_DIR": str(cache_dir),
    }
    app = create_app(config)
    pages = pages_for(ids, app)
    for page in pages:
        page.statements, page.bytes = count_statements(app, ids[page.user], page.path)
    port = _free_port()
    env = {
        **os.environ,
        "SECRET_KEY": secret,
        "CONSULT_ENV": "production",
        "CONSULT_CACHE_DIR": str(cache_dir),
        "CONSULT_MONITORING_SNAPSHOT_SECONDS": "3600",
        "CONSULT_RATELIMIT_ENABLED": "false",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(args.workers),
            "--bind",
            f"{HOST}:{port}",
            "--timeout",
            str(TIMEOUT),
            "--log-level",
            "warning",
            "bench.wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://{HOST}:{port}"
    bare = base + "/bench/bare"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(bare, {})[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("gunicorn did not start")
                time.sleep(0.3)
        for page in pages:
            _clear_of_the_tags_window(args)
            headers = {"Cookie": session_cookie(app, ids[page.user])}
            url = base + page.path
            tag = None
            for _ in range(args.workers * 2):  # warm every worker (and the snapshot cache)
                status, _, tag = _get(url, headers)
                if status != 200:
                    sys.exit(f"{page.path} answered {status}")
            targets = {"bare": (bare, {}, 200), "page": (url, headers, 200)}
            if tag:
                targets["304"] = (url, {**headers, "If-None-Match": tag}, 304)
            # a second of each, not counted: every worker compiles the page's templates and its
            # database connection prepares the page's statements, as a running server has
            for url_, headers_, expect in targets.values():
                load(url_, headers_, args.connections, WARM_UP, expect)
            page.results = measure(targets, args)
            print(_row(page), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(cache_dir, ignore_errors=True)
    return pages


HEADER = (
    "| page | req/s | p50 ms | p95 ms | bare req/s | share of bare | 304 req/s | 304 share"
    " | SQL | KiB |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def _row(page: Page) -> str:
    r, b = page.results["page"], page.results["bare"]
    nm = page.results.get("304")
    repeat = f"{nm['rps']:.0f} | 1/{b['rps'] / nm['rps']:.1f}" if nm else "— | —"
    return (
        f"| {page.name} | {r['rps']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | {b['rps']:.0f}"
        f" | 1/{b['rps'] / r['rps']:.1f} | {repeat} | {page.statements}"
        f" | {page.bytes / 1024:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="0.01,0.1,1", help="comma-separated")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5, help="per measurement, in all")
    parser.add_argument(
        "--rounds", type=int, default=5, help="slices each measurement is taken in, in turn"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (its contents will be replaced).")
    runs = {}
    for scale in [float(s) for s in args.scales.split(",")]:
        print(HEADER, flush=True)
        runs[scale] = run_scale(scale, args)
    if len(runs) > 1:
        scales = sorted(runs)
        print("\n## across scales: p50 ms and SQL statements per request")
        print(
            "| page | " + " | ".join(f"p50 @{s}" for s in scales) + " | p50 growth "
            f"{scales[-2]}→{scales[-1]} | " + " | ".join(f"SQL @{s}" for s in scales) + " |"
        )
        print("| --- " * (2 * len(scales) + 2) + "|")
        for i, page in enumerate(runs[scales[0]]):
            p50 = [runs[s][i].results["page"]["p50"] for s in scales]
            sql = [runs[s][i].statements for s in scales]
            print(
                f"| {page.name} | "
                + " | ".join(f"{v:.0f}" for v in p50)
                + f" | {p50[-1] / p50[-2]:.2f}× | "
                + " | ".join(str(v) for v in sql)
                + " |"
            )


if __name__ == "__main__":
    main()
