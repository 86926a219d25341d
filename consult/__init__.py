"""Consult: participatory community consultation for urban upgrading."""

import os
import re
import secrets
import select
import tempfile
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from consult import config
from consult.core import catalogs, security_log
from consult.extensions import (
    babel,
    cache,
    compress,
    csrf,
    db,
    limiter,
    login_manager,
    migrate,
    static_digest,
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent
#: shorter keys are refused outside development: they sign every session and remember cookie
MIN_SECRET_KEY_BYTES = 32


def _asset_folder(name: str) -> str:
    """``templates/`` and ``static/`` live at the top of the checkout; a wheel carries them
    inside the package as ``consult/_<name>``."""
    for candidate in (ROOT / name, PACKAGE / f"_{name}"):
        if candidate.is_dir():
            return str(candidate)
    return str(ROOT / name)


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=_asset_folder("templates"),
        static_folder=_asset_folder("static"),
        static_url_path="/static",  # the same whether the folder is static/ or _static/
    )
    app.config.from_object(config.Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)
    _finish_config(app)

    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(_migrations_folder()), render_as_batch=True, compare_type=True
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    catalogs.ensure_compiled(PACKAGE / "translations")
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone)
    limiter.init_app(app)
    cache.init_app(app)
    compress.init_app(app)
    static_digest.init_app(app)
    _ignore_stale_manifest(app)
    app.after_request(_cache_fingerprinted_static)
    security_log.init_app(app)

    from consult import models  # noqa: F401  (complete metadata before anything queries)
    from consult.monitoring import aggregates

    aggregates.register()  # the dashboard's summary rows follow every flush
    from consult.core import ids

    ids.init_app(app)  # before the blueprints add their <int:…> rules

    _register_policies()
    _register_blueprints(app)
    from consult.auth import sessions
    from consult.core import conditional, headers

    conditional.init_app(app)  # first: it chooses how the request's reads run
    sessions.init_app(app)
    headers.init_app(app)
    _register_template_helpers(app)

    from consult import cli

    cli.register(app)
    return app


def _finish_config(app: Flask) -> None:
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("CONSULT_ENV"):
        app.config["CONSULT_ENV"] = "development" if _under_command_line() else "production"
    env = app.config["CONSULT_ENV"]
    development = env in config.DEVELOPMENT_ENVS
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            app.instance_path, "consult.sqlite"
        )
    if not app.config.get("SECRET_KEY"):
        if not development:
            raise RuntimeError(
                "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
                "value (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), "
                "or set CONSULT_ENV=development to try Consult locally."
            )
        app.config["SECRET_KEY"] = _development_secret(app.instance_path)
    if not development and len(str(app.config["SECRET_KEY"]).encode()) < MIN_SECRET_KEY_BYTES:
        raise RuntimeError(
            f"SECRET_KEY is too short: it signs sessions and must be at least "
            f"{MIN_SECRET_KEY_BYTES} bytes of random (e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`)."
        )
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if app.config.get(key) is None:  # Secure cookies need HTTPS, so not on a laptop
            app.config[key] = not development
    if app.config["CACHE_TYPE"] == "FileSystemCache" and not app.config.get("CACHE_DIR"):
        app.config["CACHE_DIR"] = os.path.join(app.instance_path, "cache")
    if not app.config.get("UPLOAD_FOLDER"):
        app.config["UPLOAD_FOLDER"] = os.path.join(app.instance_path, "uploads")
    _upload_limits(app.config)
    # Copies, never the class defaults: several apps (tests) must not share one dict.
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options["connect_args"] = {"timeout": 30, **options.get("connect_args", {})}
    # PostgreSQL: no pool_pre_ping (a round trip on every request, a third of a cheap one's);
    # a connection the server closed is found without one (see _still_connected)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _upload_limits(cfg) -> None:
    """The request limit follows the file limits: the most files a form takes, each at most
    UPLOAD_MAX_BYTES, and room for the typed fields."""
    from consult.attachments.service import MAX_FILES

    if cfg.get("MAX_CONTENT_LENGTH") is None:
        cfg["MAX_CONTENT_LENGTH"] = MAX_FILES * cfg["UPLOAD_MAX_BYTES"] + cfg["UPLOAD_FORM_BYTES"]
    if cfg.get("UPLOAD_MIN_FREE_BYTES") is None:
        cfg["UPLOAD_MIN_FREE_BYTES"] = cfg["MAX_CONTENT_LENGTH"]


#: a static file whose name carries its content's digest (``app-<md5>.css``) never changes
_FINGERPRINTED = re.compile(r"-[0-9a-f]{32}\.")
FAR_FUTURE = 365 * 24 * 3600


