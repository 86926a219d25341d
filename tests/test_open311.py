"""Open311 GeoReport v2 for problems, proven with Open311 clients from PyPI against a live
server: ``georeport`` lists services and requests; ``civicbot``'s Open311 client files one
(georeport 0.3 has no call that files a request)."""

import xml.etree.ElementTree as ET  # noqa: S405 - parses our own answers in tests

import pytest

from consult.core.enums import ProblemStatus, ProposalState
from consult.extensions import db
from consult.negotiation import service as negotiation
from consult.problems.models import Problem
from tests.live import serving

BASE = "/open311/v2"


@pytest.fixture
def leader_key(world, client):
    """An api_key issued by the CO's leader, through the JSON API."""
    from tests.test_api import Caller, token_for

    leader = Caller(client, token_for(client, world.leader))
    r = leader.post(f"/communities/{world.co.id}/open311-keys", json={"name": "City 311 app"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["api_key"]


def test_existing_clients_list_services_and_requests_and_file_one(
    app, world, make, leader_key, monkeypatch
):
    from civicbot import Endpoint, HttpTransport, Open311Client
    from civicbot.http import RateLimiter
    from georeport import GeoReport

    # georeport sends no api_key when reading: the programme publishes its problems
    monkeypatch.setitem(app.config, "OPEN311_PUBLIC_READS", True)
    make.problem(world.co, title="Flooded lane", location="Street 12")
    db.session.commit()
    with serving(app) as base:
        reader = GeoReport(f"{base}{BASE}")
        codes = {s["service_code"] for s in reader.get_service_list()}
        assert {"drainage", "water", "sanitation"} <= codes
        assert reader.get_service_definition("drainage")["service_code"] == "drainage"
        listed = reader.get_service_requests(service_code="drainage", status="open")
        assert [r["description"] for r in listed] == ["Flooded lane"]
        assert listed[0]["agency_responsible"] == "Phnom Penh"

        filer = Open311Client(
            Endpoint(id="consult", name="Consult", base_url=f"{base}{BASE}", write=True),
            transport=HttpTransport(rate_limiter=RateLimiter(min_interval=0)),
        )
        sent = filer.create_request(
            "water",
            dry_run=False,
            confirm="SEND",
            api_key=leader_key,
            validate_remote=True,
            lat=11.56,
            lng=104.92,
            description="No water at the public tap since Monday",
        )
        new_id = sent.response[0]["service_request_id"]
        got = reader.get_service_request(new_id)
        assert got["service_code"] == "water" and got["status"] == "open"
        assert float(got["lat"]) == 11.56
        assert filer.get_request(new_id)["description"].startswith("No water")

        xml_reader = GeoReport(f"{base}{BASE}", output_format="xml")
        assert {s["service_code"] for s in xml_reader.get_service_list()} == codes

    problem = db.session.get(Problem, int(new_id))
    assert problem.co_id == world.co.id and problem.reported_by_id == world.leader.id


def test_filing_needs_a_live_key(client, world, leader_key):
    body = {"service_code": "water", "address_string": "Street 1", "description": "Tap"}
    assert client.post(f"{BASE}/requests.json", data=body).status_code == 403
    r = client.post(f"{BASE}/requests.json", data={**body, "api_key": "o311_wrong"})
    assert r.status_code == 403 and r.get_json()[0]["code"] == 403
    r = client.post(f"{BASE}/requests.json", data={**body, "api_key": leader_key})
    assert r.status_code == 201
    r = client.post(f"{BASE}/requests.json", data={**body, "api_key": leader_key, "lat": "x"})
    assert r.status_code == 400 and r.get_json()[0]["description"]


def test_a_key_of_a_leader_who_stepped_down_files_nothing(client, world, leader_key):
    world.leader.membership_in(world.co.id).left_on = world.leader.membership_in(
        world.co.id
    ).joined_on
    db.session.commit()
    body = {"service_code": "water", "address_string": "Street 1", "api_key": leader_key}
    assert client.post(f"{BASE}/requests.json", data=body).status_code == 403


def test_only_the_leader_issues_keys(client, world):
    from tests.test_api import Caller, token_for

    member = Caller(client, token_for(client, world.member))
    r = member.post(f"/communities/{world.co.id}/open311-keys", json={})
    assert r.status_code == 403


def test_reading_needs_a_key_and_a_key_reads_its_own_co_only(
    app, client, world, make, leader_key, monkeypatch
):
    """Problems are not public on the pages (the CO, its municipality and staff see them), so
    Open311 reads need the CO's api_key, unless the operator publishes them."""
    own = make.problem(world.co, title="Flooded lane")
    other = make.problem(world.other_co, title="Someone else's lane")
    db.session.commit()
    for url in (f"{BASE}/requests.json", f"{BASE}/requests/{own.id}.json"):
        r = client.get(url)
        assert r.status_code == 403 and r.get_json()[0]["code"] == 403
        assert client.get(f"{url}?api_key=o311_wrong").status_code == 403
    listed = client.get(f"{BASE}/requests.json?api_key={leader_key}").get_json()
    assert [r["service_request_id"] for r in listed] == [str(own.id)]
    asked = client.get(
        f"{BASE}/requests.json?api_key={leader_key}&service_request_id={own.id},{other.id}"
    ).get_json()
    assert [r["service_request_id"] for r in asked] == [str(own.id)]
    assert client.get(f"{BASE}/requests/{other.id}.json?api_key={leader_key}").status_code == 404
    # services carry no data of anyone's: always open
    assert client.get(f"{BASE}/services.json").status_code == 200

    monkeypatch.setitem(app.config, "OPEN311_PUBLIC_READS", True)
    everyone = client.get(f"{BASE}/requests.json").get_json()
    assert {r["service_request_id"] for r in everyone} == {str(own.id), str(other.id)}


def test_status_and_status_notes_follow_the_municipality(client, world, make, leader_key):
    problem = make.problem(world.co, title="Dark lane", category="lighting")
    proposal = make.proposal(world.co, state=ProposalState.SUBMITTED)
    proposal.problems = [problem]
    problem.status = ProblemStatus.ADDRESSED
    db.session.flush()
    negotiation.post_message(
        proposal, world.officer, negotiation.MessageKind.COMMENT, "Survey next week."
    )
    closed = make.problem(world.co, title="Old", status=ProblemStatus.RESOLVED)
    db.session.commit()

    key = f"api_key={leader_key}"
    got = client.get(f"{BASE}/requests/{problem.id}.json?{key}").get_json()[0]
    assert got["status"] == "open" and got["status_notes"] == "Survey next week."
    assert got["requested_datetime"].endswith("+00:00")
    only_closed = client.get(f"{BASE}/requests.json?status=closed&{key}").get_json()
    assert [r["service_request_id"] for r in only_closed] == [str(closed.id)]
    both = client.get(
        f"{BASE}/requests.json?service_request_id={problem.id},{closed.id}&{key}"
    ).get_json()
    assert len(both) == 2
    dated = client.get(
        f"{BASE}/requests.json?start_date=2000-01-01T00:00:00Z&end_date=2001-01-01T00:00:00Z&{key}"
    ).get_json()
    assert dated == []
    assert client.get(f"{BASE}/requests.json?start_date=yesterday&{key}").status_code == 400


def test_xml_has_the_spec_element_names(client, world, make, leader_key):
    make.problem(world.co, title="Rubbish", category="waste", latitude=11.5, longitude=104.9)
    db.session.commit()
    r = client.get(f"{BASE}/requests.xml?api_key={leader_key}")
    assert r.mimetype == "text/xml"
    root = ET.fromstring(r.data)  # noqa: S314
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request.findtext("service_code") == "waste"
    assert request.findtext("lat") == "11.5" and request.findtext("long") == "104.9"
    assert request.findtext("agency_responsible") == "Phnom Penh"
    missing = ET.fromstring(  # noqa: S314
        client.get(f"{BASE}/requests/424242.xml?api_key={leader_key}").data
    )
    assert missing.tag == "errors" and missing.find("error").findtext("code") == "404"


def test_discovery(client):
    doc = client.get(f"{BASE}/discovery.json").get_json()
    assert doc["endpoints"][0]["url"].endswith("/open311/v2")
    assert "text/xml" in doc["endpoints"][0]["formats"]
