"""Every writing API route asks ``can`` before it reads the body, in the pages' order: a
caller who may not act gets 403 (or 404), never a 422 that would tell them about the row.

The routes come from the app's ``url_map``, so a new writing route fails here until its
expectation is written down below (and its ``guard`` declared: a writing route without one is
refused to everybody)."""

from datetime import timedelta

import pytest

from consult.api.common import WRITES, check_access
from consult.core.db import utcnow
from consult.core.enums import ProposalState
from consult.extensions import db
from consult.open311 import service as open311
from consult.priorities import service as priorities
from consult.proposals.models import ProposalVersion
from tests.test_api import API, Caller, token_for

#: endpoint -> (who may, who may not, its body: "needed", "optional" — every field may be left
#: out — or None). Roles are the world's.
EXPECTED = {
    "api_auth.revoke_token": ("leader", ("member", "other_member"), None),
    "api_communities.log_meeting": ("leader", ("member", "other_member"), "needed"),
    "api_communities.issue_open311_key": ("leader", ("member", "other_member"), "optional"),
    "api_communities.revoke_open311_key": ("leader", ("member", "other_member"), None),
    "api_communities.report_problem": ("member", ("other_member",), "needed"),
    "api_communities.draft_proposal": ("leader", ("member", "other_member"), "needed"),
    "api_priorities.open_priority_round": ("leader", ("member", "other_member"), "needed"),
    "api_priorities.give_points": ("member", ("other_member",), "needed"),
    "api_priorities.close_priority_round": ("leader", ("member", "other_member"), None),
    "api_proposals.update_proposal": ("leader", ("member", "other_member"), "optional"),
    "api_proposals.transition": ("leader", ("other_member",), "needed"),
    "api_proposals.vote": ("member", ("other_member", "officer"), "needed"),
    "api_proposals.post_message": ("leader", ("other_member",), "needed"),
    "api_proposals.post_update": ("officer", ("member", "other_member"), "needed"),
}

#: the one writing route anybody may call: getting a token
PUBLIC = {"api_auth.token"}


def _writing_routes(app) -> list[tuple[str, str, str]]:
    return sorted(
        (method, rule.rule, rule.endpoint)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API + "/")
        for method in rule.methods & WRITES
    )


@pytest.fixture
def objects(world, make, client):
    """One object of each kind a writing route names, in a state where its allowed caller
    may act, plus the leader's token id (for revoking)."""
    draft = make.proposal(world.co)
    submitted = make.proposal(world.co, state=ProposalState.UNDER_REVIEW, submitted_at=utcnow())
    db.session.add(
        ProposalVersion(proposal=submitted, number=1, reason="submitted", **submitted.terms())
    )
    works = make.proposal(world.co, state=ProposalState.IN_PROGRESS, submitted_at=utcnow())
    make.problem(world.co)
    rnd = priorities.open_round(
        world.co, by=world.leader, title="Priorities", closes_at=utcnow() + timedelta(days=3)
    )
    key, _secret = open311.issue_key(world.co, by=world.leader, name="City system")
    db.session.commit()
    callers = {
        role: Caller(client, token_for(client, getattr(world, role)))
        for role in ("leader", "member", "other_member", "officer")
    }
    from consult.api.models import ApiToken

    leader_token = db.session.query(ApiToken).filter_by(user_id=world.leader.id).first()
    return {
        "callers": callers,
        "co_id": world.co.id,
        "round_id": rnd.id,
        "key_id": key.id,
        "token_id": leader_token.id,
        "proposals": {
            "api_proposals.update_proposal": draft.id,
            "api_proposals.transition": draft.id,
            "api_proposals.vote": draft.id,
            "api_proposals.post_message": submitted.id,
            "api_proposals.post_update": works.id,
        },
    }


def _path(rule: str, endpoint: str, objects) -> str:
    values = {
        "co_id": objects["co_id"],
        "round_id": objects["round_id"],
        "key_id": objects["key_id"],
        "token_id": objects["token_id"],
        "proposal_id": objects["proposals"].get(endpoint),
    }
    path = rule.removeprefix(API)
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", str(value))
    assert "<" not in path, path
    return path


def test_every_writing_route_has_its_expectation(app):
    endpoints = {endpoint for _m, _r, endpoint in _writing_routes(app)}
    assert endpoints == set(EXPECTED) | PUBLIC


def test_every_writing_route_declares_its_guard(app):
    """The declaration is what :func:`check_access` acts on; without it the route is
    refused to everybody (fail-closed)."""
    for _method, _rule, endpoint in _writing_routes(app):
        if endpoint not in PUBLIC:
            assert getattr(app.view_functions[endpoint], "api_guard", None), endpoint
    for blueprint in app.blueprints.values():
        if blueprint.name.startswith("api_"):
            assert check_access in app.before_request_funcs.get(blueprint.name, [])


def test_refused_callers_get_403_or_404_never_422(app, objects):
    for method, rule, endpoint in _writing_routes(app):
        if endpoint in PUBLIC:
            continue
        _allowed, refused, _body = EXPECTED[endpoint]
        path = _path(rule, endpoint, objects)
        for role in refused:
            r = getattr(objects["callers"][role], method.lower())(path, json={})
            assert r.status_code in (403, 404), (method, path, role, r.status_code)
            assert r.get_json()["error"]["code"] in ("forbidden", "not_found")


def test_the_allowed_caller_with_an_empty_body_gets_422_with_the_json_error(app, objects):
    for method, rule, endpoint in _writing_routes(app):
        allowed, _refused, body = EXPECTED.get(endpoint, (None, (), None))
        if body is None:
            continue  # nothing to validate: an empty call would simply act
        path = _path(rule, endpoint, objects)
        caller = objects["callers"][allowed]
        # an empty object is a valid "optional" body: send what is no object at all
        r = getattr(caller, method.lower())(path, json={} if body == "needed" else [])
        assert r.status_code == 422, (method, path, allowed, r.status_code, r.get_json())
        error = r.get_json()["error"]
        assert error["code"] == "invalid" and error["message"], (path, error)


def test_a_missing_object_is_404_before_the_body_is_read(objects):
    leader = objects["callers"]["leader"]
    for path in ("/proposals/424242/transitions", "/communities/424242/problems"):
        r = leader.post(path, json={})
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_a_writing_route_without_a_guard_is_refused_to_everybody(app, objects):
    """Fail-closed: take the declaration away from one route and even its leader is refused,
    before the view runs."""
    view = app.view_functions["api_priorities.close_priority_round"]
    declared = view.api_guard
    del view.api_guard
    try:
        leader = objects["callers"]["leader"]
        r = leader.post(f"/priority-rounds/{objects['round_id']}/close")
        assert r.status_code == 403
    finally:
        view.api_guard = declared
