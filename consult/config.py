"""Configuration: defaults here, then ``instance/config.py``, then the environment.

Only ``DATABASE_URL`` and ``SECRET_KEY`` matter to try the app; everything else has a default.
"""

import os
from datetime import timedelta

DEVELOPMENT_ENVS = {"development", "demo", "testing"}


class Defaults:
    #: development, demo, testing or production. Unset, it is development under a command
    #: line (``consult …``, ``flask --app consult …``) and production under a WSGI server such
    #: as gunicorn, which then requires SECRET_KEY.
    CONSULT_ENV = None
    SECRET_KEY = None
    SQLALCHEMY_DATABASE_URI = None  # filled in create_app: SQLite file in instance/
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # slow phones keep a form open for a long time
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE = None  # None: Secure everywhere but development
    REMEMBER_COOKIE_SECURE = None
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024  # whole request; each upload is checked separately
    UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    UPLOAD_FOLDER = None  # filled in create_app: instance/uploads
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = {"en": "English", "km": "ខ្មែរ"}
    #: how many reverse proxies stand in front (e.g. 1 for nginx): their X-Forwarded-For and
    #: X-Forwarded-Proto are then trusted, so rate limits and the audit see the real client
    PROXY_COUNT = 0
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute;100 per hour"
    INVITATION_DAYS = 14
    MAP_TILES_URL = None
    SMTP_HOST = None
    SMTP_PORT = 25
    SMTP_USER = None
    SMTP_PASSWORD = None
    SMTP_FROM = "consult@localhost"
    SMTP_STARTTLS = False
    #: seconds to wait for the SMTP server before counting the attempt as failed
    SMTP_TIMEOUT = 30
    #: the site's public address (scheme and host, no path), e.g. https://consult.example.org,
    #: put in front of the links in e-mails; unset: the request's host, or SERVER_NAME
    BASE_URL = None
    DEMO_PASSWORD = "consult-demo"  # noqa: S105 - printed by seed-demo, demo data only


def from_environment() -> dict:
    """Read the documented environment variables; only those that are set."""
    env = os.environ
    found: dict = {}
    if env.get("DATABASE_URL"):
        found["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(env["DATABASE_URL"])
    if env.get("SECRET_KEY"):
        found["SECRET_KEY"] = env["SECRET_KEY"]
    if env.get("REDIS_URL"):
        found["RATELIMIT_STORAGE_URI"] = env["REDIS_URL"]
        found["REDIS_URL"] = env["REDIS_URL"]
    if env.get("MAP_TILES_URL"):
        found["MAP_TILES_URL"] = env["MAP_TILES_URL"]
    for key in ("SMTP_HOST", "SMTP_USER", "SMTP_PASSWORD", "SMTP_FROM"):
        if env.get(key):
            found[key] = env[key]
    if env.get("BASE_URL"):
        found["BASE_URL"] = env["BASE_URL"]
    if env.get("PROXY_COUNT"):
        found["PROXY_COUNT"] = int(env["PROXY_COUNT"])
    if env.get("SMTP_PORT"):
        found["SMTP_PORT"] = int(env["SMTP_PORT"])
    if env.get("SMTP_STARTTLS"):
        found["SMTP_STARTTLS"] = env["SMTP_STARTTLS"].lower() in {"1", "true", "yes"}
    # Any other setting can be given as CONSULT_<NAME>, e.g. CONSULT_ENV=production.
    for key, value in env.items():
        if key.startswith("CONSULT_") and key != "CONSULT_ENV":
            found[key.removeprefix("CONSULT_")] = value
    if env.get("CONSULT_ENV"):
        found["CONSULT_ENV"] = env["CONSULT_ENV"]
    return found


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the host gives us."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url
