"""Role × route matrix: every route of ``url_map`` (pages, the JSON API with each role's bearer
token, Open311), every role, objects of the roles' own CO and
municipality (same scope) and of another one's (``other_*`` roles) → the expected status.

The expectations are the table below, one line per route and method; a route missing from it
(a new one) or gone from the app fails the test, so each new route gets its line — and a
reviewer sees who may reach it. Statuses, in ``ROLES`` order: anonymous visitors are sent to log
in (302), refusals are 403, successes 200 (a page) or 302 (a done action, or a form without
data sent back). To print the table for the code as it is: ``MATRIX_PRINT=1 pytest -s`` here.
"""

import os
import re

import pytest
from flask import current_app
from sqlalchemy import select

from consult.core.enums import ProposalState
from consult.extensions import db
from consult.negotiation import offers as negotiation
from consult.notifications.models import Notification
from consult.priorities import service as priorities
from consult.proposals.models import ProposalVersion
from tests.factories import PASSWORD

ROLES = [
    "anonymous",
    "outsider",
    "other_member",
    "other_leader",
    "other_officer",
    "member",
    "officer",
    "staff",
    "admin",
    "leader",
]

# fmt: off
EXPECTED = {
    "GET /": "200 200 302 302 302 302 302 302 302 302",
    "GET /account/password": "302 200 200 200 200 200 200 200 200 200",
    "GET /admin/": "302 403 403 403 403 403 403 403 200 403",
    "GET /admin/municipalities": "302 403 403 403 403 403 403 403 200 403",
    "GET /admin/municipalities/<int:municipality_id>/edit": "302 403 403 403 403 403 403 403 200 403",
    "GET /admin/municipalities/new": "302 403 403 403 403 403 403 403 200 403",
    "GET /admin/people": "302 403 403 403 403 403 403 403 200 403",
    "GET /admin/people/<int:user_id>": "302 403 403 403 403 403 403 403 200 403",
    "GET /api/v1/auth/tokens": "401 200 200 200 200 200 200 200 200 200",
    "GET /api/v1/communities": "401 200 200 200 200 200 200 200 200 200",
    "GET /api/v1/communities/<int:co_id>": "401 403 403 403 403 200 200 200 200 200",
    "GET /api/v1/communities/<int:co_id>/meetings": "401 403 403 403 403 200 403 200 200 200",
    "GET /api/v1/communities/<int:co_id>/open311-keys": "401 403 403 403 403 403 403 403 403 200",
    "GET /api/v1/communities/<int:co_id>/priority-rounds": "401 403 403 403 403 200 403 200 200 200",
    "GET /api/v1/communities/<int:co_id>/problems": "401 403 403 403 403 200 200 200 200 200",
    "GET /api/v1/communities/<int:co_id>/proposals": "401 403 403 403 403 200 200 200 200 200",
    "GET /api/v1/me": "401 200 200 200 200 200 200 200 200 200",
    "GET /api/v1/openapi.json": "200 200 200 200 200 200 200 200 200 200",
    "GET /api/v1/priority-rounds/<int:round_id>": "401 403 403 403 403 200 403 200 200 200",
    "GET /api/v1/proposals/<int:proposal_id>": "401 403 403 403 403 200 200 200 200 200",
    "GET /api/v1/proposals/<int:proposal_id>/messages": "401 403 403 403 403 200 200 200 200 200",
    "GET /api/v1/proposals/<int:proposal_id>/updates": "401 403 403 403 403 403 403 403 403 403",
    "GET /api/v1/stats": "401 403 403 403 403 403 403 200 200 403",
    "GET /api/v1/users/<int:user_id>/tokens": "401 403 403 403 403 403 403 403 200 403",
    "GET /attachments/<int:attachment_id>": "302 404 404 404 404 404 404 404 404 404",
    "GET /attachments/<int:attachment_id>/thumbnail": "302 404 404 404 404 404 404 404 404 404",
    "GET /co/<int:co_id>": "302 403 403 403 403 200 200 200 200 200",
    "GET /co/<int:co_id>/meetings": "302 403 403 403 403 200 403 200 200 200",
    "GET /co/<int:co_id>/meetings/new": "302 403 403 403 403 403 403 403 403 200",
    "GET /co/<int:co_id>/members": "302 403 403 403 403 200 403 200 200 200",
    "GET /co/<int:co_id>/members/<int:membership_id>/leave": "302 403 403 403 403 403 403 403 403 200",
    "GET /co/<int:co_id>/priorities": "302 403 403 403 403 200 403 200 200 200",
    "GET /co/<int:co_id>/priorities/new": "302 403 403 403 403 403 403 403 403 200",
    "GET /co/<int:co_id>/problems": "302 403 403 403 403 200 200 200 200 200",
    "GET /co/<int:co_id>/problems/new": "302 403 403 403 403 200 403 403 403 200",
    "GET /co/<int:co_id>/proposals": "302 403 403 403 403 200 200 200 200 200",
    "GET /co/<int:co_id>/proposals/new": "302 403 403 403 403 403 403 403 403 200",
    "GET /co/<int:co_id>/rules": "302 403 403 403 403 403 403 403 403 200",
    "GET /favicon.ico": "200 200 200 200 200 200 200 200 200 200",
    "GET /healthz": "200 200 200 200 200 200 200 200 200 200",
    "GET /invitation/<token>": "404 404 404 404 404 404 404 404 404 404",
    "GET /login": "200 302 302 302 302 302 302 302 302 302",
    "GET /meetings/<int:meeting_id>": "302 403 403 403 403 200 403 200 200 200",
    "GET /meetings/<int:meeting_id>/edit": "302 403 403 403 403 403 403 403 403 200",
    "GET /monitoring/": "302 403 403 403 403 403 403 200 200 403",
    "GET /monitoring/charts.css": "302 200 200 200 200 200 200 200 200 200",
    "GET /monitoring/co/<int:co_id>": "302 403 403 403 403 200 403 200 200 200",
    "GET /monitoring/export/<name>.csv": "302 403 403 403 403 403 403 200 200 403",
    "GET /monitoring/map": "302 403 403 403 403 403 403 200 200 403",
    "GET /monitoring/municipality/<int:municipality_id>": "302 403 403 403 403 403 200 200 200 403",
    "GET /municipalities/<int:municipality_id>/inbox": "302 403 403 403 403 403 200 200 200 403",
    "GET /notifications": "302 200 200 200 200 200 200 200 200 200",
    "GET /open311/v2/discovery.<any(json,xml):fmt>": "200 200 200 200 200 200 200 200 200 200",
    "GET /open311/v2/requests.<any(json,xml):fmt>": "403 403 403 403 403 403 403 403 403 403",
    "GET /open311/v2/requests/<int:request_id>.<any(json,xml):fmt>": "403 403 403 403 403 403 403 403 403 403",
    "GET /open311/v2/services.<any(json,xml):fmt>": "200 200 200 200 200 200 200 200 200 200",
    "GET /open311/v2/services/<code>.<any(json,xml):fmt>": "200 200 200 200 200 200 200 200 200 200",
    "GET /people/invite": "302 403 403 403 403 403 403 200 200 403",
    "GET /places": "302 403 403 403 403 403 403 200 200 403",
    "GET /places/cos/<int:co_id>/edit": "302 403 403 403 403 403 403 200 200 403",
    "GET /places/municipalities/<int:municipality_id>": "302 403 403 403 403 403 200 200 200 403",
    "GET /places/municipalities/<int:municipality_id>/settlements/new": "302 403 403 403 403 403 403 200 200 403",
    "GET /places/settlements/<int:settlement_id>/cos/new": "302 403 403 403 403 403 403 200 200 403",
    "GET /places/settlements/<int:settlement_id>/edit": "302 403 403 403 403 403 403 200 200 403",
    "GET /priorities/<int:round_id>": "302 403 403 403 403 200 403 200 200 200",
    "GET /priorities/<int:round_id>/close": "302 403 403 403 403 403 403 403 403 200",
    "GET /priorities/<int:round_id>/tally": "302 403 403 403 403 403 403 403 403 200",
    "GET /problems/<int:problem_id>": "302 403 403 403 403 200 200 200 200 200",
    "GET /problems/<int:problem_id>/edit": "302 403 403 403 403 403 403 403 403 200",
    "GET /proposals/<int:proposal_id>": "302 403 403 403 403 200 200 200 200 200",
    "GET /proposals/<int:proposal_id>/audit": "302 403 403 403 403 403 403 200 200 200",
    "GET /proposals/<int:proposal_id>/edit": "302 403 403 403 403 403 403 403 403 302",
    "GET /proposals/<int:proposal_id>/implementation": "302 403 403 403 403 403 403 403 403 403",
    "GET /proposals/<int:proposal_id>/implementation/complete": "302 403 403 403 403 403 403 403 403 403",
    "GET /proposals/<int:proposal_id>/implementation/start": "302 403 403 403 403 403 403 403 403 403",
    "GET /proposals/<int:proposal_id>/submit": "302 403 403 403 403 403 403 403 403 200",
    "GET /proposals/<int:proposal_id>/tally": "302 403 403 403 403 403 403 403 403 302",
    "GET /proposals/<int:proposal_id>/thread": "302 403 403 403 403 200 200 200 200 200",
    "GET /proposals/<int:proposal_id>/thread/offers/<int:message_id>/vote/close": "302 403 403 403 403 403 403 403 403 200",
    "GET /proposals/<int:proposal_id>/thread/offers/<int:message_id>/tally": "302 404 404 404 404 404 404 404 404 404",
    "GET /proposals/<int:proposal_id>/versions/<int:number>": "302 403 403 403 403 200 200 200 200 200",
    "GET /proposals/<int:proposal_id>/versions/<int:number>/dossier": "302 403 403 403 403 200 200 200 200 200",
    "GET /proposals/<int:proposal_id>/versions/compare": "302 403 403 403 403 200 200 200 200 200",
    "GET /proposals/<int:proposal_id>/vote/close": "302 403 403 403 403 403 403 403 403 200",
    "GET /proposals/<int:proposal_id>/vote/open": "302 403 403 403 403 403 403 403 403 302",
    "GET /proposals/<int:proposal_id>/withdraw": "302 403 403 403 403 403 403 403 403 200",
    "GET /static/<path:filename>": "200 200 200 200 200 200 200 200 200 200",
    "POST /account/password": "302 200 200 200 200 200 200 200 200 200",
    "POST /admin/municipalities/<int:municipality_id>/edit": "302 403 403 403 403 403 403 403 200 403",
    "POST /admin/municipalities/new": "302 403 403 403 403 403 403 403 200 403",
    "POST /admin/people/<int:user_id>/disable": "302 403 403 403 403 403 403 403 302 403",
    "POST /admin/people/<int:user_id>/enable": "302 403 403 403 403 403 403 403 302 403",
    "POST /admin/people/<int:user_id>/invitation": "302 403 403 403 403 403 403 403 200 403",
    "POST /admin/people/<int:user_id>/role": "302 403 403 403 403 403 403 403 200 403",
    "POST /api/v1/auth/token": "422 422 422 422 422 422 422 422 422 422",
    "DELETE /api/v1/auth/tokens/<int:token_id>": "401 403 403 403 403 403 403 403 204 403",
    "POST /api/v1/communities/<int:co_id>/meetings": "401 403 403 403 403 403 403 403 403 422",
    "POST /api/v1/communities/<int:co_id>/open311-keys": "401 403 403 403 403 403 403 403 403 201",
    "DELETE /api/v1/communities/<int:co_id>/open311-keys/<int:key_id>": "401 403 403 403 403 403 403 403 403 404",
    "POST /api/v1/communities/<int:co_id>/priority-rounds": "401 403 403 403 403 403 403 403 403 422",
    "POST /api/v1/communities/<int:co_id>/problems": "401 403 403 403 403 422 403 403 403 422",
    "POST /api/v1/communities/<int:co_id>/proposals": "401 403 403 403 403 403 403 403 403 422",
    "PUT /api/v1/priority-rounds/<int:round_id>/ballot": "401 403 403 403 403 422 403 403 403 422",
    "POST /api/v1/priority-rounds/<int:round_id>/close": "401 403 403 403 403 403 403 403 403 200",
    "PATCH /api/v1/proposals/<int:proposal_id>": "401 403 403 403 403 403 403 403 403 403",
    "POST /api/v1/proposals/<int:proposal_id>/messages": "401 403 403 403 403 422 422 422 422 422",
    "POST /api/v1/proposals/<int:proposal_id>/transitions": "401 403 403 403 403 422 422 422 422 422",
    "POST /api/v1/proposals/<int:proposal_id>/updates": "401 403 403 403 403 403 403 403 403 403",
    "PUT /api/v1/proposals/<int:proposal_id>/vote": "401 403 403 403 403 422 403 403 403 422",
    "POST /co/<int:co_id>/meetings/new": "302 403 403 403 403 403 403 403 403 200",
    "POST /co/<int:co_id>/members": "302 403 403 403 403 200 403 200 200 200",
    "POST /co/<int:co_id>/members/<int:membership_id>/invitation": "302 403 403 403 403 403 403 403 403 200",
    "POST /co/<int:co_id>/members/<int:membership_id>/leave": "302 403 403 403 403 403 403 403 403 302",
    "POST /co/<int:co_id>/members/<int:membership_id>/role": "302 403 403 403 403 403 403 403 403 302",
    "POST /co/<int:co_id>/priorities/new": "302 403 403 403 403 403 403 403 403 200",
    "POST /co/<int:co_id>/problems/new": "302 403 403 403 403 200 403 403 403 200",
    "POST /co/<int:co_id>/proposals/new": "302 403 403 403 403 403 403 403 403 200",
    "POST /co/<int:co_id>/rules": "302 403 403 403 403 403 403 403 403 200",
    "POST /invitation/<token>": "404 404 404 404 404 404 404 404 404 404",
    "POST /language": "302 302 302 302 302 302 302 302 302 302",
    "POST /login": "200 302 302 302 302 302 302 302 302 302",
    "POST /logout": "302 302 302 302 302 302 302 302 302 302",
    "POST /meetings/<int:meeting_id>/edit": "302 403 403 403 403 403 403 403 403 200",
    "POST /notifications/<int:notification_id>/open": "302 403 403 403 403 302 403 403 403 403",
    "POST /notifications/read": "302 302 302 302 302 302 302 302 302 302",
    "POST /open311/v2/requests.<any(json,xml):fmt>": "403 403 403 403 403 403 403 403 403 403",
    "POST /people/invite": "302 403 403 403 403 403 403 200 200 403",
    "POST /places/cos/<int:co_id>/edit": "302 403 403 403 403 403 403 302 302 403",
    "POST /places/municipalities/<int:municipality_id>/settlements/new": "302 403 403 403 403 403 403 200 200 403",
    "POST /places/settlements/<int:settlement_id>/cos/new": "302 403 403 403 403 403 403 200 200 403",
    "POST /places/settlements/<int:settlement_id>/edit": "302 403 403 403 403 403 403 302 302 403",
    "POST /priorities/<int:round_id>/ballot": "302 403 403 403 403 302 403 403 403 302",
    "POST /priorities/<int:round_id>/close": "302 403 403 403 403 403 403 403 403 302",
    "POST /priorities/<int:round_id>/tally": "302 403 403 403 403 403 403 403 403 200",
    "POST /problems/<int:problem_id>/close": "302 403 403 403 403 403 403 403 403 302",
    "POST /problems/<int:problem_id>/edit": "302 403 403 403 403 403 403 403 403 302",
    "POST /problems/<int:problem_id>/reopen": "302 403 403 403 403 403 403 403 403 302",
    "POST /proposals/<int:proposal_id>/edit": "302 403 403 403 403 403 403 403 403 302",
    "POST /proposals/<int:proposal_id>/implementation/comments": "302 403 403 403 403 403 403 403 403 403",
    "POST /proposals/<int:proposal_id>/implementation/complete": "302 403 403 403 403 403 403 403 403 403",
    "POST /proposals/<int:proposal_id>/implementation/start": "302 403 403 403 403 403 403 403 403 403",
    "POST /proposals/<int:proposal_id>/implementation/updates": "302 403 403 403 403 403 403 403 403 403",
    "POST /proposals/<int:proposal_id>/revise": "302 403 403 403 403 403 403 403 403 302",
    "POST /proposals/<int:proposal_id>/submit": "302 403 403 403 403 403 403 403 403 302",
    "POST /proposals/<int:proposal_id>/tally": "302 403 403 403 403 403 403 403 403 302",
    "POST /proposals/<int:proposal_id>/thread/accept": "302 403 403 403 403 403 200 403 403 403",
    "POST /proposals/<int:proposal_id>/thread/acknowledge": "302 403 403 403 403 403 403 403 403 403",
    "POST /proposals/<int:proposal_id>/thread/counter-offer": "302 403 403 403 403 403 200 403 403 403",
    "POST /proposals/<int:proposal_id>/thread/decline": "302 403 403 403 403 403 200 403 403 403",
    "POST /proposals/<int:proposal_id>/thread/messages": "302 403 403 403 403 403 200 403 403 200",
    "POST /proposals/<int:proposal_id>/thread/offers/<int:message_id>/accept": "302 403 403 403 403 403 403 403 403 302",
    "POST /proposals/<int:proposal_id>/thread/offers/<int:message_id>/reject": "302 403 403 403 403 403 403 403 403 200",
    "POST /proposals/<int:proposal_id>/thread/offers/<int:message_id>/tally": "302 404 404 404 404 404 404 404 404 404",
    "POST /proposals/<int:proposal_id>/thread/offers/<int:message_id>/vote": "302 403 403 403 403 302 403 403 403 302",
    "POST /proposals/<int:proposal_id>/thread/offers/<int:message_id>/vote/close": "302 403 403 403 403 403 403 403 403 302",
    "POST /proposals/<int:proposal_id>/thread/offers/<int:message_id>/vote/open": "302 403 403 403 403 403 403 403 403 200",
    "POST /proposals/<int:proposal_id>/thread/read": "302 403 403 403 403 302 302 302 302 302",
    "POST /proposals/<int:proposal_id>/vote": "302 403 403 403 403 302 403 403 403 302",
    "POST /proposals/<int:proposal_id>/vote/close": "302 403 403 403 403 403 403 403 403 302",
    "POST /proposals/<int:proposal_id>/vote/open": "302 403 403 403 403 403 403 403 403 302",
    "POST /proposals/<int:proposal_id>/withdraw": "302 403 403 403 403 403 403 403 403 200",
}
# fmt: on


