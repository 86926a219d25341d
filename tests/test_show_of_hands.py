"""One check for every show of hands (proposal votes, counter-offer votes, priority rounds):
the meeting is the CO's and has taken place; hands by gender never exceed those present by
gender; a member present who voted online is not counted again by hand."""

from datetime import timedelta
from decimal import Decimal

import pytest

from consult.core.db import utcnow
from consult.core.enums import Gender, ProposalState, VoteChoice, VoteSubject
from consult.extensions import db
from consult.meetings.models import Attendance
from consult.negotiation import offers as negotiation
from consult.priorities import counting
from consult.priorities import service as priorities
from consult.problems.models import PriorityTally
from consult.proposals import service as proposals
from consult.proposals.models import ProposalVersion
from consult.votes import service as votes


def _ms(user, co):
    return user.membership_in(co.id)


def _round(world, make):
    problems = [make.problem(world.co, title=f"Problem {i}") for i in (1, 2)]
    rnd = priorities.open_round(world.co, by=world.leader, title="2026")
    db.session.commit()
    return rnd, problems


# --- case 2 of the issue: priority rounds ------------------------------------------------------


def test_priority_tally_page_offers_no_meeting_still_to_come(world, make, client, login):
    rnd, _problems = _round(world, make)
    held = make.meeting(world.co, place="Held last week")
    coming = make.meeting(
        world.co, held_at=utcnow() + timedelta(days=2), women_present=0, men_present=0
    )
    db.session.commit()
    login(world.leader)
    page = client.get(f"/priorities/{rnd.id}/tally").get_data(as_text=True)
    assert f'value="{held.id}"' in page
    assert f'value="{coming.id}"' not in page
    r = client.post(
        f"/priorities/{rnd.id}/tally",
        data={"meeting_id": str(coming.id), f"women_{_problems[0].id}": "6"},
    )
    assert r.status_code == 200
    assert db.session.query(PriorityTally).count() == 0


def test_priority_hands_at_a_meeting_not_yet_held_are_refused(world, make):
    rnd, (a, _b) = _round(world, make)
    coming = make.meeting(
        world.co, held_at=utcnow() + timedelta(days=2), women_present=0, men_present=0
    )
    with pytest.raises(priorities.PriorityError, match="not taken place"):
        priorities.record_tally(rnd, coming, {a.id: {"women": 3, "men": 3}}, world.leader)


def test_priority_hands_at_a_meeting_with_nobody_recorded_are_refused(world, make):
    rnd, (a, _b) = _round(world, make)
    empty = make.meeting(world.co, women_present=0, men_present=0)
    with pytest.raises(priorities.PriorityError, match="nobody present"):
        priorities.record_tally(rnd, empty, {a.id: {"women": 3, "men": 3}}, world.leader)


def test_priority_hands_cannot_outnumber_the_women_present(world, make):
    rnd, (a, b) = _round(world, make)
    meeting = make.meeting(world.co, women_present=14, men_present=8)
    with pytest.raises(priorities.PriorityError, match="30 hands counted.*14 present"):
        priorities.record_tally(rnd, meeting, {a.id: {"women": 30}}, world.leader)
    # one person may raise a hand for several problems: 14 on each is possible
    priorities.record_tally(rnd, meeting, {a.id: {"women": 14}, b.id: {"women": 14}}, world.leader)
    t = counting.turnout(rnd)
    assert t.at_meetings[Gender.WOMAN] == 14


def test_priority_member_who_gave_points_online_is_not_counted_again(world, make):
    rnd, (a, _b) = _round(world, make)
    meeting = make.meeting(world.co, women_present=1, men_present=0)
    member = _ms(world.member, world.co)
    world.member.gender = Gender.WOMAN
    db.session.add(Attendance(meeting=meeting, membership_id=member.id))
    priorities.give_points(rnd, member, {a.id: 1})
    with pytest.raises(priorities.PriorityError, match="already voted online"):
        priorities.record_tally(rnd, meeting, {a.id: {"women": 1}}, world.leader)


# --- proposal votes and counter-offer votes ------------------------------------------------


def test_vote_hands_at_a_meeting_with_nobody_recorded_are_refused(world, make):
    p = make.proposal(world.co)
    proposals.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    empty = make.meeting(
        world.co, held_at=utcnow() - timedelta(hours=1), women_present=0, men_present=0
    )
    with pytest.raises(votes.VoteError, match="nobody present"):
        proposals.record_tally(p, empty, world.leader, {"yes_women": 6})


def test_vote_member_present_who_voted_online_is_not_counted_again(world, make):
    p = make.proposal(world.co)
    proposals.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    meeting = make.meeting(
        world.co, held_at=utcnow() - timedelta(hours=1), women_present=2, men_present=0
    )
    member = _ms(world.member, world.co)
    world.member.gender = Gender.WOMAN
    db.session.add(Attendance(meeting=meeting, membership_id=member.id))
    proposals.cast_vote(p, member, VoteChoice.YES)
    with pytest.raises(votes.VoteError, match="already voted online") as refused:
        proposals.record_tally(p, meeting, world.leader, {"yes_women": 2})
    assert refused.value.field == "yes_women"
    proposals.record_tally(p, meeting, world.leader, {"yes_women": 1})
    assert votes.breakdown(p.vote_rounds[0]).participants == 2


def test_counter_offer_hands_follow_the_same_rule(world, make):
    p = make.proposal(world.co, state=ProposalState.UNDER_REVIEW)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    offer = negotiation.counter_offer(
        p,
        world.officer,
        municipal_share=Decimal("24000000"),
        community_cash=p.latest_version.community_cash,
        community_labour=Decimal("14000000"),
    )
    negotiation.put_counter_offer_to_vote(p, world.leader, offer, utcnow() + timedelta(days=7))
    meeting = make.meeting(
        world.co, held_at=utcnow() - timedelta(hours=1), women_present=14, men_present=8
    )
    with pytest.raises(votes.VoteError, match="30 hands counted"):
        votes.record_tally(
            p,
            meeting,
            world.leader,
            {"yes_women": 30},
            subject=VoteSubject.COUNTER_OFFER,
            counter_offer_id=offer.id,
        )
