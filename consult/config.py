"""Configuration: defaults here, then ``instance/config.py``, then the environment.

Only ``DATABASE_URL`` and ``SECRET_KEY`` matter to try the app; everything else has a default.
"""

import json
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
    #: whole request; None: worked out in create_app as the most files a form takes times
    #: UPLOAD_MAX_BYTES, plus UPLOAD_FORM_BYTES for the typed fields
    MAX_CONTENT_LENGTH = None
    #: each uploaded file, as sent (today's phones: 2–12 MB a photo, HEIC or JPEG)
    UPLOAD_MAX_BYTES = 20 * 1024 * 1024
    UPLOAD_FORM_BYTES = 1024 * 1024
    #: photos declaring more pixels are refused before decoding (decompression bombs)
    UPLOAD_MAX_PIXELS = 64_000_000
    #: long side of the stored photo and of its thumbnail, in pixels
    UPLOAD_DISPLAY_PX = 1600
    UPLOAD_THUMB_PX = 320
    #: keep the photo as sent (with its metadata, location included) beside the re-encoded
    #: one; never served. Off: only the re-encoded photo is kept.
    UPLOAD_KEEP_ORIGINAL = False
    #: a session ends after this many minutes without a request…
    SESSION_IDLE_MINUTES = 30
    #: …and this many hours after the login, whatever happens
    SESSION_ABSOLUTE_HOURS = 12
    #: "Keep me logged in on this phone": the login holds this many days (no idle timeout)
    REMEMBER_DAYS = 30
    #: JSON lines of logins, failures, logouts, 403 and 429: a file path, or unset for stderr
    SECURITY_LOG = None
    UPLOAD_FOLDER = None  # filled in create_app: instance/uploads
    #: /healthz reports the storage "full" below this much free space; None: one full request
    UPLOAD_MIN_FREE_BYTES = None
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = {"en": "English", "km": "ខ្មែរ"}
    #: how many reverse proxies stand in front (e.g. 1 for nginx): their X-Forwarded-For and
    #: X-Forwarded-Proto are then trusted, so rate limits and the audit see the real client
    PROXY_COUNT = 0
    RATELIMIT_STORAGE_URI = "memory://"
    #: Flask-Caching: files in instance/cache (shared by the workers of one machine), or Redis
    #: when REDIS_URL is set (shared by every machine)
    CACHE_TYPE = "FileSystemCache"
    CACHE_DIR = None  # filled in create_app: instance/cache
    CACHE_DEFAULT_TIMEOUT = 300
    #: seconds the dashboard's and summaries' figures and charts are reused before they are
    #: recomputed (the page says "as of" when); 0 recomputes them on every request
    MONITORING_SNAPSHOT_SECONDS = 300
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute;100 per hour"  # per address
    #: failed logins per account, whichever address they come from (also for unknown logins,
    #: so the limit tells nothing about who has an account)
    ACCOUNT_LOGIN_RATE_LIMIT = "5 per minute;20 per hour"
    INVITATION_DAYS = 14
    MAP_TILES_URL = None
    #: Open311 GeoReport reads (requests.json, requests/<id>.json) without an api_key: off,
    #: since on the pages only the CO, its municipality and staff see its problems; a programme
    #: that publishes its problems as open data turns it on
    OPEN311_PUBLIC_READS = False
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
    #: ``consult digest compile`` writes fingerprinted copies of static/ (app-<md5>.css) and a
    #: manifest; pages then link those, cached for a year. No .gz copies: Flask-Compress
    #: compresses responses itself.
    FLASK_STATIC_DIGEST_COMPRESSION: list = []
    #: Flask-Compress: no streamed responses (files, exports); it would leave files open
    COMPRESS_STREAMS = False
    DEMO_PASSWORD = "consult-demo"  # noqa: S105 - printed by seed-demo, demo data only


class ConfigError(RuntimeError):
    """A setting from the environment that cannot be read; the app refuses to start."""


#: the environments ``CONSULT_ENV`` may name
ENVIRONMENTS = ("development", "demo", "testing", "production")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _boolean(value: str) -> bool:
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("expected true or false (also 1/0, yes/no, on/off)")