def _scene(world, make) -> dict[str, str]:
    """One object of every kind a route names, all of the world's first CO and municipality."""
    p = make.proposal(world.co, state=ProposalState.UNDER_REVIEW)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    v = p.latest_version
    offer = negotiation.counter_offer(
        p,
        world.officer,
        municipal_share=v.amount_requested - 1000000,
        community_cash=v.community_cash + 1000000,
        community_labour=v.community_labour,
    )
    meeting = make.meeting(world.co)
    problem = make.problem(world.co)
    rnd = priorities.current_round(world.co.id) or priorities.open_round(
        world.co, by=world.leader, title="What first?"
    )
    note = Notification(user_id=world.member.id, kind="test", params={}, link="/")
    db.session.add(note)
    db.session.flush()
    # the person an admin disables or a leader removes: not one of the testers
    person = make.member(world.co, name="Someone to manage")
    membership = person.membership_in(world.co.id)
    db.session.commit()
    token_id = _api_token(person)[1]
    return {
        "co_id": str(world.co.id),
        "proposal_id": str(p.id),
        "message_id": str(offer.id),
        "meeting_id": str(meeting.id),
        "problem_id": str(problem.id),
        "round_id": str(rnd.id),
        "municipality_id": str(world.municipality.id),
        "settlement_id": str(world.co.settlement_id),
        "user_id": str(person.id),
        "membership_id": str(membership.id),
        "notification_id": str(note.id),
        "attachment_id": "999999",  # none: the attachment tests check their own access
        "number": "1",
        "name": "proposals",
        "token": "not-a-token",
        "filename": "css/app.css",
        "fmt": "json",
        "code": "water",
        "request_id": str(problem.id),
        "token_id": str(token_id),
        "key_id": "999999",
    }


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _api_token(user) -> tuple[str, int]:
    """A bearer token of ``user`` for the API (its value and id)."""
    from consult.api.models import ApiToken

    client = current_app.test_client()
    r = client.post("/api/v1/auth/token", json={"login": user.login, "password": PASSWORD})
    assert r.status_code == 201, r.get_json()
    token = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    ).first()
    return r.get_json()["token"], token.id


