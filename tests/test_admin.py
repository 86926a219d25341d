"""Administration: municipalities, accounts, roles and fresh invitation links."""

from sqlalchemy import select

from consult.admin import service
from consult.audit.models import AuditEvent
from consult.auth.models import Invitation, User
from consult.communities.models import Municipality
from consult.core.enums import UserRole
from consult.extensions import db
from tests.helpers import csrf_token

GOOD = {
    "name": "Siem Reap",
    "city": "Siem Reap",
    "country": "kh",
    "currency": "khr",
    "timezone": "Asia/Phnom_Penh",
    "default_language": "km",
    "response_target_days": "10",
    "annual_target_settlements": "25",
}


def _events(action):
    # in the order they happened: without ORDER BY, PostgreSQL may return rows in any order
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return db.session.scalars(query).all()


# --- municipalities: routes ---------------------------------------------------------------


def test_admin_registers_a_municipality(client, world, login):
    login(world.admin)
    assert client.get("/admin/municipalities/new").status_code == 200
    r = client.post("/admin/municipalities/new", data=GOOD)
    assert r.status_code == 302
    m = db.session.scalar(select(Municipality).where(Municipality.name == "Siem Reap"))
    assert (m.country, m.currency, m.default_language) == ("KH", "KHR", "km")
    assert (m.response_target_days, m.annual_target_settlements) == (10, 25)
    (event,) = _events("municipality.created")
    assert event.actor_id == world.admin.id and event.detail["currency"] == "KHR"
    page = client.get("/admin/municipalities").get_data(as_text=True)
    assert "Siem Reap" in page and "Cambodia" in page  # the country shown by name


