"""Logging in by phone or e-mail, refusals, safe redirects, invitations, CSRF."""

import pytest

from consult.auth import service
from consult.auth.models import User
from consult.core.enums import UserRole
from consult.extensions import db
from tests.factories import PASSWORD
from tests.helpers import csrf_token


def _login(client, login, password=PASSWORD, next_=None):
    data = {"login": login, "password": password}
    if next_ is not None:
        data["next"] = next_
    return client.post("/login", data=data)


def _logged_in_as(client) -> str | None:
    with client.session_transaction() as session:
        return (session.get("_user_id") or "").partition(":")[0] or None


def test_login_by_phone_in_any_spelling(client, make):
    user = make.user(phone="+855 12 345 678")
    db.session.commit()
    r = _login(client, "+855-12-345-678")
    assert r.status_code == 302
    assert _logged_in_as(client) == str(user.id)


def test_login_by_email_ignores_case(client, make):
    user = make.user(phone=None, email="officer@pp.gov.kh")
    db.session.commit()
    r = _login(client, "Officer@PP.gov.kh")
    assert r.status_code == 302
    assert _logged_in_as(client) == str(user.id)


def test_wrong_password_is_refused_and_login_kept(client, make):
    make.user(phone="+85512000001")
    db.session.commit()
    r = _login(client, "+85512000001", "not the password")
    assert r.status_code == 200
    assert b"Wrong phone number, e-mail or password." in r.data
    assert b'value="+85512000001"' in r.data  # what was typed stays in the form
    assert _logged_in_as(client) is None


def test_unknown_login_gets_the_same_message(client):
    r = _login(client, "+85599999999", "whatever")
    assert b"Wrong phone number, e-mail or password." in r.data
    assert _logged_in_as(client) is None


def test_disabled_account_is_refused(client, make):
    make.user(phone="+85512000002", active=False)
    db.session.commit()
    r = _login(client, "+85512000002")
    assert r.status_code == 200
    assert b"This account has been disabled" in r.data
    assert _logged_in_as(client) is None


def test_disabled_account_loses_its_session(client, make, login):
    user = make.user()
    db.session.commit()
    login(user)
    user.active = False
    db.session.commit()
    assert client.get("/notifications").status_code == 302  # sent to the login page


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        " //evil.example",
    ],
)
def test_unsafe_next_is_ignored(client, make, target):
    make.user(phone="+85512000003")
    db.session.commit()
    r = _login(client, "+85512000003", next_=target)
    assert r.status_code == 302
    assert r.headers["Location"] in ("/", "http://localhost/")


def test_safe_next_is_followed(client, make):
    make.user(phone="+85512000004")
    db.session.commit()
    r = _login(client, "+85512000004", next_="/notifications")
    assert r.headers["Location"].endswith("/notifications")


def test_logout_needs_post(client, make, login):
    user = make.user()
    db.session.commit()
    login(user)
    assert client.get("/logout").status_code == 405
    assert _logged_in_as(client) == str(user.id)
    client.post("/logout")
    assert _logged_in_as(client) is None


def test_csrf_refuses_a_post_without_token(csrf_app, make):
    make.user(phone="+85512000005")
    db.session.commit()
    client = csrf_app.test_client()
    r = client.post("/login", data={"login": "+85512000005", "password": PASSWORD})
    assert r.status_code == 400
    assert _logged_in_as(client) is None
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "login": "+85512000005",
            "password": PASSWORD,
            "csrf_token": csrf_token(page.data),
        },
    )
    assert r.status_code == 302
    assert _logged_in_as(client) is not None


def test_session_cookie_flags(client, make):
    make.user(phone="+85512000006")
    db.session.commit()
    r = _login(client, "+85512000006")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_passwords_are_hashed_with_scrypt(app):
    user = User(name="A", phone="+1")
    user.set_password("a long passphrase")
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("a long passphrase")
    assert not user.check_password("wrong")


def test_staff_invites_an_officer_who_sets_a_password(client, world, login):
    login(world.staff)
    r = client.post(
        "/people/invite",
        data={
            "name": "New Officer",
            "email": "new.officer@pp.gov.kh",
            "phone": "",
            "gender": "woman",
            "role": "officer",
            "municipality_id": world.municipality.id,
            "co_id": 0,
        },
    )
    assert r.status_code == 200
    assert b"/invitation/" in r.data
    link = r.data.split(b"/invitation/")[1].split(b'"')[0].decode()
    invited = db.session.scalar(db.select(User).where(User.email == "new.officer@pp.gov.kh"))
    assert invited.role == UserRole.OFFICER and invited.password_hash is None

    other = client.application.test_client()
    r = other.post(f"/invitation/{link}", data={"password": "short", "confirm": "short"})
    assert b"Use at least 8 characters." in r.data
    r = other.post(
        f"/invitation/{link}",
        data={"password": "a good long one", "confirm": "a good long one"},
    )
    assert r.status_code == 302
    assert _login(other.application.test_client(), "new.officer@pp.gov.kh", "a good long one")
    # the link works once
    assert other.get(f"/invitation/{link}").status_code == 404


def test_officer_invitation_needs_a_municipality(client, world, login):
    login(world.staff)
    r = client.post(
        "/people/invite",
        data={
            "name": "X",
            "phone": "012 999 111",
            "role": "officer",
            "municipality_id": 0,
            "co_id": 0,
            "gender": "man",
        },
    )
    assert b"Choose the officer&#39;s municipality." in r.data
    assert b'value="012 999 111"' in r.data


def test_residents_cannot_invite(client, world, login):
    login(world.leader)
    assert client.get("/people/invite").status_code == 403


def test_leader_adds_a_member_with_phone_only(client, world, login):
    login(world.leader)
    r = client.post(
        f"/co/{world.co.id}/members",
        data={
            "name": "Srey Mom",
            "phone": "097 555 0101",
            "email": "",
            "gender": "woman",
            "role": "member",
        },
    )
    assert r.status_code == 200
    assert b"/invitation/" in r.data
    person = service.find_by_login("0975550101")
    assert person is not None and person.email is None
    assert person.membership_in(world.co.id) is not None


def test_adding_a_member_with_a_taken_phone_keeps_the_form(client, world, login):
    login(world.leader)
    r = client.post(
        f"/co/{world.co.id}/members",
        data={"name": "Duplicate", "phone": world.member.phone, "gender": "man", "role": "member"},
    )
    # the phone finds the member's own account: they are a member already (see
    # test_membership_lifecycle for adding back someone who left)
    assert b"is already a member." in r.data
    assert b'value="Duplicate"' in r.data


def test_member_cannot_add_members_of_another_co(client, world, login):
    login(world.leader)
    r = client.post(
        f"/co/{world.other_co.id}/members",
        data={"name": "Intruder", "phone": "012000777", "gender": "man", "role": "leader"},
    )
    assert r.status_code == 403
    assert service.find_by_login("012000777") is None


def test_login_is_rate_limited(database, tmp_path, app, make):
    from tests.conftest import make_test_app

    limited = make_test_app(
        database, tmp_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute"
    )
    client = limited.test_client()
    codes = [_login(client, "+85500000000", "x").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    with limited.app_context():
        db.engine.dispose()


def test_invite_form_can_start_with_the_co_chosen(client, world, login):
    login(world.staff)
    page = client.get(f"/people/invite?co_id={world.co.id}").get_data(as_text=True)
    assert f'<option selected value="{world.co.id}">' in page
    assert '<option selected value="resident">' in page