def _whole_number(value: str) -> int:
    try:
        number = int(value.strip().replace("_", ""))
    except ValueError:
        raise ValueError("expected a whole number, e.g. 5242880") from None
    if number < 0:
        raise ValueError("expected a whole number of at least 0")
    return number


def _seconds(value: str) -> timedelta:
    return timedelta(seconds=_whole_number(value))


def _environment(value: str) -> str:
    if value not in ENVIRONMENTS:
        raise ValueError("expected one of " + ", ".join(ENVIRONMENTS))
    return value


def _json(value: str):
    try:
        return json.loads(value)
    except ValueError:
        raise ValueError('expected JSON, e.g. {"en": "English"}') from None


def _text(value: str) -> str:
    return value


#: the documented variables without a ``CONSULT_`` prefix: variable -> (setting, how to read it)
PLAIN_VARIABLES = {
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", lambda v: normalise_database_url(v)),
    "SECRET_KEY": ("SECRET_KEY", _text),
    "REDIS_URL": ("REDIS_URL", _text),
    "MAP_TILES_URL": ("MAP_TILES_URL", _text),
    "SMTP_HOST": ("SMTP_HOST", _text),
    "SMTP_PORT": ("SMTP_PORT", _whole_number),
    "SMTP_USER": ("SMTP_USER", _text),
    "SMTP_PASSWORD": ("SMTP_PASSWORD", _text),
    "SMTP_FROM": ("SMTP_FROM", _text),
    "SMTP_STARTTLS": ("SMTP_STARTTLS", _boolean),
    "SMTP_TIMEOUT": ("SMTP_TIMEOUT", _whole_number),
    "BASE_URL": ("BASE_URL", _text),
    "PROXY_COUNT": ("PROXY_COUNT", _whole_number),
}

#: settings whose default (None) does not tell their type
_TYPES = {
    "CONSULT_ENV": _environment,
    "SESSION_COOKIE_SECURE": _boolean,
    "REMEMBER_COOKIE_SECURE": _boolean,
    "MAX_CONTENT_LENGTH": _whole_number,
    "UPLOAD_MIN_FREE_BYTES": _whole_number,
}


def reader_for(setting: str):
    """How a ``CONSULT_<SETTING>`` value is read: by the type of the setting's default (a
    whole number, true/false, seconds for a duration, JSON for a mapping or list), as text
    when the default is text or unset, and as JSON-or-text for settings Consult does not
    define (Flask's and its extensions', as ``app.config.from_prefixed_env`` would)."""
    if setting in _TYPES:
        return _TYPES[setting]
    if not hasattr(Defaults, setting):
        return _json_or_text
    default = getattr(Defaults, setting)
    if isinstance(default, bool):
        return _boolean
    if isinstance(default, int):
        return _whole_number
    if isinstance(default, timedelta):
        return _seconds
    if isinstance(default, dict | list):
        return _json
    return _text


def _json_or_text(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


def _read(variable: str, value: str, how):
    try:
        return how(value)
    except ValueError as error:
        raise ConfigError(
            f"The environment variable {variable}={value!r} cannot be used: {error}."
        ) from None


def from_environment(environ=None) -> dict:
    """The documented environment variables that are set, each read into its type; a value
    that cannot be read stops the start with :class:`ConfigError` naming the variable."""
    env = os.environ if environ is None else environ
    found: dict = {}
    for variable, (setting, how) in PLAIN_VARIABLES.items():
        if env.get(variable):
            found[setting] = _read(variable, env[variable], how)
    if "REDIS_URL" in found:
        found["RATELIMIT_STORAGE_URI"] = found["REDIS_URL"]
        found["CACHE_TYPE"] = "RedisCache"
        found["CACHE_REDIS_URL"] = found["REDIS_URL"]
    # Any other setting can be given as CONSULT_<NAME>, e.g. CONSULT_UPLOAD_MAX_BYTES=8000000.
    for variable, value in env.items():
        if variable.startswith("CONSULT_") and variable != "CONSULT_ENV" and value:
            setting = variable.removeprefix("CONSULT_")
            found[setting] = _read(variable, value, reader_for(setting))
    if env.get("CONSULT_ENV"):
        found["CONSULT_ENV"] = _read("CONSULT_ENV", env["CONSULT_ENV"], _environment)
    return found


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the host gives us."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url
