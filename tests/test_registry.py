"""Staff register settlements and COs; leaders make fresh invitation links for members."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from consult.audit.models import AuditEvent
from consult.auth import service as accounts
from consult.communities import service
from consult.communities.models import CommunityOrganisation, Settlement
from consult.core.enums import COStatus, Tenure, UserRole
from consult.extensions import db
from tests.helpers import csrf_token

SETTLEMENT = {
    "name": "Andong",
    "ward": "Village 3",
    "commune": "Kouk Roka",
    "district": "Prek Pnov",
    "households": "320",
    "population": "1500",
    "tenure": "informal",
    "latitude": "11.61",
    "longitude": "104.86",
}


def _co_data(**kw):
    return {
        "name": "Andong CO",
        "formed_on": "2025-03-01",
        "status": "forming",
        "description": "Savings group turned CO",
        **kw,
    }


def _events(action):
    # in the order they happened: without ORDER BY, PostgreSQL may return rows in any order
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return db.session.scalars(query).all()


def _settlement(name):
    return db.session.scalar(select(Settlement).where(Settlement.name == name))


# --- settlements ----------------------------------------------------------------------------


def test_staff_register_and_edit_a_settlement(client, world, login):
    login(world.staff)
    m = world.municipality
    page = client.get(f"/places/municipalities/{m.id}").get_data(as_text=True)
    assert f"/places/municipalities/{m.id}/settlements/new" in page
    r = client.post(f"/places/municipalities/{m.id}/settlements/new", data=SETTLEMENT)
    assert r.status_code == 302
    s = _settlement("Andong")
    assert (s.municipality_id, s.households, s.tenure) == (m.id, 320, Tenure.INFORMAL)
    assert (s.latitude, s.longitude) == (11.61, 104.86)
    (event,) = _events("settlement.registered")
    assert event.actor_id == world.staff.id and event.detail["households"] == 320
    assert client.get(f"/places/settlements/{s.id}/edit").status_code == 200
    data = {**SETTLEMENT, "households": "350", "latitude": "", "longitude": ""}
    r = client.post(f"/places/settlements/{s.id}/edit", data=data)
    assert r.status_code == 302
    assert (s.households, s.latitude) == (350, None)
    (event,) = _events("settlement.changed")
    assert event.detail["before"] == {"households": 320, "latitude": 11.61, "longitude": 104.86}


def test_settlement_names_are_unique_within_their_municipality(client, world, login):
    login(world.staff)
    m = world.municipality
    r = client.post(
        f"/places/municipalities/{m.id}/settlements/new",
        data={**SETTLEMENT, "name": "boeung kak"},
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "already has a settlement called" in page
    assert 'value="boeung kak"' in page and 'value="Kouk Roka"' in page
    # The same name in another municipality is fine.
    other = world.other_municipality.id
    r = client.post(
        f"/places/municipalities/{other}/settlements/new",
        data={**SETTLEMENT, "name": "Boeung Kak"},
    )
    assert r.status_code == 302


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"latitude": "95"}, "Between -90 and 90."),
        ({"longitude": "-200"}, "Between -180 and 180."),
        ({"longitude": ""}, "Give both latitude and longitude, or neither."),
        ({"households": "-3"}, "Enter 0 or more."),
        ({"name": ""}, "Enter a name."),
    ],
)
def test_bad_settlement_values_are_refused_and_kept(client, world, login, changes, message):
    login(world.staff)
    m = world.municipality
    r = client.post(
        f"/places/municipalities/{m.id}/settlements/new", data={**SETTLEMENT, **changes}
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and message in page
    for value in changes.values():
        if value:
            assert f'value="{value}"' in page
    assert _settlement("Andong") is None


def test_leaders_and_officers_cannot_register_settlements(client, world, login):
    m = world.municipality
    s = world.co.settlement
    for user in (world.leader, world.officer):
        login(user)
        url = f"/places/municipalities/{m.id}/settlements/new"
        assert client.get(url).status_code == 403
        assert client.post(url, data=SETTLEMENT).status_code == 403
        assert client.post(f"/places/settlements/{s.id}/edit", data=SETTLEMENT).status_code == 403
    assert _settlement("Andong") is None


# --- COs ------------------------------------------------------------------------------------


def test_staff_register_a_co_and_are_offered_to_invite_its_leader(client, world, login):
    login(world.staff)
    s = world.co.settlement
    r = client.post(f"/places/settlements/{s.id}/cos/new", data=_co_data())
    assert r.status_code == 302
    co = db.session.scalar(
        select(CommunityOrganisation).where(CommunityOrganisation.name == "Andong CO")
    )
    assert r.headers["Location"].endswith(f"/places/cos/{co.id}/edit")
    assert (co.settlement_id, co.status, co.formed_on) == (s.id, COStatus.FORMING, date(2025, 3, 1))
    (event,) = _events("co.registered")
    assert event.co_id == co.id and event.actor_id == world.staff.id
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Invite its leader" in page and f"/people/invite?co_id={co.id}" in page
    # A CO with a leader does not ask for one.
    page = client.get(f"/places/cos/{world.co.id}/edit").get_data(as_text=True)
    assert "Invite its leader" not in page


def test_staff_change_a_cos_status_and_it_is_audited(client, world, login):
    login(world.staff)
    co = world.co
    data = _co_data(name=co.name, formed_on=co.formed_on.isoformat(), status="dormant")
    r = client.post(f"/places/cos/{co.id}/edit", data=data)
    assert r.status_code == 302
    assert co.status == COStatus.DORMANT
    (event,) = _events("co.changed")
    assert event.detail["before"]["status"] == "active"
    assert event.detail["after"]["status"] == "dormant"
    assert "name" not in event.detail["after"]


def test_co_names_are_unique_within_a_settlement_and_dates_not_in_the_future(client, world, login):
    login(world.staff)
    s = world.co.settlement
    r = client.post(f"/places/settlements/{s.id}/cos/new", data=_co_data(name="BOEUNG KAK CO"))
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "already has a CO called" in page
    assert 'value="BOEUNG KAK CO"' in page and "Savings group turned CO" in page
    future = (date.today() + timedelta(days=3)).isoformat()
    r = client.post(f"/places/settlements/{s.id}/cos/new", data=_co_data(formed_on=future))
    page = r.get_data(as_text=True)
    assert "The date formed cannot be in the future." in page and f'value="{future}"' in page
    r = client.post(f"/places/settlements/{s.id}/cos/new", data=_co_data(formed_on="31/02/2025"))
    assert r.status_code == 200 and 'value="31/02/2025"' in r.get_data(as_text=True)
    assert len(world.co.settlement.organisations) == 1


def test_officers_and_leaders_cannot_register_or_edit_cos(client, world, login):
    s = world.co.settlement
    for user in (world.officer, world.leader, world.member):
        login(user)
        url = f"/places/settlements/{s.id}/cos/new"
        assert client.get(url).status_code == 403
        assert client.post(url, data=_co_data()).status_code == 403
        r = client.post(f"/places/cos/{world.co.id}/edit", data=_co_data(status="dormant"))
        assert r.status_code == 403
    assert world.co.status == COStatus.ACTIVE
    assert _events("co.registered") == []


def test_register_co_service_refuses_a_future_date_in_the_municipalitys_time(app, world):
    s = world.co.settlement
    tomorrow = service.local_today(s.municipality) + timedelta(days=1)
    with pytest.raises(service.RegistryError) as refused:
        service.register_co(s, by=world.staff, name="New", formed_on=tomorrow)
    assert refused.value.field == "formed_on"
    co = service.register_co(
        s, by=world.staff, name="New", formed_on=service.local_today(s.municipality)
    )
    assert co.status == COStatus.FORMING


# --- fresh invitation links from the members page -------------------------------------------


def _membership(user, co):
    return user.membership_in(co.id)


def test_leader_makes_a_new_invitation_link_for_a_member(client, world, login, app):
    old = accounts.invite(world.member, world.leader)
    db.session.commit()
    login(world.leader)
    m = _membership(world.member, world.co)
    page = client.get(f"/co/{world.co.id}/members").get_data(as_text=True)
    assert f"/members/{m.id}/invitation" in page
    r = client.post(f"/co/{world.co.id}/members/{m.id}/invitation")
    page = r.get_data(as_text=True)
    assert (
        r.status_code == 200 and "/invitation/" in page and "Earlier links no longer work" in page
    )
    token = page.split("/invitation/")[1].split('"')[0]
    assert accounts.find_invitation(token).user_id == world.member.id
    assert accounts.find_invitation(old) is None
    (event,) = _events("user.reinvited")
    assert event.actor_id == world.leader.id and event.detail["invitations_revoked"] == 1
    # Following it sets a new password.
    visitor = app.test_client()
    r = visitor.post(
        f"/invitation/{token}", data={"password": "a new password", "confirm": "a new password"}
    )
    assert r.status_code == 302
    assert world.member.check_password("a new password")


def test_leader_cannot_reinvite_outside_their_co_or_an_officer(client, world, login, make):
    login(world.leader)
    other = _membership(world.other_member, world.other_co)
    r = client.post(f"/co/{world.other_co.id}/members/{other.id}/invitation")
    assert r.status_code == 403
    # Through their own CO's address, another CO's membership is not found.
    r = client.post(f"/co/{world.co.id}/members/{other.id}/invitation")
    assert r.status_code == 404
    # An officer who is also a member of the CO.
    officer_member = make.member(world.co, user_=world.officer)
    db.session.commit()
    m = _membership(officer_member, world.co)
    assert client.post(f"/co/{world.co.id}/members/{m.id}/invitation").status_code == 403
    # A member who also belongs to a CO this leader does not lead.
    both = make.member(world.co, name="In two COs")
    make.member(world.other_co, user_=both)
    db.session.commit()
    m = _membership(both, world.co)
    assert client.post(f"/co/{world.co.id}/members/{m.id}/invitation").status_code == 403
    # A plain member may not either.
    login(world.member)
    m = _membership(world.leader, world.co)
    assert client.post(f"/co/{world.co.id}/members/{m.id}/invitation").status_code == 403
    assert _events("user.reinvited") == []
    assert world.officer.role == UserRole.OFFICER


def test_reinvite_with_csrf_on(csrf_app, world, login):
    c = csrf_app.test_client()
    login(world.leader, c)
    m = _membership(world.member, world.co)
    url = f"/co/{world.co.id}/members/{m.id}/invitation"
    assert c.post(url).status_code == 400
    page = c.get(f"/co/{world.co.id}/members")
    r = c.post(url, data={"csrf_token": csrf_token(page.data)})
    assert r.status_code == 200 and "/invitation/" in r.get_data(as_text=True)


def test_register_settlement_with_csrf_on(csrf_app, world, login):
    c = csrf_app.test_client()
    login(world.staff, c)
    url = f"/places/municipalities/{world.municipality.id}/settlements/new"
    assert c.post(url, data=SETTLEMENT).status_code == 400
    page = c.get(url)
    r = c.post(url, data={**SETTLEMENT, "csrf_token": csrf_token(page.data)})
    assert r.status_code == 302
    db.session.expire_all()
    assert _settlement("Andong") is not None
