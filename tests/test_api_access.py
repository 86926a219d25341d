"""The same role × object refusals through the API as on the pages: the expectations are
the web's own (``tests/test_policies.py``), each checked against the API call that needs it."""

from datetime import timedelta

import pytest

from consult.core.db import utcnow
from consult.core.enums import ProposalState
from consult.extensions import db
from tests.test_api import Caller, token_for
from tests.test_policies import CO_RULES, ROLES, _expect


@pytest.fixture
def callers(world, client):
    return {role: Caller(client, token_for(client, getattr(world, role))) for role in ROLES}


def _allowed(r) -> bool:
    """Refused is 403; anything else (done, or a rule of the service saying "not now")
    means the policy let the caller through."""
    assert r.status_code != 401 and r.status_code < 500, r.get_json()
    return r.status_code != 403


def _co_calls(co_id: int, make, world):
    held = (utcnow() - timedelta(days=1)).isoformat()
    lane = {
        "title": "Lane",
        "infrastructure_type": "concrete_lane",
        "estimated_cost": "10",
        "amount_requested": "10",
    }
    return {
        "view": lambda c: c.get(f"/communities/{co_id}"),
        "view_internal": lambda c: c.get(f"/communities/{co_id}/priority-rounds"),
        "report_problem": lambda c: c.post(
            f"/communities/{co_id}/problems", json={"title": "Tap", "category": "water"}
        ),
        "log_meeting": lambda c: c.post(f"/communities/{co_id}/meetings", json={"held_at": held}),
        "draft_proposal": lambda c: c.post(f"/communities/{co_id}/proposals", json=lane),
    }


@pytest.mark.parametrize(
    "action", ["view", "view_internal", "report_problem", "log_meeting", "draft_proposal"]
)
def test_community_rules_hold_through_the_api(world, make, callers, action):
    call = _co_calls(world.co.id, make, world)[action]
    for role, expected in _expect(CO_RULES[action]):
        assert _allowed(call(callers[role])) is expected, (role, action)


def test_draft_proposal_is_private_to_the_co(world, make, callers):
    p = make.proposal(world.co)
    db.session.commit()
    for role, expected in _expect({"leader", "member", "staff", "admin"}):
        assert _allowed(callers[role].get(f"/proposals/{p.id}")) is expected, role
    for role, expected in _expect({"leader"}):
        r = callers[role].patch(f"/proposals/{p.id}", json={"timeline": "2 months"})
        assert _allowed(r) is expected, role


def test_submitted_proposal_is_seen_and_answered_by_its_municipality_only(world, make, callers):
    p = make.proposal(world.co, state=ProposalState.SUBMITTED)
    db.session.commit()
    path = f"/proposals/{p.id}"
    for role, expected in _expect({"leader", "member", "officer", "staff", "admin"}):
        assert _allowed(callers[role].get(path)) is expected, role
        assert _allowed(callers[role].get(f"{path}/messages")) is expected, role
    for action in ("decline", "withdraw"):
        allowed = {"decline": {"officer"}, "withdraw": {"leader"}}[action]
        for role, expected in _expect(allowed):
            r = callers[role].post(f"{path}/transitions", json={"action": action})
            assert _allowed(r) is expected, (role, action)
    # members follow the thread but do not write in it
    for role, expected in _expect({"leader", "officer"}):
        r = callers[role].post(f"{path}/messages", json={"kind": "comment", "body": "Hello"})
        assert _allowed(r) is expected, role


def test_only_members_vote_while_voting(world, make, callers):
    p = make.proposal(world.co, state=ProposalState.VOTING)
    db.session.commit()
    for role, expected in _expect({"leader", "member"}):
        r = callers[role].put(f"/proposals/{p.id}/vote", json={"choice": "yes"})
        assert _allowed(r) is expected, role


def test_implementation_is_started_by_the_municipality_or_staff(world, make, callers):
    p = make.proposal(world.co, state=ProposalState.AGREED)
    db.session.commit()
    for role, expected in _expect({"officer", "staff", "admin"}):
        r = callers[role].post(f"/proposals/{p.id}/transitions", json={"action": "start"})
        assert _allowed(r) is expected, role


def test_site_wide_rules(world, callers):
    for role, expected in _expect({"staff", "admin"}):
        assert _allowed(callers[role].get("/stats")) is expected, role
