"""Proposals: drafting, editing, submission, revision, withdrawal, versions, the page."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from consult.audit.models import AuditEvent
from consult.core.db import utcnow
from consult.core.enums import ProblemStatus, ProposalState, VoteChoice
from consult.core.formatting import local_datetime
from consult.extensions import db
from consult.notifications.models import Notification
from consult.proposals import service
from consult.proposals.models import Proposal, ProposalVersion
from consult.votes.models import VoteRound


def _form(**overrides):
    data = {
        "title": "Concrete lane, block 3",
        "infrastructure_type": "concrete_lane",
        "description": "120 m of lane, 3 m wide, with a side drain.",
        "location": "Block 3, behind the pagoda",
        "latitude": "11.5564",
        "longitude": "104.9282",
        "estimated_cost": "40,000,000",
        "amount_requested": "34,000,000",
        "community_cash": "2000000",
        "community_labour": "4000000",
        "households_benefiting": "60",
        "timeline": "3 months",
    }
    data.update(overrides)
    return data


def _terms(**overrides):
    t = {
        "title": "Footbridge",
        "infrastructure_type": "footbridge",
        "estimated_cost": Decimal("100"),
        "amount_requested": Decimal("70"),
        "community_cash": Decimal("10"),
        "community_labour": Decimal("20"),
    }
    t.update(overrides)
    return t


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _actions(proposal_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.proposal_id == proposal_id)
            .order_by(AuditEvent.id)
        )
    )


# --- drafting -------------------------------------------------------------------------------


def test_leader_drafts_a_proposal(world, make, client, login):
    lane = make.problem(world.co, title="Flooded lane")
    make.problem(world.co, title="Old problem", status=ProblemStatus.RESOLVED)
    db.session.commit()
    login(world.leader)
    page = client.get(f"/co/{world.co.id}/proposals/new")
    assert page.status_code == 200
    assert b"Flooded lane" in page.data and b"Old problem" not in page.data
    assert b"KHR" in page.data
    r = client.post(f"/co/{world.co.id}/proposals/new", data=_form(problems=[lane.id]))
    assert r.status_code == 302
    p = db.session.scalar(select(Proposal))
    assert p.state == ProposalState.DRAFT
    assert (p.co_id, p.municipality_id, p.currency) == (world.co.id, world.municipality.id, "KHR")
    assert p.estimated_cost == Decimal("40000000")
    assert isinstance(p.amount_requested, Decimal)
    assert p.amount_requested + p.community_share == p.estimated_cost
    assert [pr.id for pr in p.problems] == [lane.id]
    assert p.latitude == pytest.approx(11.5564)
    assert _actions(p.id) == ["proposal.created"]
    shown = client.get(r.headers["Location"])
    assert b"34,000,000" in shown.data  # money formatted (riel: no cents)
    assert b"Flooded lane" in shown.data


def test_money_that_does_not_add_up_is_refused_on_the_field(world, client, login):
    login(world.leader)
    r = client.post(f"/co/{world.co.id}/proposals/new", data=_form(estimated_cost="45000000"))
    assert r.status_code == 200
    assert b"add up to" in r.data and b"not the estimated cost" in r.data
    assert b'value="Concrete lane, block 3"' in r.data  # what was typed is kept
    assert b'value="45000000"' in r.data
    assert _count(Proposal) == 0


def test_negative_amounts_are_refused(world, client, login):
    login(world.leader)
    r = client.post(
        f"/co/{world.co.id}/proposals/new",
        data=_form(community_cash="-5"),
    )
    assert r.status_code == 200
    assert b"cannot be negative" in r.data
    assert _count(Proposal) == 0


def test_service_refuses_a_problem_of_another_co(world, make):
    theirs = make.problem(world.other_co)
    with pytest.raises(service.ProposalError) as refused:
        service.draft_proposal(world.co, world.leader, _terms(), [theirs])
    assert refused.value.field == "problems"


def test_route_refuses_a_problem_of_another_co(world, make, client, login):
    theirs = make.problem(world.other_co)
    db.session.commit()
    login(world.leader)
    r = client.post(f"/co/{world.co.id}/proposals/new", data=_form(problems=[theirs.id]))
    assert r.status_code == 200
    assert _count(Proposal) == 0


def test_service_checks_the_sum(world):
    with pytest.raises(service.ProposalError) as refused:
        service.draft_proposal(world.co, world.leader, _terms(community_labour=Decimal("25")))
    assert refused.value.field == "estimated_cost"
    assert "105" in str(refused.value)


def test_member_cannot_draft_or_edit(world, make, client, login):
    p = make.proposal(world.co)
    db.session.commit()
    login(world.member)
    assert client.get(f"/co/{world.co.id}/proposals/new").status_code == 403
    assert client.post(f"/co/{world.co.id}/proposals/new", data=_form()).status_code == 403
    assert client.get(f"/proposals/{p.id}/edit").status_code == 403
    login(world.other_leader)
    assert client.get(f"/co/{world.co.id}/proposals/new").status_code == 403


def test_leader_edits_a_draft(world, make, client, login):
    p = make.proposal(world.co)
    db.session.commit()
    login(world.leader)
    page = client.get(f"/proposals/{p.id}/edit")
    assert page.status_code == 200 and p.title.encode() in page.data
    r = client.post(f"/proposals/{p.id}/edit", data=_form(title="Wider lane"))
    assert r.status_code == 302
    db.session.expire_all()
    assert p.title == "Wider lane"
    edited = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "proposal.edited"))
    assert edited.detail["changes"]["title"][1] == "Wider lane"


def test_editing_a_submitted_proposal_is_refused_with_a_message(world, make, client, login):
    p = make.proposal(world.co, state=ProposalState.SUBMITTED)
    db.session.commit()
    login(world.leader)
    r = client.post(f"/proposals/{p.id}/edit", data=_form(), follow_redirects=True)
    assert b"Only a draft can be edited" in r.data
    db.session.expire_all()
    assert p.title != "Concrete lane, block 3"


# --- submission -----------------------------------------------------------------------------


def test_submit_makes_version_one_and_opens_it_to_the_municipality(world, make, client, login):
    lane = make.problem(world.co)
    p = make.proposal(world.co, state=ProposalState.APPROVED)
    p.problems = [lane]
    db.session.commit()
    login(world.officer)
    assert client.get(f"/proposals/{p.id}").status_code == 403  # not submitted yet
    login(world.leader)
    r = client.post(f"/proposals/{p.id}/submit", follow_redirects=True)
    assert b"as version 1" in r.data
    db.session.expire_all()
    assert p.state == ProposalState.SUBMITTED and p.submitted_at is not None
    (v,) = p.versions
    assert (v.number, v.reason, v.created_by_id) == (1, "submitted", world.leader.id)
    assert v.terms() == p.terms()
    assert lane.status == ProblemStatus.ADDRESSED
    told = db.session.scalars(
        select(Notification).where(Notification.kind == "proposal.submitted")
    ).all()
    assert [n.user_id for n in told] == [world.officer.id]
    assert told[0].params == {"co": world.co.name, "title": p.title}
    login(world.officer)
    assert client.get(f"/proposals/{p.id}").status_code == 200
    assert client.get(f"/proposals/{p.id}/versions/1").status_code == 200
    login(world.other_officer)
    assert client.get(f"/proposals/{p.id}").status_code == 403
    assert client.get(f"/proposals/{p.id}/versions/1").status_code == 403


def test_member_cannot_submit(world, make, client, login):
    p = make.proposal(world.co, state=ProposalState.APPROVED)
    db.session.commit()
    login(world.member)
    assert client.post(f"/proposals/{p.id}/submit").status_code == 403
    db.session.expire_all()
    assert p.state == ProposalState.APPROVED and _count(ProposalVersion) == 0


def test_submitting_a_draft_is_refused_with_the_workflow_message(world, make, client, login):
    p = make.proposal(world.co)
    db.session.commit()
    login(world.leader)
    r = client.post(f"/proposals/{p.id}/submit", follow_redirects=True)
    assert r.status_code == 200
    assert "“Submit to municipality” is not possible while the proposal is Draft.".encode() in (
        r.data
    )
    db.session.expire_all()
    assert p.state == ProposalState.DRAFT and p.submitted_at is None
    assert _count(ProposalVersion) == 0


def test_resubmission_after_revision_makes_version_two(world, make):
    p = make.proposal(world.co, state=ProposalState.APPROVED)
    service.submit(p, world.leader)
    first = p.submitted_at
    p.state = ProposalState.DECLINED  # the officer's part, done by hand here
    service.revise(p, world.leader)
    assert p.state == ProposalState.DRAFT
    p.state = ProposalState.APPROVED  # after a new vote
    v2 = service.submit(p, world.leader)
    assert v2.number == 2 and p.submitted_at == first


def test_a_saved_version_cannot_be_changed_or_deleted(world, make):
    p = make.proposal(world.co, state=ProposalState.APPROVED)
    v = service.submit(p, world.leader)
    db.session.commit()
    v.agreed_at = utcnow()  # the municipality agreeing to this version: allowed, once
    v.agreed_by_id = world.officer.id
    db.session.commit()
    v.amount_requested = Decimal("1")
    with pytest.raises(service.VersionIsImmutable):
        db.session.flush()
    db.session.rollback()
    v.agreed_at = utcnow() + timedelta(days=1)
    with pytest.raises(service.VersionIsImmutable):
        db.session.flush()
    db.session.rollback()
    db.session.delete(v)
    with pytest.raises(service.VersionIsImmutable):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(ProposalVersion, v.id).amount_requested == Decimal("34000000.00")


# --- revise and withdraw --------------------------------------------------------------------


def test_leader_revises_an_approved_proposal(world, make, client, login):
    p = make.proposal(world.co, state=ProposalState.APPROVED)
    db.session.commit()
    login(world.leader)
    assert b"Revise" in client.get(f"/proposals/{p.id}").data
    client.post(f"/proposals/{p.id}/revise")
    db.session.expire_all()
    assert p.state == ProposalState.DRAFT
    assert _actions(p.id) == ["proposal.revise"]


def test_withdraw_needs_a_reason(world, make, client, login):
    lane = make.problem(world.co)
    p = make.proposal(world.co, state=ProposalState.APPROVED)
    p.problems = [lane]
    service.submit(p, world.leader)
    db.session.commit()
    login(world.leader)
    assert client.get(f"/proposals/{p.id}/withdraw").status_code == 200
    r = client.post(f"/proposals/{p.id}/withdraw", data={"reason": "  "})
    assert r.status_code == 200 and b"Say why" in r.data
    r = client.post(f"/proposals/{p.id}/withdraw", data={"reason": "Land dispute"})
    assert r.status_code == 302
    db.session.expire_all()
    assert p.state == ProposalState.WITHDRAWN
    assert lane.status == ProblemStatus.OPEN  # nothing answers it any more
    ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "proposal.withdraw"))
    assert ev.detail["reason"] == "Land dispute"
    # the officer it was submitted to still sees it, and was told
    login(world.officer)
    assert client.get(f"/proposals/{p.id}").status_code == 200
    assert db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == world.officer.id, Notification.kind == "proposal.state_changed"
        )
    )


def test_withdrawing_during_a_vote_closes_it(world, make):
    p = make.proposal(world.co)
    rnd = service.open_vote(p, world.leader, utcnow() + timedelta(days=3))
    service.withdraw(p, world.leader, "Not now")
    assert p.state == ProposalState.WITHDRAWN and rnd.closed_at is not None
    with pytest.raises(service.VoteError):
        service.cast_vote(p, world.member.membership_in(world.co.id), VoteChoice.YES)


def test_nothing_after_agreement_can_be_withdrawn(world, make, client, login):
    p = make.proposal(world.co, state=ProposalState.AGREED)
    db.session.commit()
    login(world.leader)
    r = client.get(f"/proposals/{p.id}/withdraw", follow_redirects=True)
    assert b"is not possible while the proposal is Agreed" in r.data


# --- the page -------------------------------------------------------------------------------


def test_page_shows_buttons_by_policy(world, make, client, login):
    p = make.proposal(world.co)
    db.session.commit()
    login(world.leader)
    page = client.get(f"/proposals/{p.id}").data
    assert f"/proposals/{p.id}/vote/open".encode() in page
    assert f"/proposals/{p.id}/edit".encode() in page
    assert f"/proposals/{p.id}/audit".encode() in page
    assert f"/proposals/{p.id}/thread".encode() not in page  # not submitted
    login(world.member)
    page = client.get(f"/proposals/{p.id}").data
    assert f"/proposals/{p.id}/vote/open".encode() not in page
    assert f"/proposals/{p.id}/audit".encode() not in page
    assert client.get(f"/proposals/{p.id}/audit").status_code == 403
    login(world.staff)
    assert client.get(f"/proposals/{p.id}").status_code == 200


def test_submitted_page_links_the_thread(world, make, client, login):
    p = make.proposal(world.co, state=ProposalState.APPROVED)
    service.submit(p, world.leader)
    db.session.commit()
    login(world.member)
    page = client.get(f"/proposals/{p.id}").data
    assert f"/proposals/{p.id}/thread".encode() in page
    assert f"/proposals/{p.id}/versions/1".encode() in page


def test_audit_trail_hides_how_members_voted(world, make, client, login):
    p = make.proposal(world.co)
    service.open_vote(p, world.leader, utcnow() + timedelta(days=3))
    service.cast_vote(p, world.member.membership_in(world.co.id), VoteChoice.NO)
    db.session.commit()
    login(world.leader)
    r = client.get(f"/proposals/{p.id}/audit")
    assert r.status_code == 200
    assert b"vote.cast" in r.data and b"proposal.open_vote" in r.data
    assert b"<dt>choice</dt>" not in r.data


def test_audit_trail_shows_times_on_the_municipality_clock_without_seconds(
    world, make, client, login
):
    p = make.proposal(world.co)
    closes_at = datetime(2031, 6, 3, 9, 13, 27, tzinfo=UTC)
    service.open_vote(p, world.leader, closes_at)
    db.session.commit()
    login(world.leader)
    page = client.get(f"/proposals/{p.id}/audit").get_data(as_text=True)
    assert "<dt>closes_at</dt>" in page
    assert "9:13:27" not in page and "2031-06-03" not in page
    assert local_datetime(closes_at, p.municipality.timezone) in page


def test_other_co_and_outsiders_cannot_see(world, make, client, login):
    p = make.proposal(world.co)
    db.session.commit()
    for person in (world.other_leader, world.other_member, world.outsider, world.officer):
        login(person)
        assert client.get(f"/proposals/{p.id}").status_code == 403
    assert client.get("/proposals/999999").status_code == 404


def test_unknown_version_is_404(world, make, client, login):
    p = make.proposal(world.co)
    db.session.commit()
    login(world.leader)
    assert client.get(f"/proposals/{p.id}/versions/1").status_code == 404


def test_rounds_are_kept_on_the_proposal(world, make):
    p = make.proposal(world.co)
    service.open_vote(p, world.leader, utcnow() + timedelta(days=3))
    service.close_vote(p, world.leader)
    assert p.state == ProposalState.DRAFT  # nobody voted: no quorum
    assert _count(VoteRound) == 1