def _cache_fingerprinted_static(response):
    """Let browsers keep fingerprinted static files for a year without asking again (their
    URL changes when their content does); other static files are revalidated as usual.

    Static files are read into memory here (they are small stylesheets), so Flask-Compress
    compresses them like pages; it would otherwise leave the file open (COMPRESS_STREAMS is
    off for that reason)."""
    from flask import request

    if request.endpoint != "static" or response.status_code != 200:
        return response
    response.direct_passthrough = False
    response.make_sequence()  # reads and closes the file
    if _FINGERPRINTED.search((request.view_args or {}).get("filename", "")):
        response.cache_control.public = True
        response.cache_control.max_age = FAR_FUTURE
        response.cache_control.immutable = True
        response.cache_control.no_cache = None
    return response


def _ignore_stale_manifest(app: Flask) -> None:
    """A static file edited after ``consult digest compile`` would be shadowed by its old
    fingerprinted copy: then link the files themselves (and say so) until it is run again."""
    folder = Path(app.static_folder or "")
    manifest = folder / "cache_manifest.json"
    if not manifest.exists():
        return
    compiled = manifest.stat().st_mtime
    sources = static_digest.manifests.get("static", {})
    if any(
        (folder / name).stat().st_mtime > compiled for name in sources if (folder / name).exists()
    ):
        app.logger.warning("static files changed since `consult digest compile`: run it again")
        static_digest.manifests.pop("static", None)


def _under_command_line() -> bool:
    import click

    return click.get_current_context(silent=True) is not None


def _development_secret(instance_path: str) -> str:
    """A per-checkout key kept in instance/, so local sessions survive a restart."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        # written whole under another name, then linked into place: of several processes
        # starting at once (gunicorn workers, test workers) one wins and all read its key,
        # never a half-written file
        fd, tmp = tempfile.mkstemp(dir=instance_path, prefix=".secret_key-")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def _migrations_folder() -> Path:
    for candidate in (ROOT / "migrations", PACKAGE / "_migrations"):
        if candidate.is_dir():
            return candidate
    return ROOT / "migrations"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, let readers and a writer work together (WAL), and wait
    for a lock instead of failing at once."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


@event.listens_for(Pool, "checkout")
def _still_connected(dbapi_connection, connection_record, connection_proxy):
    """PostgreSQL: a pooled connection the server has closed while it sat idle (a restart, a
    terminated backend) is found without a round trip, and the pool opens a new one instead
    of failing the request.

    An idle connection hears from the server only when it is going away — its last message,
    with the end of the stream coming after it, sometimes later than this check — or, rarely,
    with a notice or a changed setting: whatever it sent, the connection is replaced (a few
    milliseconds, and only then). Reading the message and waiting for the end of the stream
    let a request through on a connection about to close."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:  # not psycopg: SQLite
        return
    from psycopg import Error as PsycopgError
    from psycopg.pq import ConnStatus

    try:
        heard = select.select([pgconn.socket], [], [], 0)[0]
    except (OSError, ValueError, PsycopgError) as error:  # no socket: closed already
        raise DisconnectionError(str(error)) from error
    if heard:
        raise DisconnectionError("the server wrote to an idle connection")
    if pgconn.status != ConnStatus.OK:
        raise DisconnectionError("the connection is closed")


def _select_locale():
    from flask import has_request_context
    from flask_login import current_user

    from consult.core.formatting import page_language

    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return page_language(current_user.language)
    return page_language(None)


def _select_timezone():
    """The reader's zone, for a time shown without a municipality of its own (notifications,
    account history): the municipality the reader works for or lives in; else UTC."""
    from flask import has_request_context
    from flask_login import current_user

    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return current_user.home_timezone() or "UTC"
    return "UTC"


FEATURES = (
    "main",
    "auth",
    "communities",
    "meetings",
    "problems",
    "priorities",
    "proposals",
    "negotiation",
    "implementation",
    "attachments",
    "notifications",
    "agenda",
    "monitoring",
    "admin",
    "open311",
)


#: features whose ``policy.py`` registers rules with ``consult.core.permissions``
POLICIES = (
    "auth",
    "communities",
    "meetings",
    "problems",
    "priorities",
    "proposals",
    "negotiation",
    "implementation",
    "attachments",
    "notifications",
    "monitoring",
    "admin",
    "api",
    "open311",
)


def _register_policies() -> None:
    """Import every feature's policy, so each registers its rules (once per process)."""
    import importlib

    for name in POLICIES:
        importlib.import_module(f"consult.{name}.policy")


def _register_blueprints(app: Flask) -> None:
    import importlib

    # Every view module first: a page assembled above several features (the CO's home, the
    # staff's invitation form) attaches to the blueprint of the feature whose address it keeps.
    for name in FEATURES:
        importlib.import_module(f"consult.{name}.routes")
    for name in FEATURES:
        app.register_blueprint(importlib.import_module(f"consult.{name}").bp)

    from consult import api  # the JSON API registers its blueprints through flask-smorest

    api.init_app(app)


def _register_template_helpers(app: Flask) -> None:
    from consult.core import templating

    templating.init_app(app)
