"""Configuration from the environment: every documented variable is read into its type, and a
value that cannot be read stops the start with a message naming the variable."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from consult import create_app
from consult.config import ConfigError, from_environment

README = Path(__file__).resolve().parent.parent / "README.md"

#: a value for each documented variable, and what the app's configuration must then hold
SAMPLES = {
    "DATABASE_URL": ("postgres://u@h/d", "SQLALCHEMY_DATABASE_URI", "postgresql+psycopg://u@h/d"),
    "SECRET_KEY": ("k" * 32, "SECRET_KEY", "k" * 32),
    "CONSULT_ENV": ("production", "CONSULT_ENV", "production"),
    "REDIS_URL": ("memory://", "RATELIMIT_STORAGE_URI", "memory://"),
    "SMTP_HOST": ("mail.example.org", "SMTP_HOST", "mail.example.org"),
    "SMTP_PORT": ("587", "SMTP_PORT", 587),
    "SMTP_USER": ("consult", "SMTP_USER", "consult"),
    "SMTP_PASSWORD": ("secret", "SMTP_PASSWORD", "secret"),
    "SMTP_FROM": ("consult@example.org", "SMTP_FROM", "consult@example.org"),
    "SMTP_STARTTLS": ("true", "SMTP_STARTTLS", True),
    "SMTP_TIMEOUT": ("12", "SMTP_TIMEOUT", 12),
    "BASE_URL": ("https://consult.example.org", "BASE_URL", "https://consult.example.org"),
    "PROXY_COUNT": ("1", "PROXY_COUNT", 1),
    "MAP_TILES_URL": ("https://tiles.example.org/{z}/{x}/{y}.png", "MAP_TILES_URL", None),
    "CONSULT_UPLOAD_MAX_BYTES": ("1000", "UPLOAD_MAX_BYTES", 1000),
    "CONSULT_MONITORING_SNAPSHOT_SECONDS": ("60", "MONITORING_SNAPSHOT_SECONDS", 60),
    "CONSULT_SECURITY_LOG": ("security.log", "SECURITY_LOG", "security.log"),
}
SAMPLES["MAP_TILES_URL"] = (*SAMPLES["MAP_TILES_URL"][:2], SAMPLES["MAP_TILES_URL"][0])


def documented_variables() -> set[str]:
    """The variables named in the README's configuration table (``CONSULT_<SETTING>`` stands
    for the README's own example of it)."""
    text = README.read_text(encoding="utf-8")
    table = text.split("| variable | default | meaning |", 1)[1].split("\n\n", 1)[0]
    names = set()
    for row in table.splitlines()[2:]:
        first_cell = row.split("|")[1]
        names |= set(re.findall(r"`([A-Z_<>]+)`", first_cell))
    names.discard("CONSULT_<SETTING>")
    example = re.search(r"e\.g\. `(CONSULT_[A-Z_]+)`", table)
    names.add(example.group(1))
    return names


def _clear(monkeypatch):
    for name in [*SAMPLES, "CONSULT_WTF_CSRF_ENABLED", "CONSULT_PERMANENT_SESSION_LIFETIME"]:
        monkeypatch.delenv(name, raising=False)


def test_every_documented_variable_has_a_sample():
    """A variable added to the README's table gets a sample here, so the next test starts the
    app with it set."""
    assert documented_variables() == set(SAMPLES)


def test_the_app_starts_with_every_documented_variable_set(monkeypatch, tmp_path):
    _clear(monkeypatch)
    monkeypatch.chdir(tmp_path)  # the samples' relative paths (security.log) land here
    for name, (value, _setting, _expected) in SAMPLES.items():
        monkeypatch.setenv(name, value)
    # The engine is made, not connected: the PostgreSQL URL needs no server. REDIS_URL also
    # selects the Redis cache, whose client is the optional [redis] extra: a cache in memory here.
    app = create_app({"CACHE_TYPE": "SimpleCache"})
    for name, (_value, setting, expected) in SAMPLES.items():
        assert app.config[setting] == expected, name
        assert type(app.config[setting]) is type(expected), name
    assert app.config["SESSION_COOKIE_SECURE"] is True  # production, from CONSULT_ENV


def test_an_upload_limit_from_the_environment_is_a_number(monkeypatch, tmp_path):
    """The README's own example: CONSULT_UPLOAD_MAX_BYTES used to stay a string, and every
    upload failed with a TypeError."""
    from consult.attachments.service import UploadRefused, check_upload

    _clear(monkeypatch)
    monkeypatch.setenv("CONSULT_UPLOAD_MAX_BYTES", "1000")
    app = create_app(
        {
            "CONSULT_ENV": "testing",
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/db.sqlite",
        }
    )
    big = FileStorage(io.BytesIO(b"%PDF-1.4\n" + b"x" * 2000), filename="big.pdf")
    small = FileStorage(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), filename="small.pdf")
    with app.test_request_context():
        assert check_upload(small).content_type == "application/pdf"
        with pytest.raises(UploadRefused, match="too large"):
            check_upload(big)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONSULT_UPLOAD_MAX_BYTES", "5MB"),
        ("PROXY_COUNT", "one"),
        ("SMTP_PORT", "-25"),
        ("SMTP_STARTTLS", "maybe"),
        ("CONSULT_ENV", "prod"),
        ("CONSULT_WTF_CSRF_ENABLED", "sometimes"),
        ("CONSULT_LANGUAGES", "en,km"),
    ],
)
def test_a_malformed_value_stops_the_start_naming_the_variable(monkeypatch, tmp_path, name, value):
    _clear(monkeypatch)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=re.escape(f"{name}={value!r}")):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/db.sqlite"})


def test_settings_are_read_by_the_type_of_their_default():
    found = from_environment(
        {
            "CONSULT_WTF_CSRF_ENABLED": "false",
            "CONSULT_PERMANENT_SESSION_LIFETIME": "3600",
            "CONSULT_LANGUAGES": '{"en": "English"}',
            "CONSULT_LOGIN_RATE_LIMIT": "5 per minute",
            "CONSULT_SERVER_NAME": "consult.example.org",
            "CONSULT_MAX_COOKIE_SIZE": "4093",
        }
    )
    assert found == {
        "WTF_CSRF_ENABLED": False,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=1),
        "LANGUAGES": {"en": "English"},
        "LOGIN_RATE_LIMIT": "5 per minute",
        "SERVER_NAME": "consult.example.org",
        "MAX_COOKIE_SIZE": 4093,
    }
