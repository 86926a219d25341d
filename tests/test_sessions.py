"""Sessions that end: logout, a new password, disabling and a role change end every session and
remember cookie; timeouts; change of password; common passwords; per-account login limits; the
security log."""

import json
import logging
import time

import pytest

from consult.auth import service
from consult.auth.sessions import REMEMBER_COOKIE
from consult.core import security_log
from consult.core.enums import UserRole
from consult.extensions import db
from tests.factories import PASSWORD


def _log_in(client, user, *, remember=False, password=PASSWORD, addr="127.0.0.1"):
    data = {"login": user.login, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": addr})


def _cookie(client, name):
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def _with_cookies(app, **cookies):
    """A new browser holding only these cookies (a copy someone took)."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value, domain="localhost")
    return other


def _in(client) -> bool:
    r = client.get("/notifications")
    return r.status_code == 200


def test_logout_ends_a_copied_session_cookie(app, client, make):
    user = make.user()
    db.session.commit()
    assert _log_in(client, user).status_code == 302
    copied = _cookie(client, "session")
    assert _in(_with_cookies(app, session=copied))
    client.post("/logout")
    assert not _in(_with_cookies(app, session=copied))


def test_logout_ends_the_remember_cookie_and_every_other_device(app, client, make):
    user = make.user()
    db.session.commit()
    phone = app.test_client()
    _log_in(phone, user, remember=True)
    remember = _cookie(phone, REMEMBER_COOKIE)
    assert remember
    assert _in(_with_cookies(app, **{REMEMBER_COOKIE: remember}))  # the cookie alone works
    _log_in(client, user)
    client.post("/logout")
    assert not _in(_with_cookies(app, **{REMEMBER_COOKIE: remember}))
    assert not _in(phone)


def test_the_remember_cookie_is_new_at_each_login(app, make):
    user = make.user()
    db.session.commit()
    values = set()
    for _ in range(2):
        browser = app.test_client()
        _log_in(browser, user, remember=True)
        values.add(_cookie(browser, REMEMBER_COOKIE))
    assert len(values) == 2


def test_a_new_password_from_an_invitation_ends_old_sessions(app, client, make, world):
    user = world.member
    _log_in(client, user, remember=True)
    remember, copied = _cookie(client, REMEMBER_COOKIE), _cookie(client, "session")
    token = service.invite(user, world.admin)
    db.session.commit()
    other = app.test_client()
    r = other.post(
        f"/invitation/{token}", data={"password": "river lotus 42", "confirm": "river lotus 42"}
    )
    assert r.status_code == 302
    assert _in(other)
    assert not _in(_with_cookies(app, **{REMEMBER_COOKIE: remember}))
    assert not _in(_with_cookies(app, session=copied))


def test_a_role_change_ends_the_sessions_of_that_person(app, client, world, login):
    officer = app.test_client()
    login(world.officer, officer)
    assert _in(officer)
    login(world.admin)
    r = client.post(
        f"/admin/people/{world.officer.id}/role",
        data={"role": UserRole.STAFF.value, "municipality_id": 0},
    )
    assert r.status_code == 302
    assert world.officer.role == UserRole.STAFF
    assert not _in(officer)


def test_login_starts_a_fresh_session(client, make):
    user = make.user()
    db.session.commit()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        session["lang"] = "km"
    _log_in(client, user)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["lang"] == "km"  # the language chosen before stays


def _age_session(client, **seconds_ago):
    now = int(time.time())
    with client.session_transaction() as session:
        for key, ago in seconds_ago.items():
            session[key] = now - ago


def test_an_idle_session_ends(app, client, make):
    user = make.user()
    db.session.commit()
    _log_in(client, user)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    _age_session(client, _seen=idle - 120)
    assert _in(client)
    _age_session(client, _seen=idle + 5)
    r = client.get("/notifications")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert not _in(client)


def test_a_session_ends_after_its_absolute_lifetime_even_when_used(app, client, make):
    user = make.user()
    db.session.commit()
    _log_in(client, user)
    _age_session(client, _started=app.config["SESSION_ABSOLUTE_HOURS"] * 3600 + 5, _seen=0)
    assert not _in(client)


def test_a_remembered_login_has_no_idle_timeout_but_ends_after_its_days(
    app, client, make, monkeypatch
):
    user = make.user()
    db.session.commit()
    _log_in(client, user, remember=True)
    _age_session(client, _seen=3 * 3600)
    assert _in(client)  # kept logged in on this phone
    days = app.config["REMEMBER_DAYS"]
    # a remember cookie made longer ago than that no longer works, whatever its expiry says
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - days * 86400 - 60)
    old = app.test_client()
    _log_in(old, user, remember=True)
    monkeypatch.setattr(time, "time", real)
    assert not _in(_with_cookies(app, **{REMEMBER_COOKIE: _cookie(old, REMEMBER_COOKIE)}))


def test_change_password(app, client, make):
    user = make.user()
    db.session.commit()
    elsewhere = app.test_client()
    _log_in(elsewhere, user, remember=True)
    _log_in(client, user)
    assert client.get("/account/password").status_code == 200
    r = client.post(
        "/account/password",
        data={"current": "not it", "password": "river lotus 42", "confirm": "river lotus 42"},
    )
    assert b"This is not your current password." in r.data
    r = client.post(
        "/account/password",
        data={"current": PASSWORD, "password": "12345678", "confirm": "12345678"},
    )
    assert b"too common" in r.data
    r = client.post(
        "/account/password",
        data={"current": PASSWORD, "password": "river lotus 42", "confirm": "river lotus 42"},
    )
    assert r.status_code == 302
    assert _in(client)  # still logged in here
    assert not _in(elsewhere)  # and nowhere else
    assert user.check_password("river lotus 42")


@pytest.mark.parametrize("password", ["12345678", "password", "Welcome123", "qwertyuiop"])
def test_common_passwords_are_refused(password, app, make):
    user = make.user()
    with pytest.raises(service.AccountError):
        service.check_new_password(password, user)


def test_the_persons_own_name_is_not_a_password(app, make):
    user = make.user(name="Sokha Chanthy")
    with pytest.raises(service.AccountError):
        service.check_new_password("sokhachanthy", user)
    service.check_new_password("river lotus 42", user)


def test_an_invitation_refuses_a_common_password(client, make, world):
    token = service.invite(world.member, world.admin)
    db.session.commit()
    r = client.post(f"/invitation/{token}", data={"password": "password", "confirm": "password"})
    assert r.status_code == 200 and b"too common" in r.data


@pytest.fixture
def limited(database, tmp_path, app):
    from tests.conftest import make_test_app

    limited = make_test_app(
        database,
        tmp_path,
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="100 per minute",
        ACCOUNT_LOGIN_RATE_LIMIT="3 per minute",
    )
    yield limited
    with limited.app_context():
        db.engine.dispose()


def _attempts(client, login, n, typed="wrong"):
    return [
        client.post(
            "/login",
            data={"login": login, "password": typed},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},  # a new address for each try
        ).status_code
        for i in range(n)
    ]


def test_failed_logins_are_limited_per_account_across_addresses(limited, make):
    user = make.user(phone="+85512999001")
    db.session.commit()
    client = limited.test_client()
    assert _attempts(client, "+855 12 999 001", 4) == [200, 200, 200, 429]
    # the right password does not get through the closed door either…
    assert _attempts(client, user.login, 1, PASSWORD) == [429]
    # …and another account is not affected
    other = make.user(phone="+85512999002")
    db.session.commit()
    assert _attempts(client, other.login, 1, PASSWORD) == [302]


def test_an_unknown_account_is_limited_the_same_way(limited, make):
    client = limited.test_client()
    codes = _attempts(client, "+85512999009", 4)
    assert codes == [200, 200, 200, 429]


def test_successful_logins_do_not_count_against_the_account(limited, make):
    user = make.user()
    db.session.commit()
    for _ in range(5):
        browser = limited.test_client()
        assert _attempts(browser, user.login, 1, PASSWORD) == [302]


@pytest.fixture
def security_lines(caplog):
    caplog.set_level(logging.INFO, logger="consult.security")
    security_log.logger.addHandler(caplog.handler)
    yield lambda: [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "consult.security"
    ]
    security_log.logger.removeHandler(caplog.handler)


def test_the_security_log_records_logins_failures_logouts_and_refusals(
    client, make, world, security_lines
):
    user = world.member
    _log_in(client, user, password="wrong secret")
    _log_in(client, user)
    client.get(f"/co/{world.other_co.id}/members")
    client.post("/logout")
    lines = security_lines()
    events = [line["event"] for line in lines]
    assert events[:2] == ["login.failure", "login.success"]
    assert "access.denied" in events and events[-1] == "logout"
    assert all(line["user_id"] == user.id for line in lines)
    assert lines[0]["ip"] == "127.0.0.1" and lines[0]["time"]
    raw = json.dumps(lines)
    assert "wrong secret" not in raw and PASSWORD not in raw and user.session_token not in raw


def test_the_security_log_cannot_be_forged_through_input(client, security_lines, caplog):
    client.post(
        "/login",
        data={"login": 'x\n{"event": "login.success"}', "password": "p"},
        environ_base={"HTTP_USER_AGENT": 'ua\n{"event": "login.success"}\x1b[2J'},
    )
    (line,) = [r.getMessage() for r in caplog.records if r.name == "consult.security"]
    assert "\n" not in line and "\x1b" not in line
    assert json.loads(line)["event"] == "login.failure"
