"""Fixtures: an app on the test database (SQLite by default, PostgreSQL when
TEST_DATABASE_URL says so), a client, a CLI runner, a login helper and model factories.

Each run gets its own clean database (a temporary SQLite file, or a fresh PostgreSQL schema
dropped at the end); each test starts with empty tables.

./scripts/test runs the suite in parallel (pytest-xdist): each worker is a session of its own,
with its own database and temporary folders, and tests land on workers in any order. So a test
writes only under ``tmp_path`` (not the checkout, ``instance/`` or ``static/``), serves on port 0
(or a port the OS just gave), and relies on nothing another test left behind. Tests that must not
overlap each other share ``@pytest.mark.xdist_group("name")``.
"""

import contextvars
import os
import uuid
from pathlib import Path

import pytest
from flask import g
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import create_engine, exists, literal, select, text, union_all

from consult import create_app
from consult.extensions import cache, db, limiter
from consult.monitoring import scope as scopes
from tests import factories

SQLITE = "sqlite"

# Hypothesis: no per-example deadline. These tests check results, not speed (timings belong in
# bench/), and on a loaded machine, or with two workers sharing two cores, one slow example
# would fail a run that is correct.
settings.register_profile("consult", deadline=None)
settings.load_profile("consult")


def _database_url(tmp_path_factory) -> tuple[str, str | None]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        path = tmp_path_factory.mktemp("db") / "test.sqlite"
        return f"sqlite:///{path}", None
    from consult.config import normalise_database_url

    url = normalise_database_url(url)
    if not url.startswith("postgresql"):
        return url, None
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {error}")
    finally:
        admin.dispose()
    sep = "&" if "?" in url else "?"
    # synchronous_commit=off: a commit does not wait for its WAL flush (only a server crash
    # could lose it, which no test looks at); what other sessions see is unchanged
    options = f"-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    return f"{url}{sep}options={options}", schema


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    url, schema = _database_url(tmp_path_factory)
    yield url
    if schema:
        base = url.split("?")[0]
        admin = create_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, as in production: its own app context, ``g`` and
    database session, even while the test itself holds an app context for its factories.
    Without this a view that forgot to commit would look fine, since the test would read the
    view's uncommitted session."""

    def open(self, *args, **kwargs):
        from flask import has_app_context

        if has_app_context():
            db.session.commit()  # what the test set up is visible to the request
        # buffered: a streamed body (CSV exports) runs inside the request's own context too
        kwargs.setdefault("buffered", True)
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.expire_all()  # and what the request stored is re-read by the test
        return response


def make_test_app(database: str, tmp_path: Path, **overrides):
    config = {
        "TESTING": True,
        "CONSULT_ENV": "testing",
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "localhost",
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        # one process, nothing kept between runs; snapshots off unless a test turns them on
        "CACHE_TYPE": "SimpleCache",
        "MONITORING_SNAPSHOT_SECONDS": 0,
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session")
def _schema_app(database, tmp_path_factory):
    """Creates the schema once per run (from the models; the migration has its own test)."""
    app = make_test_app(database, tmp_path_factory.mktemp("app"))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(_schema_app, tmp_path):
    app = _schema_app
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        cache.clear()
        scopes.forget()  # the filters a worker resolved: another test has other places
        # Flask-Limiter's Limiter is one object for every app: a test that made an app with
        # limits on (login, token, account limits) turned them on for this one too, and its
        # counts would refuse a later test's logins with 429s, depending on the order.
        if limiter.enabled:
            limiter.reset()
        limiter.enabled = app.config["RATELIMIT_ENABLED"]


def _empty_tables():
    """Empties the tables that hold rows, whoever wrote them (this process, a CLI command, a
    gunicorn worker), and restarts the id sequences a test used, so that each test starts as
    the first did. One query finds the tables with rows; only those are emptied, with DELETE:
    on PostgreSQL a TRUNCATE makes new files for each table and its indexes, and truncating
    every table after every test took half of the PostgreSQL run (even the few tables a test
    filled cost more than deleting their rows)."""
    tables = list(reversed(db.metadata.sorted_tables))  # children before parents
    probe = union_all(
        *(select(literal(t.name)).where(exists(select(1).select_from(t))) for t in tables)
    )
    with db.engine.begin() as conn:
        filled = set(conn.execute(probe).scalars())
        for t in tables:
            if t.name in filled:
                conn.execute(t.delete())
        if db.engine.dialect.name == "postgresql":
            conn.execute(_RESTART_USED_SEQUENCES)


# what TRUNCATE … RESTART IDENTITY does, for every sequence nextval touched since the last time
_RESTART_USED_SEQUENCES = text(
    "SELECT setval(format('%I', sequencename)::regclass, start_value, false) FROM pg_sequences"
    " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
)


@pytest.fixture
def csrf_app(database, tmp_path, app):
    """A second app on the same database with CSRF protection on, as in production."""
    strict = make_test_app(database, tmp_path, WTF_CSRF_ENABLED=True)
    yield strict
    with strict.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(client):
    """``login(user)`` logs the test client in as ``user`` (without typing a password)."""

    def _login(user, c=None):
        c = c or client
        with c.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return c

    return _login


@pytest.fixture
def as_user(login, client):
    """``as_user(user)`` logs the client (or ``c``) in as someone else. Requests share the
    test's app context, where Flask-Login keeps the user it loaded, so that is forgotten first."""

    def _as(user, c=None):
        g.pop("_login_user", None)
        return login(user, c or client)

    return _as


@pytest.fixture
def make():
    """Model factories: ``make.user()``, ``make.co()``, ``make.member(co)``…"""
    return factories


@pytest.fixture
def world(app):
    """A small programme: two municipalities, a CO in each, a leader, members and officers."""
    return factories.world()


@pytest.fixture
def empty_database(database, tmp_path):
    """A database with nothing in it, of the same kind as the test database."""
    if database.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/fresh.sqlite"
        return
    base = database.split("?")[0]
    schema = f"mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{base}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
