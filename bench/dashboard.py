"""Time the staff dashboard for *all* against a bare route, on the same server, in one run.

    DATABASE_URL=postgresql://root@127.0.0.1/consult_bench python bench/dashboard.py

Starts gunicorn (``--workers``, loopback only) on the database that ``bench/generate.py``
filled, logs in as its staff account (a signed session cookie, made with the same secret),
then times ``--requests`` requests to ``/monitoring/`` (all municipalities, this year) and to
``/healthz``, alternating so both see the same server state. It prints the median and mean of
each, their ratio, and the number of SQL statements one dashboard request runs (counted
in-process with a ``before_cursor_execute`` listener on the same database).
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


def _get(url: str, cookie: str | None = None) -> tuple[int, float, int]:
    request = urllib.request.Request(url)  # noqa: S310 - loopback http only
    if cookie:
        request.add_header("Cookie", cookie)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:  # noqa: S310
        body = response.read()
        return response.status, time.perf_counter() - started, len(body)


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
    value = serializer.dumps({"_user_id": str(user_id), "_fresh": True})
    return f"{app.config.get('SESSION_COOKIE_NAME', 'session')}={value}", user_id


def count_statements(app, user_id: int, path: str) -> int:
    """SQL statements run by one request to ``path``, as ``user_id``."""
    from sqlalchemy import event

    from consult.extensions import db

    seen: list[str] = []
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
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
    return len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20, help=f"each, at most {MAX_REQUESTS}")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--path", default="/monitoring/", help="the dashboard URL to time")
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
        }
    )
    cookie, user_id = _session_cookie(app)
    statements = count_statements(app, user_id, args.path)

    port = _free_port()
    env = {**os.environ, "SECRET_KEY": secret, "CONSULT_ENV": "production"}
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
        bare, dash, size = [], [], 0
        for _ in range(n):
            bare.append(_get(base + "/healthz")[1])
            status, seconds, size = _get(base + args.path, cookie)
            if status != 200:
                sys.exit(f"{args.path} answered {status}")
            dash.append(seconds)
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

    print(line("/healthz", bare))
    print(line(args.path, dash))
    print(
        f"ratio (median dashboard / median /healthz): "
        f"{statistics.median(dash) / statistics.median(bare):.1f}"
    )
    print(f"SQL statements per dashboard request: {statements}")
    print(f"dashboard page size: {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
