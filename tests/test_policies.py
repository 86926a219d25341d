"""Policy decisions for each role: who may do what to which object (``can``)."""

import pytest
from sqlalchemy.exc import IntegrityError

from consult.core.db import utcnow
from consult.core.enums import ProposalState, VoteChoice
from consult.core.permissions import can
from consult.extensions import db
from consult.votes.models import Vote, VoteRound
from consult.votes.service import fill_roll

ROLES = [
    "leader",
    "member",
    "other_leader",
    "other_member",
    "officer",
    "other_officer",
    "staff",
    "admin",
    "outsider",
]


def _expect(allowed: set[str]) -> list[tuple[str, bool]]:
    return [(role, role in allowed) for role in ROLES]


CO_RULES = {
    "view": {"leader", "member", "officer", "staff", "admin"},
    "view_internal": {"leader", "member", "staff", "admin"},
    "report_problem": {"leader", "member"},
    "log_meeting": {"leader"},
    "draft_proposal": {"leader"},
    "manage_members": {"leader"},
    "edit_rules": {"leader"},
}


@pytest.mark.parametrize("action", CO_RULES)
def test_community_organisation_rules(world, action):
    for role, expected in _expect(CO_RULES[action]):
        assert can(getattr(world, role), action, world.co) is expected, (role, action)


def test_inbox_is_for_the_municipality_and_staff(world):
    for role, expected in _expect({"officer", "staff", "admin"}):
        assert can(getattr(world, role), "view_inbox", world.municipality) is expected, role


def test_site_wide_rules(world):
    for role, expected in _expect({"staff", "admin"}):
        assert can(getattr(world, role), "view_dashboard") is expected, role
        assert can(getattr(world, role), "invite") is expected, role
    for role, expected in _expect({"admin"}):
        assert can(getattr(world, role), "manage_municipalities") is expected, role


def test_draft_proposal_is_private_to_the_co(world, make):
    p = make.proposal(world.co)
    db.session.commit()
    for role, expected in _expect({"leader", "member", "staff", "admin"}):
        assert can(getattr(world, role), "view", p) is expected, role
    for role, expected in _expect({"leader"}):
        assert can(getattr(world, role), "edit", p) is expected, role
        assert can(getattr(world, role), "open_vote", p) is expected, role


def test_submitted_proposal_is_seen_by_its_municipality_only(world, make):
    p = make.proposal(world.co, state=ProposalState.SUBMITTED)
    db.session.commit()
    for role, expected in _expect({"leader", "member", "officer", "staff", "admin"}):
        assert can(getattr(world, role), "view", p) is expected, role
    for role, expected in _expect({"officer"}):
        assert can(getattr(world, role), "acknowledge", p) is expected, role
        assert can(getattr(world, role), "decline", p) is expected, role
    for role, expected in _expect({"leader"}):
        assert can(getattr(world, role), "withdraw", p) is expected, role
    # members may follow the thread but not write in it
    assert can(world.member, "view_thread", p)
    assert not can(world.member, "write", p)
    assert can(world.leader, "write", p) and can(world.officer, "write", p)


def test_only_members_vote_while_voting(world, make):
    p = make.proposal(world.co, state=ProposalState.VOTING)
    db.session.commit()
    for role, expected in _expect({"leader", "member"}):
        assert can(getattr(world, role), "vote", p) is expected, role
    p.state = ProposalState.APPROVED
    assert not can(world.member, "vote", p)
    assert can(world.leader, "submit", p)
    assert not can(world.member, "submit", p)


def test_implementation_is_recorded_by_the_municipality_or_staff(world, make):
    p = make.proposal(world.co, state=ProposalState.AGREED)
    db.session.commit()
    for role, expected in _expect({"officer", "staff", "admin"}):
        assert can(getattr(world, role), "start", p) is expected, role


def test_anonymous_and_disabled_users_may_nothing(world):
    from flask_login import AnonymousUserMixin

    assert not can(AnonymousUserMixin(), "view", world.co)
    assert not can(None, "view", world.co)
    world.leader.active = False
    assert not can(world.leader, "view", world.co)


def test_unknown_action_is_refused(world):
    assert not can(world.admin, "launch_rockets", world.co)


def test_database_refuses_a_second_vote_by_the_same_member(world, make):
    p = make.proposal(world.co, state=ProposalState.VOTING)
    now = utcnow()
    rnd = VoteRound(
        proposal=p, opened_at=now, closes_at=now, quorum_percent=50, threshold_percent=50
    )
    db.session.add(rnd)
    db.session.flush()
    fill_roll(rnd, world.co.id)  # the member is on the roll, so only the second vote fails
    membership = world.member.membership_in(world.co.id)
    db.session.add(Vote(round=rnd, membership_id=membership.id, choice=VoteChoice.YES, cast_at=now))
    db.session.commit()
    db.session.add(Vote(round=rnd, membership_id=membership.id, choice=VoteChoice.NO, cast_at=now))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
