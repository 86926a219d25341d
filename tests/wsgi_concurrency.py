"""Real-server vote load: the WSGI factory gunicorn runs, and the loopback clients that vote.

Used by ``tests/test_votes_concurrency.py`` and ``bench/votes.py``. Stdlib HTTP only
(``http.client``); every request has a timeout and gunicorn is always stopped.

gunicorn loads ``tests.wsgi_concurrency:create_app()``, configured by the environment the
harness sets (``DATABASE_URL``, ``SECRET_KEY``, ``CONSULT_ENV=testing``). CSRF stays **on**:
each client fetches the login page and the proposal page for its token with its own session
cookie, as a phone would. Only the login rate limit is off, because every client comes from
127.0.0.1 and would share one address's budget (10 a minute); that limit is not what is
being tested here.
"""

import contextlib
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask

from tests.helpers import csrf_token

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PASSWORD = "load-test-voter"
REQUEST_TIMEOUT = 30  # seconds, each request
COOKIE = "session"


def create_app():
    """The app gunicorn serves: configuration from the environment, login limit off."""
    from consult import create_app as make_app

    return make_app({"RATELIMIT_ENABLED": False})


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, secret: str, *, workers: int = 4, startup: float = 60):
    """Run gunicorn (sync workers) on a free loopback port; yields ``(port, log_path)``.

    The server is stopped (SIGTERM, then SIGKILL to its own process group) however the
    block ends.
    """
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret,
        "CONSULT_ENV": "testing",
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(workers),
            "--bind",
            f"{HOST}:{port}",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--error-logfile",
            "-",
            "tests.wsgi_concurrency:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so the workers go with it
    )
    try:
        deadline = time.monotonic() + startup
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited at start:\n{Path(log.name).read_text()}")
            try:
                if request(port, "GET", "/healthz", timeout=5).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within {startup:.0f} s")
            time.sleep(0.2)
        yield port, Path(log.name)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
        log.close()


# --- one HTTP request -----------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: bytes
    location: str | None
    cookie: str | None  # the new session cookie value, when the server set one


def request(port, method, path, *, cookie=None, form=None, timeout=REQUEST_TIMEOUT) -> Reply:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        headers = {"Accept-Language": "en"}
        body = None
        if cookie:
            headers["Cookie"] = f"{COOKIE}={cookie}"
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        new = None
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == COOKIE:
                new = rest.split(";", 1)[0]
        return Reply(response.status, data, response.headers.get("Location"), new)
    finally:
        conn.close()


# --- voters ---------------------------------------------------------------------------------


@dataclass
class Voter:
    membership_id: int
    login: str
    cookie: str | None = None
    token: str | None = None


@dataclass
class Load:
    """What the clients saw: every status, 5xx and lock errors, the outcome of each ballot."""

    statuses: Counter = field(default_factory=Counter)
    server_errors: list = field(default_factory=list)
    locked: list = field(default_factory=list)
    failures: list = field(default_factory=list)  # exceptions: timeouts, resets
    outcomes: list = field(default_factory=list)  # (membership_id, choice, category, message)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, what: str, reply: Reply) -> None:
        with self.lock:
            self.statuses[reply.status] += 1
            if reply.status >= 500:
                self.server_errors.append((what, reply.status, reply.body[:300]))
            if b"database is locked" in reply.body:
                self.locked.append((what, reply.status))


def sign_in(port: int, voter: Voter, proposal_id: int, load: Load) -> None:
    """Log in through the real form (CSRF on), then open the proposal page for its token."""
    page = request(port, "GET", "/login")
    load.saw("GET /login", page)
    form = {"csrf_token": csrf_token(page.body), "login": voter.login, "password": PASSWORD}
    signed = request(port, "POST", "/login", cookie=page.cookie, form=form)
    load.saw("POST /login", signed)
    if signed.status != 302 or not signed.cookie:
        raise AssertionError(f"{voter.login} could not log in: {signed.status}")
    shown = request(port, "GET", f"/proposals/{proposal_id}", cookie=signed.cookie)
    load.saw("GET proposal", shown)
    if shown.status != 200:
        raise AssertionError(f"{voter.login} could not open the proposal: {shown.status}")
    voter.cookie = shown.cookie or signed.cookie
    voter.token = csrf_token(shown.body)


_serializers: dict = {}


def _serializer(secret: str):
    """Flask's own session serializer for ``secret`` (made once, before the threads need it)."""
    if secret not in _serializers:
        app = Flask(__name__, root_path=str(ROOT))
        app.secret_key = secret
        _serializers[secret] = app.session_interface.get_signing_serializer(app)
    return _serializers[secret]


def last_flash(secret: str, cookie: str | None):
    """The newest flashed (category, message) in a session cookie the server signed."""
    serializer = _serializer(secret)
    if not cookie:
        return None
    data = serializer.loads(cookie)
    flashes = data.get("_flashes") or []
    return tuple(flashes[-1]) if flashes else None


def cast(port: int, voter: Voter, proposal_id: int, choice: str, load: Load, secret: str):
    """POST one ballot with the voter's session (not updated, so flashes never pile up) and
    record what the server said about it."""
    form = {"csrf_token": voter.token, "choice": choice}
    reply = request(port, "POST", f"/proposals/{proposal_id}/vote", cookie=voter.cookie, form=form)
    load.saw("POST vote", reply)
    flash = last_flash(secret, reply.cookie) if reply.status == 302 else None
    with load.lock:
        load.outcomes.append((voter.membership_id, choice, *(flash or (None, None))))
    return reply


def run_all(jobs, *, threads: int, deadline: float, load: Load) -> None:
    """Run ``jobs`` (callables) on a thread pool in random order; exceptions are recorded,
    and anything still unfinished at ``deadline`` (monotonic) is a failure."""
    jobs = list(jobs)
    random.shuffle(jobs)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(job) for job in jobs]
        try:
            for future in as_completed(futures, timeout=max(deadline - time.monotonic(), 1)):
                error = future.exception()
                if error is not None:
                    load.failures.append(repr(error))
        except TimeoutError:
            for f in futures:
                f.cancel()
            load.failures.append("the run went past its time limit")


# --- data -----------------------------------------------------------------------------------


def seed_vote(members: int, tag: str):
    """A CO with ``members`` voters (one shared password hash, set directly: scrypt is slow
    on purpose) and a proposal in voting; commits. Returns ``(proposal_id, round_id,
    voters)``. Call inside an app context."""
    from datetime import timedelta

    from werkzeug.security import generate_password_hash

    from consult.core.db import utcnow
    from consult.extensions import db
    from consult.proposals import service
    from tests import factories

    password_hash = generate_password_hash(PASSWORD)
    town = factories.municipality(name=f"Load town {tag}", city=f"Load city {tag}")
    co = factories.co(
        factories.settlement(town, name=f"Load settlement {tag}"), name=f"Load CO {tag}"
    )
    leader = factories.leader(co, phone=None, email=f"leader-{tag}@load.test", password=None)
    users = [
        factories.member(co, phone=None, email=f"voter{i}-{tag}@load.test", password=None)
        for i in range(members)
    ]
    for u in [leader, *users]:
        u.password_hash = password_hash
    proposal = factories.proposal(co, title=f"Load test lane {tag}")
    rnd = service.open_vote(proposal, leader, utcnow() + timedelta(days=7))
    db.session.commit()
    voters = [Voter(u.membership_in(co.id).id, u.email) for u in users]
    return proposal.id, rnd.id, voters
