"""Time the staff dashboard for *all* against a bare route, on the same server, in one run.

    DATABASE_URL=postgresql://root@127.0.0.1/consult_bench python bench/dashboard.py
    DATABASE_URL=... python bench/dashboard.py --cold     # no snapshots: every view computes
    DATABASE_URL=... python bench/dashboard.py --path /monitoring/co/1

Starts gunicorn (``--workers``, loopback only) on the database that ``bench/generate.py``
filled, logs in as its staff account (a signed session cookie, made with the same secret),
then times ``--requests`` requests to ``/monitoring/`` (all municipalities, this year), to
``/healthz``, and repeat views of the dashboard carrying its ETag (answered 304), one after
another so all see the same server state. It prints the median and mean of each, requests
per second of each against ``/healthz``, and the number of SQL statements one dashboard
request and one 304 run (counted in-process, on the second request, with a
``before_cursor_execute`` listener on the same database). ``--cold`` turns the snapshots off
(``MONITORING_SNAPSHOT_SECONDS=0``), so every dashboard view reads the summary rows and
renders the charts: the cost of a cache miss.
"""

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import STAFF_EMAIL  # noqa: E402

HOST = "127.0.0.1"
MAX_REQUESTS = 200
REQUEST_TIMEOUT = 120  # seconds; a request slower than this is a failure, not a figure


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _get(url: str, cookie: str | None = None, tag: str | None = None) -> tuple[int, float, int]:
    request = urllib.request.Request(url)  # noqa: S310 - loopback http only
    if cookie:
        request.add_header("Cookie", cookie)
    if tag:
        request.add_header("If-None-Match", tag)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
            body = response.read()
            _get.tag = response.headers.get("ETag")
            return response.status, time.perf_counter() - started, len(body)
    except urllib.error.HTTPError as error:  # a 304 arrives as an "error" in urllib
        error.read()
        return error.code, time.perf_counter() - started, 0


def _wait_until_up(base: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("gunicorn stopped before answering; see its output above")
        try:
            if _get(base + "/healthz")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    sys.exit(f"gunicorn did not answer /healthz within {seconds:.0f} s")


def _session_cookie(app) -> tuple[str, int]:
    """A session cookie for the benchmark's staff account, signed like Flask would sign it."""
    from sqlalchemy import select

    from consult.auth.models import User
    from consult.extensions import db

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == STAFF_EMAIL))
    if user_id is None:
        sys.exit(f"no {STAFF_EMAIL} in this database: run bench/generate.py first")
    serializer = app.session_interface.get_signing_serializer(app)
    value = serializer.dumps(_login(app, user_id))
    return f"{app.config.get('SESSION_COOKIE_NAME', 'session')}={value}", user_id


def _login(app, user_id: int) -> dict:
    """What a login puts in the session: the id with the session token, and the times."""
    from consult.auth.models import User
    from consult.extensions import db

    with app.app_context():
        user_key = db.session.get(User, user_id).get_id()
    now = int(time.time())
    return {"_user_id": user_key, "_fresh": True, "_started": now, "_seen": now}


def count_statements(app, user_id: int, path: str, cold: bool) -> tuple[int, int | None]:
    """SQL statements run by one request to ``path`` (the second of the process, after a
    first one filled the caches) and by a repeat view with its ETag, as ``user_id``."""
    from sqlalchemy import event

    from consult.extensions import db

    client = app.test_client()
    with client.session_transaction() as session:
        session.update(_login(app, user_id))
    first = client.get(path)
    if first.status_code != 200:
        sys.exit(f"{path} answered {first.status_code} in-process")
    with app.app_context():
        engine = db.engine
    counts = []
    # without snapshots each view is new figures (a new "as of"), so there is no 304 to count
    repeat = [] if cold else [({"If-None-Match": first.headers["ETag"]}, 304)]
    for headers, expect in [({}, 200), *repeat]:
        seen: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany, seen=seen):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            response = client.get(path, headers=headers)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        if response.status_code != expect:
            sys.exit(f"{path} answered {response.status_code} in-process, not {expect}")
        counts.append(len(seen))
    return counts[0], (counts[1] if repeat else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20, help=f"each, at most {MAX_REQUESTS}")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--path", default="/monitoring/", help="the dashboard URL to time")
    parser.add_argument("--cold", action="store_true", help="snapshots off: every view computes")
    args = parser.parse_args()
    n = max(1, min(args.requests, MAX_REQUESTS))
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        sys.exit("Set DATABASE_URL to the PostgreSQL database bench/generate.py filled.")

    from consult import create_app

    secret = secrets.token_hex(16)
    app = create_app(
        {
            "CONSULT_ENV": "testing",
            "SECRET_KEY": secret,
            "SERVER_NAME": None,
            "RATELIMIT_ENABLED": False,
            **({"MONITORING_SNAPSHOT_SECONDS": 0} if args.cold else {}),
        }
    )
    cookie, user_id = _session_cookie(app)
    statements, statements_304 = count_statements(app, user_id, args.path, args.cold)

    port = _free_port()
    env = {**os.environ, "SECRET_KEY": secret, "CONSULT_ENV": "production"}
    if args.cold:
        env["CONSULT_MONITORING_SNAPSHOT_SECONDS"] = "0"
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
            str(REQUEST_TIMEOUT),
            "--log-level",
            "warning",
            "consult:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://{HOST}:{port}"
    try:
        _wait_until_up(base, server)
        # warm every worker: connections, templates, caches
        for _ in range(args.workers * 2):
            _get(base + "/healthz")
            status, _, _ = _get(base + args.path, cookie)
            if status != 200:
                sys.exit(f"{args.path} answered {status}")
        bare, dash, repeat, size = [], [], [], 0
        for _ in range(n):
            bare.append(_get(base + "/healthz")[1])
            status, seconds, size = _get(base + args.path, cookie)
            if status != 200:
                sys.exit(f"{args.path} answered {status}")
            dash.append(seconds)
            if args.cold:
                continue
            status, seconds, _ = _get(base + args.path, cookie, _get.tag)
            if status != 304:
                sys.exit(f"{args.path} with its ETag answered {status}, not 304")
            repeat.append(seconds)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    def line(name, values):
        return (
            f"{name:<14} median {statistics.median(values) * 1000:8.1f} ms"
            f"   mean {statistics.mean(values) * 1000:8.1f} ms   ({len(values)} requests)"
        )

    def per_second(values):
        return len(values) / sum(values)

    print("snapshots off (every view computes)" if args.cold else "snapshots on (default)")
    print(line("/healthz", bare))
    print(line(args.path, dash))
    if repeat:
        print(line("304 repeat", repeat))
    print(
        f"ratio (median dashboard / median /healthz): "
        f"{statistics.median(dash) / statistics.median(bare):.1f}"
    )
    rates = (
        f"requests/s: /healthz {per_second(bare):.0f}, dashboard {per_second(dash):.1f}"
        f" (1/{per_second(bare) / per_second(dash):.1f} of /healthz)"
    )
    if repeat:
        rates += f", 304 {per_second(repeat):.0f} (1/{per_second(bare) / per_second(repeat):.1f})"
    print(rates)
    print(f"SQL statements per dashboard request: {statements}; per 304: {statements_304}")
    print(f"dashboard page size: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