def _url(rule, values) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: values[m.group(1)], rule.rule)


class _Visitor:
    """One role: a browser logged in (pages) and a bearer token (the API)."""

    def __init__(self, app, user, login):
        self.client = app.test_client()
        self.token = None
        if user is not None:
            login(user, self.client)
            self.token = _api_token(user)[0]

    def open(self, method, url):
        headers = {}
        if url.startswith("/api/") and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {"json": {}} if url.startswith("/api/") and method != "GET" else {}
        return self.client.open(url, method=method, headers=headers, **body)


def _visitors(app, world, login, tokens=None) -> dict:
    visitors = {}
    for role in ROLES:
        user = None if role == "anonymous" else getattr(world, role)
        if tokens and role in tokens:  # keep the token made once for the test
            visitor = _Visitor(app, None, login)
            login(user, visitor.client)
            visitor.token = tokens[role]
        else:
            visitor = _Visitor(app, user, login)
        visitors[role] = visitor
    return visitors


def _key(method, rule) -> str:
    return f"{method} {rule.rule}"


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in METHODS:
            if method in rule.methods:
                yield method, rule


def _statuses(visitors, method, url) -> str:
    return " ".join(str(visitors[role].open(method, url).status_code) for role in ROLES)


def _check(found: dict) -> None:
    if os.environ.get("MATRIX_PRINT"):
        for key, statuses in found.items():
            print(f'    "{key}": "{statuses}",')
        return
    wrong = [
        f"{key}\n   expected {EXPECTED[key]}\n   got      {statuses}"
        for key, statuses in found.items()
        if key in EXPECTED and statuses != EXPECTED[key]
    ]
    assert not wrong, "\n".join(wrong)


def test_every_route_has_its_line(app):
    keys = {_key(method, rule) for method, rule in _routes(app)}
    if os.environ.get("MATRIX_PRINT"):
        pytest.skip("printing the table")
    assert sorted(keys - set(EXPECTED)) == [], "routes without a line in EXPECTED"
    assert sorted(set(EXPECTED) - keys) == [], "lines for routes that no longer exist"


def test_get_routes(app, world, make, login):
    values = _scene(world, make)
    visitors = _visitors(app, world, login)
    found = {
        _key(method, rule): _statuses(visitors, method, _url(rule, values))
        for method, rule in _routes(app)
        if method == "GET"
    }
    _check(found)


def test_routes_that_change_something(app, world, make, login):
    """Each route on a scene of its own (an allowed action changes it), roles in order."""
    first = _visitors(app, world, login)
    tokens = {role: v.token for role, v in first.items() if v.token}
    found = {}
    for method, rule in _routes(app):
        if method == "GET":
            continue
        values = _scene(world, make)
        visitors = _visitors(app, world, login, tokens)
        found[_key(method, rule)] = _statuses(visitors, method, _url(rule, values))
    _check(found)
