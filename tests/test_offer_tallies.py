"""Show-of-hands tallies in the members' vote on a counter-offer: the service (the same rules
as a vote on a proposal, on the counter-offer's round), then the page through its real form."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from consult.audit.models import AuditEvent
from consult.core.db import utcnow
from consult.core.enums import (
    CounterOfferStatus,
    ProposalState,
    VoteChoice,
    VoteResult,
    VoteSubject,
)
from consult.extensions import db
from consult.negotiation import offers
from consult.proposals import service
from consult.proposals.models import ProposalVersion
from consult.votes import service as votes
from consult.votes.models import VoteTally
from tests.helpers import csrf_token

COUNTER_OFFER = VoteSubject.COUNTER_OFFER

ZEROS = {name: 0 for name in votes.TALLY_FIELDS}


def _in_vote(world, make):
    """A negotiated proposal whose counter-offer (more community labour) is put to the
    members for a week. The factory's proposal asks 4,000,000 labour of the community."""
    p = make.proposal(world.co, state=ProposalState.UNDER_REVIEW)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    offer = offers.counter_offer(
        p,
        world.officer,
        municipal_share=Decimal("24000000"),
        community_cash=p.latest_version.community_cash,
        community_labour=Decimal("14000000"),
    )
    rnd = offers.put_counter_offer_to_vote(p, world.leader, offer, utcnow() + timedelta(days=7))
    db.session.commit()
    return p, offer, rnd


def _meeting(make, co, **kw):
    """A meeting held an hour ago (12 women, 8 men present), so it counts in a vote opened now."""
    m = make.meeting(co, held_at=utcnow() - timedelta(hours=1), **kw)
    db.session.commit()
    return m


def _url(p, offer):
    return f"/proposals/{p.id}/thread/offers/{offer.id}/tally"


def _form(meeting, **counts):
    return {**ZEROS, "meeting_id": meeting.id, **counts}


def _cached(rnd):
    db.session.refresh(rnd)
    return (rnd.yes_count, rnd.no_count, rnd.abstain_count)


def _tallies(rnd):
    return db.session.scalars(select(VoteTally).where(VoteTally.round_id == rnd.id)).all()


# --- services -------------------------------------------------------------------------------


def test_counter_offer_tally_counts_in_its_round_only(world, make):
    p, offer, rnd = _in_vote(world, make)
    meeting = _meeting(make, world.co)
    tally = votes.record_tally(
        p,
        meeting,
        world.leader,
        {"yes_women": 3, "no_men": 1},
        subject=COUNTER_OFFER,
        counter_offer_id=offer.id,
    )
    assert tally.round_id == rnd.id
    assert _cached(rnd) == (3, 1, 0)
    b = votes.breakdown(rnd)
    assert (b.count(source="meetings"), b.meeting_count) == (4, 1)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "vote.tally_recorded")
    ).one()
    assert event.detail["counter_offer_id"] == offer.id
    assert event.detail["round_id"] == rnd.id
    # the proposal itself has no vote open: its tally function still refuses
    with pytest.raises(service.VoteError):
        service.record_tally(p, meeting, world.leader, {"yes_women": 1})


def test_counter_offer_tally_refuses_another_cos_or_an_old_meeting(world, make):
    p, offer, rnd = _in_vote(world, make)
    theirs = _meeting(make, world.other_co)
    old = make.meeting(world.co, held_at=utcnow() - timedelta(days=30))
    for meeting in (theirs, old):
        with pytest.raises(service.VoteError) as refused:
            votes.record_tally(
                p,
                meeting,
                world.leader,
                {"yes_men": 1},
                subject=COUNTER_OFFER,
                counter_offer_id=offer.id,
            )
        assert refused.value.field == "meeting_id"
    assert _tallies(rnd) == []


def test_counter_offer_tally_refuses_negative_counts(world, make):
    p, offer, rnd = _in_vote(world, make)
    meeting = _meeting(make, world.co)
    with pytest.raises(service.VoteError) as refused:
        votes.record_tally(
            p,
            meeting,
            world.leader,
            {"no_other": -1},
            subject=COUNTER_OFFER,
            counter_offer_id=offer.id,
        )
    assert refused.value.field == "no_other"


def test_counter_offer_tally_refused_once_the_vote_is_closed(world, make):
    p, offer, rnd = _in_vote(world, make)
    meeting = _meeting(make, world.co)
    offers.close_offer_vote(p, world.leader, offer)
    with pytest.raises(service.VoteError):
        votes.record_tally(
            p,
            meeting,
            world.leader,
            {"yes_men": 1},
            subject=COUNTER_OFFER,
            counter_offer_id=offer.id,
        )


# --- pages ----------------------------------------------------------------------------------


def test_leader_records_a_tally_and_the_close_counts_it(world, make, client, as_user):
    p, offer, rnd = _in_vote(world, make)
    meeting = _meeting(make, world.co)
    for voter in (world.leader, world.member):  # online alone: 0 yes, 2 no → rejected
        offers.cast_offer_vote(p, voter, offer, VoteChoice.NO)
    db.session.commit()
    assert votes.breakdown(rnd).result == VoteResult.REJECTED

    as_user(world.leader)
    thread = client.get(f"/proposals/{p.id}/thread").get_data(as_text=True)
    assert "Record a show of hands" in thread
    assert _url(p, offer) in thread
    page = client.get(_url(p, offer)).get_data(as_text=True)
    assert "NOT voted online" in page
    r = client.post(_url(p, offer), data=_form(meeting, yes_women=2, yes_men=1))
    assert r.status_code == 302
    assert r.headers["Location"].endswith(f"/proposals/{p.id}/thread#m{offer.id}")
    assert _cached(rnd) == (3, 2, 0)

    thread = client.get(f"/proposals/{p.id}/thread").get_data(as_text=True)
    assert "Show of hands at meetings" in thread
    assert "Yes 3 · No 0 · Abstain 0" in thread

    r = client.post(f"/proposals/{p.id}/thread/offers/{offer.id}/vote/close", data={})
    assert r.status_code == 302
    db.session.refresh(rnd)
    db.session.refresh(offer)
    assert rnd.result == VoteResult.APPROVED  # 3 yes of 5, with the hands
    assert offer.offer_status == CounterOfferStatus.ACCEPTED
    versions = db.session.scalars(
        select(ProposalVersion)
        .where(ProposalVersion.proposal_id == p.id)
        .order_by(ProposalVersion.number)
    ).all()
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].community_labour == Decimal("14000000.00")
    assert offer.resulting_version_id == versions[1].id
    # the vote is over: no more tallies
    assert client.get(_url(p, offer)).status_code == 404


