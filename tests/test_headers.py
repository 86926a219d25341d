"""Security headers on pages: CSP without inline scripts, no framing, nosniff, referrer policy,
HSTS outside development, no-store on what a logged-in person sees."""

import pytest

from consult.extensions import db


def test_pages_carry_the_security_headers(client):
    r = client.get("/login")
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"


def test_no_inline_script_in_any_template():
    from pathlib import Path

    for path in Path(__file__).resolve().parent.parent.joinpath("templates").rglob("*.html"):
        text = path.read_text()
        assert "<script>" not in text and " on" + "click=" not in text, path


def test_hsts_outside_development_only(database, tmp_path, app):
    from tests.conftest import make_test_app

    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    production = make_test_app(database, tmp_path, CONSULT_ENV="production", SECRET_KEY="k" * 32)
    r = production.test_client().get("/login")
    assert r.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    with production.app_context():
        db.engine.dispose()


def test_logged_in_pages_and_exports_are_not_stored(client, world, login):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login(world.staff)
    assert client.get("/notifications").headers["Cache-Control"] == "no-store"
    r = client.get("/monitoring/export/proposals.csv")
    assert r.status_code == 200, r.status_code
    assert r.headers["Cache-Control"] == "no-store"


def test_a_create_form_comes_back_on_back_with_its_key_but_never_from_a_proxy(client, world, login):
    """no-store would make Back fetch a fresh form with a fresh one-time key, and Save again
    would store a second meeting (tests/test_browser_resubmit.py shows it in Chromium)."""
    login(world.leader)
    r = client.get(f"/co/{world.co.id}/meetings/new")
    assert r.status_code == 200 and 'name="submission_key"' in r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "private, no-cache"
    assert client.get("/notifications").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/static/css/app.css"])
def test_static_files_stay_cacheable(client, world, login, path):
    login(world.staff)
    assert "no-store" not in client.get(path).headers.get("Cache-Control", "")


@pytest.fixture
def database_down(tmp_path, app):
    from tests.conftest import make_test_app

    down = make_test_app(
        f"sqlite:///{tmp_path}/missing/dir/db.sqlite", tmp_path, PROPAGATE_EXCEPTIONS=False
    )
    return down


@pytest.mark.parametrize("path", ["/", "/login", "/co/1", "/notifications"])
def test_a_database_that_is_down_gives_503_with_retry_advice(database_down, path, world):
    from consult.auth.models import User

    client = database_down.test_client()
    user = db.session.get(User, world.leader.id)
    with client.session_transaction() as session:  # a logged-in visitor, too
        session["_user_id"] = user.get_id()
    r = client.get(path, headers={"Accept-Language": "km"})
    assert r.status_code == 503, path
    assert r.headers["Retry-After"] == "30"
    page = r.get_data(as_text=True)
    assert "<!doctype html>" in page and 'lang="km"' in page  # the site's page, translated
    assert r.headers["Content-Security-Policy"]


def test_a_post_while_the_database_is_down_gives_503(database_down):
    r = database_down.test_client().post("/login", data={"login": "+85512", "password": "x"})
    assert r.status_code == 503
