"""Configuration, health check, migrations and the command line."""

import os
from pathlib import Path

import pytest
from flask_migrate import check as migrate_check
from flask_migrate import upgrade as migrate_upgrade
from sqlalchemy import inspect, text

from consult import create_app
from consult.extensions import db
from tests.conftest import make_test_app


def test_healthz_reports_a_database_that_is_down(tmp_path):
    app = create_app(
        {
            "CONSULT_ENV": "testing",
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/db.sqlite",
        }
    )
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["status"] == "error"
    assert r.get_json()["database"] == "unreachable"


def test_production_requires_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app(
            {
                "CONSULT_ENV": "production",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/db.sqlite",
            }
        )


def test_processes_starting_at_once_share_one_development_key(tmp_path):
    """Gunicorn workers (or test workers) starting together on a fresh checkout each read the
    one key that got written, whole, and it is private to its owner."""
    import threading

    from consult import _development_secret

    start = threading.Barrier(8)
    keys = []

    def read_key():
        start.wait()
        keys.append(_development_secret(str(tmp_path)))

    threads = [threading.Thread(target=read_key) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left


@pytest.mark.parametrize("key", ["twenty-four-characters!!", "é" * 15])
def test_production_refuses_a_short_secret_key(tmp_path, key):
    with pytest.raises(RuntimeError, match="SECRET_KEY is too short"):
        create_app(
            {
                "CONSULT_ENV": "production",
                "SECRET_KEY": key,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/db.sqlite",
            }
        )


def test_seed_demo_refuses_in_production(tmp_path):
    app = create_app(
        {
            "CONSULT_ENV": "production",
            "SECRET_KEY": "s" * 32,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/db.sqlite",
        }
    )
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "refuses to run in production" in result.output


def test_production_cookies_are_secure(tmp_path):
    app = create_app(
        {
            "CONSULT_ENV": "production",
            "SECRET_KEY": "s" * 32,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/db.sqlite",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_gets_a_stable_key_and_plain_cookies(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {
        "CONSULT_ENV": "development",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/db.sqlite",
    }
    first = create_app(config)
    assert first.config["SESSION_COOKIE_SECURE"] is False
    assert first.config["SECRET_KEY"] == create_app(config).config["SECRET_KEY"]


def test_database_url_spellings_use_psycopg3():
    from consult.config import normalise_database_url

    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite-only pragmas")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_migrations_create_every_table_without_drift(empty_database, tmp_path):
    app = make_test_app(empty_database, tmp_path)
    with app.app_context():
        migrate_upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        migrate_check()  # raises (exits) when the models and the migrations disagree
        db.engine.dispose()


def test_cli_creates_a_user(runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--name",
            "Admin",
            "--email",
            "admin@example.org",
            "--role",
            "admin",
            "--password",
            "a long password",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin Admin" in result.output
    result = runner.invoke(
        args=[
            "create-user",
            "--name",
            "Again",
            "--email",
            "ADMIN@example.org",
            "--password",
            "a long password",
        ]
    )
    assert result.exit_code != 0
    assert "already uses this e-mail" in result.output


def test_console_script_is_installed():
    import shutil

    assert shutil.which("consult") or os.path.exists(
        os.path.join(os.path.dirname(os.sys.executable), "consult")
    )


def test_requests_run_in_their_own_context(app, client, make, login):
    """Requests get their own app context, ``g`` and database session, as in production, so
    a view's uncommitted work cannot leak into the test (see IsolatedClient)."""
    from flask import g

    user = make.user()
    login(user)
    assert client.get("/notifications").status_code == 200
    assert "_login_user" not in g  # Flask-Login set it in the request's own context


ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_lists_every_package():
    """A new feature folder must be added to pyproject.toml, or pip install . leaves it out."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "consult").rglob("__init__.py")
    }
    assert found <= listed


KHMER_CHECK = """
import consult, sys
from consult import create_app
assert consult.__file__.startswith(sys.prefix), consult.__file__  # the wheel, not the checkout
app = create_app({"CONSULT_ENV": "testing", "SECRET_KEY": "x" * 32,
                  "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1]})
page = app.test_client().get("/login", headers={"Accept-Language": "km"}).get_data(as_text=True)
print(page)
"""


@pytest.mark.slow
def test_the_wheel_carries_templates_static_translations_and_migrations(tmp_path):
    """Built from a source tree without compiled catalogs (as git holds it), installed into a
    fresh virtual environment, the package serves Khmer pages."""
    import shutil
    import subprocess
    import sys
    import sysconfig
    import zipfile

    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv*",
            ".hypothesis",  # other pytest workers write there meanwhile
            ".pytest_cache",
            ".ruff_cache",
            "node_modules",
            "instance",
            "*.mo",
            "__pycache__",
            "build",
            "*.egg-info",
        ),
    )
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = tmp_path.glob("consult-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (
        "consult/_templates/base.html",
        "consult/_static/css/app.css",
        "consult/_migrations/env.py",
        "consult/translations/km/LC_MESSAGES/messages.mo",
    ):
        assert path in names, path
    templates = {
        str(p.relative_to(ROOT / "templates")) for p in (ROOT / "templates").rglob("*.html")
    }
    assert {
        n.removeprefix("consult/_templates/") for n in names if n.startswith("consult/_templates/")
    } >= templates
    versions = {p.name for p in (ROOT / "migrations" / "versions").glob("*.py")}
    assert {n.rsplit("/", 1)[-1] for n in names if "/_migrations/versions/" in n} == versions

    # A fresh venv with only the wheel; its dependencies are borrowed from this environment
    # through a .pth line (which adds the folder but not this environment's editable Consult).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    served = subprocess.run(
        [python, "-c", KHMER_CHECK, str(tmp_path / "db.sqlite")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert served.returncode == 0, served.stderr[-3000:]
    assert '<html lang="km">' in served.stdout
    assert "ពាក្យសម្ងាត់" in served.stdout  # "Password"


def test_behind_a_proxy_the_real_client_address_is_used(database, tmp_path, app):
    from flask import request

    for count, expected in ((0, "10.0.0.1"), (1, "203.0.113.7")):
        proxied = make_test_app(database, tmp_path, PROXY_COUNT=count)
        seen = {}

        @proxied.get("/whoami")
        def whoami(seen=seen):
            seen["addr"] = request.remote_addr
            return "ok"

        proxied.test_client().get(
            "/whoami",
            headers={"X-Forwarded-For": "203.0.113.7"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
        assert seen["addr"] == expected
        with proxied.app_context():
            db.engine.dispose()