def test_recording_the_same_meeting_again_replaces_it(world, make, client, as_user):
    p, offer, rnd = _in_vote(world, make)
    meeting = _meeting(make, world.co)
    as_user(world.leader)
    assert client.post(_url(p, offer), data=_form(meeting, yes_women=5)).status_code == 302
    # "Correct" opens the form with what was recorded
    page = client.get(_url(p, offer) + f"?meeting={meeting.id}").get_data(as_text=True)
    assert 'value="5"' in page
    data = _form(meeting, yes_women=4, abstain_men=2)
    assert client.post(_url(p, offer), data=data).status_code == 302
    tallies = _tallies(rnd)
    assert len(tallies) == 1
    assert (tallies[0].yes_women, tallies[0].abstain_men) == (4, 2)
    assert _cached(rnd) == (4, 0, 2)
    events = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.action.like("vote.tally%"))
        .order_by(AuditEvent.id)
    ).all()
    assert events == ["vote.tally_recorded", "vote.tally_replaced"]


def test_more_hands_than_people_present_refused_keeping_what_was_typed(
    world, make, client, as_user
):
    p, offer, rnd = _in_vote(world, make)
    meeting = _meeting(make, world.co, men_present=3)
    as_user(world.leader)
    r = client.post(_url(p, offer), data=_form(meeting, yes_men=2, no_men=2, yes_women=7))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "4 hands counted, but the meeting records 3 present" in html
    assert 'value="7"' in html and 'value="2"' in html
    assert _tallies(rnd) == []
    assert _cached(rnd) == (0, 0, 0)


def test_meeting_of_another_co_refused(world, make, client, as_user):
    p, offer, rnd = _in_vote(world, make)
    ours = _meeting(make, world.co)
    theirs = _meeting(make, world.other_co)
    as_user(world.leader)
    page = client.get(_url(p, offer)).get_data(as_text=True)
    assert f'<option value="{ours.id}"' in page
    assert f'<option value="{theirs.id}"' not in page  # not offered
    r = client.post(_url(p, offer), data=_form(theirs, yes_women=6))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'id="meeting_id-err"' in html
    assert 'value="6"' in html
    assert _tallies(rnd) == []


def test_member_cannot_record_a_tally(world, make, client, as_user):
    p, offer, rnd = _in_vote(world, make)
    meeting = _meeting(make, world.co)
    as_user(world.member)
    thread = client.get(f"/proposals/{p.id}/thread").get_data(as_text=True)
    assert "Record a show of hands" not in thread
    assert client.get(_url(p, offer)).status_code == 403
    assert client.post(_url(p, offer), data=_form(meeting, yes_women=1)).status_code == 403
    assert _tallies(rnd) == []


def test_leader_of_another_co_cannot_record_a_tally(world, make, client, as_user):
    p, offer, rnd = _in_vote(world, make)
    meeting = _meeting(make, world.co)
    as_user(world.other_leader)
    assert client.get(_url(p, offer)).status_code == 403
    assert client.post(_url(p, offer), data=_form(meeting, yes_women=1)).status_code == 403
    assert _tallies(rnd) == []


def test_not_a_counter_offer_in_a_vote_is_404(world, make, client, as_user):
    p, offer, rnd = _in_vote(world, make)
    other, other_offer, _ = _in_vote(world, make)
    as_user(world.leader)
    assert client.get(f"/proposals/{p.id}/thread/offers/{other_offer.id}/tally").status_code == 404
    offers.close_offer_vote(other, world.leader, other_offer)
    db.session.commit()
    assert client.get(_url(other, other_offer)).status_code == 404


def test_tally_after_the_closing_time_refused_with_a_message(world, make, client, as_user):
    p, offer, rnd = _in_vote(world, make)
    meeting = _meeting(make, world.co)
    rnd.closes_at = utcnow() - timedelta(minutes=5)  # time is up; the leader has not closed it
    db.session.commit()
    as_user(world.leader)
    thread = client.get(f"/proposals/{p.id}/thread").get_data(as_text=True)
    assert "Record a show of hands" not in thread
    r = client.post(_url(p, offer), data=_form(meeting, yes_women=3))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Voting closed at" in html
    assert 'value="3"' in html
    assert _tallies(rnd) == []


def test_tally_needs_the_csrf_token(world, make, csrf_app, login):
    p, offer, rnd = _in_vote(world, make)
    meeting = _meeting(make, world.co)
    c = csrf_app.test_client()
    login(world.leader, c)
    assert c.post(_url(p, offer), data=_form(meeting, yes_women=2)).status_code == 400
    assert db.session.scalar(select(func.count(VoteTally.id))) == 0
    token = csrf_token(c.get(_url(p, offer)).data)
    r = c.post(_url(p, offer), data={**_form(meeting, yes_women=2), "csrf_token": token})
    assert r.status_code == 302
    assert _cached(rnd) == (2, 0, 0)