def test_duplicate_name_and_bad_codes_are_refused_with_the_typed_values_kept(client, world, login):
    login(world.admin)
    r = client.post("/admin/municipalities/new", data={**GOOD, "name": "phnom penh"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "There is already a municipality called" in page
    assert 'value="phnom penh"' in page
    for key, bad, message in [
        ("country", "XX", "is not an ISO 3166 country code"),
        ("currency", "ABC", "is not an ISO 4217 currency code"),
        ("timezone", "Mars/Olympus", "is not a time zone"),
    ]:
        r = client.post("/admin/municipalities/new", data={**GOOD, key: bad})
        page = r.get_data(as_text=True)
        assert r.status_code == 200, key
        assert message in page, key
        assert f'value="{bad}"' in page, key
        assert 'value="Siem Reap"' in page, key
    r = client.post("/admin/municipalities/new", data={**GOOD, "response_target_days": "0"})
    assert "Between 1 and 365 days." in r.get_data(as_text=True)
    r = client.post("/admin/municipalities/new", data={**GOOD, "annual_target_settlements": "-1"})
    assert "Enter 0 or more." in r.get_data(as_text=True)
    r = client.post("/admin/municipalities/new", data={**GOOD, "default_language": "fr"})
    assert r.status_code == 200
    assert db.session.scalar(select(Municipality).where(Municipality.name == "Siem Reap")) is None


def test_admin_edits_a_municipality_and_it_is_audited(client, world, login):
    login(world.admin)
    m = world.municipality
    r = client.get(f"/admin/municipalities/{m.id}/edit")
    assert 'value="Phnom Penh"' in r.get_data(as_text=True)
    data = {**GOOD, "name": "Phnom Penh", "city": m.city, "response_target_days": "7"}
    r = client.post(f"/admin/municipalities/{m.id}/edit", data=data)
    assert r.status_code == 302
    assert m.response_target_days == 7 and m.default_language == "km"
    (event,) = _events("municipality.changed")
    assert event.detail["before"]["response_target_days"] == 14
    assert event.detail["after"]["response_target_days"] == 7
    assert "name" not in event.detail["after"]  # only what changed


def test_currency_is_fixed_once_the_municipality_has_proposals(client, world, login, make):
    login(world.admin)
    m = world.municipality
    data = {**GOOD, "name": m.name, "city": m.city, "currency": "USD"}
    # No proposal yet: the currency may still change.
    assert client.post(f"/admin/municipalities/{m.id}/edit", data=data).status_code == 302
    assert m.currency == "USD"
    m.currency = "KHR"
    make.proposal(world.co)
    db.session.commit()
    r = client.post(f"/admin/municipalities/{m.id}/edit", data={**data, "city": "Changed"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "The currency cannot change" in page and 'value="USD"' in page
    assert (m.currency, m.city) == ("KHR", world.municipality.city)
    assert m.city != "Changed"


def test_staff_and_others_cannot_manage_municipalities(client, world, login):
    m = world.municipality
    for user in (world.staff, world.officer, world.leader):
        login(user)
        assert client.get("/admin/municipalities").status_code == 403
        assert client.post("/admin/municipalities/new", data=GOOD).status_code == 403
        r = client.post(f"/admin/municipalities/{m.id}/edit", data={**GOOD, "name": "X"})
        assert r.status_code == 403
    assert db.session.scalar(select(Municipality).where(Municipality.name == "Siem Reap")) is None
    assert m.name == "Phnom Penh"


# --- municipalities: service ------------------------------------------------------------


def test_service_refuses_a_duplicate_name_whatever_its_capitals(app, world):
    values = {**GOOD, "response_target_days": 14, "annual_target_settlements": 0}
    values.update(name="PHNOM PENH", default_language="en")
    try:
        service.create_municipality(by=world.admin, languages={"en": "English"}, **values)
    except service.AdminError as error:
        assert error.field == "name"
    else:
        raise AssertionError("a duplicate name was accepted")
    values["name"] = "Kampot"
    m = service.create_municipality(by=world.admin, languages={"en": "English"}, **values)
    assert (m.country, m.currency) == ("KH", "KHR")


def test_service_update_without_changes_writes_no_event(app, world):
    m = world.municipality
    values = {k: getattr(m, k) for k in service.MUNICIPALITY_FIELDS}
    assert service.update_municipality(m, by=world.admin, languages={"en": 1}, **values) == {}
    assert _events("municipality.changed") == []


# --- people ---------------------------------------------------------------------------------


def test_people_list_filters_by_text_role_and_municipality(client, world, login, make):
    login(world.admin)
    page = client.get("/admin/people").get_data(as_text=True)
    assert "Officer Chan" in page and "Sokha (leader)" in page
    page = client.get("/admin/people?role=officer").get_data(as_text=True)
    assert "Officer Chan" in page and "Officer Kim" in page and "Sokha" not in page
    m = world.other_municipality.id
    page = client.get(f"/admin/people?municipality_id={m}").get_data(as_text=True)
    assert "Officer Kim" in page and "Officer Chan" not in page
    page = client.get("/admin/people?q=sokha").get_data(as_text=True)
    assert "Sokha (leader)" in page and "Dara" not in page
    page = client.get(f"/admin/people?q={world.member.phone[-6:]}").get_data(as_text=True)
    assert "Dara (member)" in page and "Sokha" not in page
    # Nonsense in the query string means no filter, never an error.
    assert client.get("/admin/people?role=king&municipality_id=x").status_code == 200


def test_people_list_is_paginated(client, world, login, make):
    for i in range(30):
        make.user(name=f"Zz person {i:02d}")
    login(world.admin)
    first = client.get("/admin/people?q=zz").get_data(as_text=True)
    assert "Zz person 00" in first and "Zz person 29" not in first and "Page 1 of 2" in first
    second = client.get("/admin/people?q=zz&page=2").get_data(as_text=True)
    assert "Zz person 29" in second


def test_staff_cannot_manage_users(client, world, login):
    login(world.staff)
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/people").status_code == 403
    assert client.get(f"/admin/people/{world.member.id}").status_code == 403
    assert client.post(f"/admin/people/{world.member.id}/disable").status_code == 403
    r = client.post(f"/admin/people/{world.member.id}/role", data={"role": "admin"})
    assert r.status_code == 403
    assert (
        client.post(f"/admin/people/{world.staff.id}/role", data={"role": "admin"}).status_code
        == 403
    )
    assert client.post(f"/admin/people/{world.member.id}/invitation").status_code == 403
    assert world.member.active and world.staff.role == UserRole.STAFF


def test_disabled_users_session_stops_working(client, world, login, app):
    member = app.test_client()
    login(world.member, member)
    assert member.get(f"/co/{world.co.id}").status_code == 200
    login(world.admin)
    r = client.post(f"/admin/people/{world.member.id}/disable")
    assert r.status_code == 302
    assert world.member.active is False
    (event,) = _events("user.disabled")
    assert event.actor_id == world.admin.id and event.object_id == world.member.id
    r = member.get(f"/co/{world.co.id}")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.post(f"/admin/people/{world.member.id}/enable").status_code == 302
    assert world.member.active is True and len(_events("user.enabled")) == 1
    # disabling ended the session for good: enabled again, the person logs in afresh
    assert member.get(f"/co/{world.co.id}").status_code == 302
    assert login(world.member, member).get(f"/co/{world.co.id}").status_code == 200


def test_a_disabled_user_cannot_log_in(client, world, login):
    from tests.factories import PASSWORD

    login(world.admin)
    client.post(f"/admin/people/{world.member.id}/disable")
    fresh = client.application.test_client()
    r = fresh.post("/login", data={"login": world.member.phone, "password": PASSWORD})
    assert r.status_code == 200 and "This account has been disabled" in r.get_data(as_text=True)


def test_admin_changes_roles_and_an_officers_municipality(client, world, login):
    login(world.admin)
    r = client.post(
        f"/admin/people/{world.outsider.id}/role", data={"role": "officer", "municipality_id": "0"}
    )
    assert r.status_code == 200
    assert "Choose the officer&#39;s municipality." in r.get_data(as_text=True)
    assert world.outsider.role == UserRole.RESIDENT
    m = world.other_municipality.id
    r = client.post(
        f"/admin/people/{world.outsider.id}/role", data={"role": "officer", "municipality_id": m}
    )
    assert r.status_code == 302
    assert (world.outsider.role, world.outsider.municipality_id) == (UserRole.OFFICER, m)
    client.post(
        f"/admin/people/{world.officer.id}/role",
        data={"role": "officer", "municipality_id": world.other_municipality.id},
    )
    assert world.officer.municipality_id == world.other_municipality.id
    client.post(f"/admin/people/{world.staff.id}/role", data={"role": "admin"})
    assert world.staff.role == UserRole.ADMIN
    events = _events("user.role_changed")
    assert len(events) == 3
    assert events[1].detail["before"] == {
        "role": "officer",
        "municipality_id": world.municipality.id,
    }
    assert events[2].detail["after"] == {"role": "admin", "municipality_id": None}


def test_admin_cannot_disable_or_demote_themself(client, world, login):
    login(world.admin)
    r = client.post(f"/admin/people/{world.admin.id}/disable", follow_redirects=True)
    assert "You cannot disable your own account." in r.get_data(as_text=True)
    r = client.post(f"/admin/people/{world.admin.id}/role", data={"role": "staff"})
    assert r.status_code == 200
    assert "You cannot remove your own administrator role." in r.get_data(as_text=True)
    assert world.admin.active and world.admin.role == UserRole.ADMIN
    assert _events("user.disabled") == [] and _events("user.role_changed") == []


def test_the_last_active_admin_is_kept(app, world, make):
    second = make.admin(name="Second admin")
    service.disable_user(world.admin, by=second)  # another admin is left: fine
    try:
        service.disable_user(second, by=None)
    except service.AdminError as error:
        assert "last active administrator" in str(error)
    else:
        raise AssertionError("the last admin was disabled")
    try:
        service.change_role(second, UserRole.STAFF, municipality_id=None, by=None)
    except service.AdminError:
        pass
    else:
        raise AssertionError("the last admin was demoted")
    assert second.active and second.role == UserRole.ADMIN


# --- fresh invitation links ---------------------------------------------------------------


def test_admin_makes_a_new_invitation_link_and_the_old_one_stops_working(client, world, login, app):
    from consult.auth import service as accounts

    old = accounts.invite(world.member, world.admin)
    db.session.commit()
    login(world.admin)
    r = client.post(f"/admin/people/{world.member.id}/invitation")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "/invitation/" in page
    assert accounts.find_invitation(old) is None
    token = page.split("/invitation/")[1].split('"')[0]
    assert accounts.find_invitation(token).user_id == world.member.id
    assert len(_events("user.reinvited")) == 1
    # The account page no longer shows it.
    assert "/invitation/" not in client.get(f"/admin/people/{world.member.id}").get_data(
        as_text=True
    )
    visitor = app.test_client()
    assert visitor.get(f"/invitation/{old}").status_code == 404
    assert visitor.get(f"/invitation/{token}").status_code == 200


def test_disabling_revokes_pending_invitations(app, world):
    from consult.auth import service as accounts

    token = accounts.invite(world.member, world.admin)
    service.disable_user(world.member, by=world.admin)
    assert accounts.find_invitation(token) is None
    try:
        accounts.new_invitation(world.member, by=world.admin, days=14)
    except accounts.AccountError:
        pass
    else:
        raise AssertionError("a disabled account got an invitation")
    assert db.session.scalars(select(Invitation)).all()[0].used_at is None


# --- navigation and CSRF ------------------------------------------------------------------


def test_only_admins_see_the_administration_link(client, world, login):
    login(world.admin)
    assert "Administration" in client.get("/admin/people").get_data(as_text=True)
    login(world.staff)
    assert "Administration" not in client.get("/places").get_data(as_text=True)


def test_disable_with_csrf_on(csrf_app, world, login):
    c = csrf_app.test_client()
    login(world.admin, c)
    r = c.post(f"/admin/people/{world.member.id}/disable")
    assert r.status_code == 400
    assert db.session.get(User, world.member.id).active
    page = c.get(f"/admin/people/{world.member.id}")
    r = c.post(
        f"/admin/people/{world.member.id}/disable", data={"csrf_token": csrf_token(page.data)}
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, world.member.id).active is False


def test_account_page_shows_its_history_readably(client, world, login):
    login(world.admin)
    client.post(f"/admin/people/{world.staff.id}/role", data={"role": "admin"})
    page = client.get(f"/admin/people/{world.staff.id}").get_data(as_text=True)
    assert "Role changed: Administrator" in page and "by Admin" in page


def test_admin_overview_counts_accounts_by_role(client, world, login):
    login(world.admin)
    r = client.get("/admin/")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Municipal officer" in page
