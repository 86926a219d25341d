"""One electorate per vote: the roll is the CO's members when a vote or round opens; people who
join later are not on it; a member who leaves before the close has the ballot set aside and
leaves the base. Proposal votes, counter-offer votes and priority rounds alike."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from consult.communities import service as communities
from consult.core.db import utcnow
from consult.core.enums import Gender, ProposalState, VoteChoice, VoteResult
from consult.extensions import db
from consult.negotiation import offers as negotiation
from consult.priorities import counting
from consult.priorities import service as priorities
from consult.proposals import service
from consult.proposals.models import ProposalVersion
from consult.votes import service as votes
from consult.votes.models import Vote, VoteRound


def _ms(user, co):
    return user.membership_in(co.id)


def _two_more(world, make):
    """The world's CO with 4 current members: leader, member and two women."""
    a = make.member(world.co, name="Srey", gender=Gender.WOMAN)
    b = make.member(world.co, name="Chantha", gender=Gender.WOMAN)
    db.session.commit()
    return a, b


# --- case 1 of the issue: former members' ballots and a base of current members -------------


def test_ballots_of_people_removed_before_the_close_are_set_aside(world, make, client, login):
    a, b = _two_more(world, make)
    world.co.quorum_percent = 50
    p = make.proposal(world.co)
    service.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    db.session.commit()
    for voter in (a, b):
        login(voter)
        assert client.post(f"/proposals/{p.id}/vote", data={"choice": "yes"}).status_code == 302
    login(world.leader)
    for voter in (a, b):
        m = _ms(voter, world.co)
        r = client.post(f"/co/{world.co.id}/members/{m.id}/leave", data={"confirm": "yes"})
        assert r.status_code == 302
    assert client.post(f"/proposals/{p.id}/vote/close").status_code == 302
    rnd = db.session.get(VoteRound, p.vote_rounds[0].id)
    # Neither of the two remaining members voted: no quorum, not "approved by 2 of 2".
    assert rnd.result == VoteResult.NO_QUORUM
    assert rnd.members_at_close == 2
    assert (rnd.yes_count, rnd.no_count, rnd.abstain_count) == (0, 0, 0)
    b_ = votes.breakdown(rnd)
    assert (b_.members, b_.participants, b_.set_aside) == (2, 0, 2)
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "2 people were on the roll and still members at the close" in page
    assert "2 ballots were set aside" in page
    assert "Who can vote: the CO’s members when the vote opened" in page


def test_a_member_who_joins_after_the_vote_opened_is_not_on_its_roll(world, make, client, login):
    p = make.proposal(world.co)
    service.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    late = make.member(world.co, name="Late")
    db.session.commit()
    with pytest.raises(votes.VoteError, match="not on this vote's roll"):
        service.cast_vote(p, _ms(late, world.co), VoteChoice.YES)
    db.session.rollback()
    login(late)
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "not on its roll" in page
    assert 'name="choice"' not in page
    # The base is the roll: the late joiner does not raise the quorum either.
    assert votes.breakdown(p.vote_rounds[0]).members == 2


def test_the_database_refuses_a_ballot_from_someone_off_the_roll(world, make):
    p = make.proposal(world.co)
    rnd = service.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    late = make.member(world.co, name="Late")
    db.session.commit()
    db.session.add(
        Vote(
            round_id=rnd.id,
            membership_id=_ms(late, world.co).id,
            choice=VoteChoice.YES,
            cast_at=utcnow(),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_member_who_leaves_and_comes_back_is_still_off_this_roll(world, make):
    p = make.proposal(world.co)
    service.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    m = _ms(world.member, world.co)
    service.cast_vote(p, m, VoteChoice.YES)
    communities.end_membership(m, by=world.leader)
    db.session.flush()
    back = communities.add_member(world.co, world.member, by=world.leader)
    with pytest.raises(votes.VoteError, match="roll"):
        service.cast_vote(p, back, VoteChoice.NO)
    rnd = service.close_vote(p, world.leader)
    b = votes.breakdown(rnd)
    assert (b.members, b.participants, b.set_aside) == (1, 0, 1)


# --- counter-offer votes ----------------------------------------------------------------------


def _offer_in_vote(world, make):
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
    rnd = negotiation.put_counter_offer_to_vote(
        p, world.leader, offer, utcnow() + timedelta(days=7)
    )
    db.session.commit()
    return p, offer, rnd


def test_counter_offer_vote_sets_aside_ballots_of_people_who_left(world, make):
    a, b = _two_more(world, make)
    p, offer, rnd = _offer_in_vote(world, make)
    for voter in (a, b):
        negotiation.cast_offer_vote(p, voter, offer, VoteChoice.YES)
    for voter in (a, b):
        communities.end_membership(_ms(voter, world.co), by=world.leader)
    late = make.member(world.co, name="Late")
    with pytest.raises(negotiation.CounterOfferError, match="roll"):
        negotiation.cast_offer_vote(p, late, offer, VoteChoice.YES)
    rnd, _version = negotiation.close_offer_vote(p, world.leader, offer)
    assert rnd.result == VoteResult.NO_QUORUM
    assert rnd.members_at_close == 2
    assert votes.breakdown(rnd).set_aside == 2


# --- priority rounds --------------------------------------------------------------------------


def test_priority_points_of_people_who_left_are_set_aside(world, make):
    a, b = _two_more(world, make)
    problems = [make.problem(world.co, title=f"Problem {i}") for i in (1, 2)]
    rnd = priorities.open_round(world.co, by=world.leader, title="2026")
    priorities.give_points(rnd, _ms(a, world.co), {problems[1].id: 3})
    priorities.give_points(rnd, _ms(b, world.co), {problems[1].id: 3})
    priorities.give_points(rnd, _ms(world.member, world.co), {problems[0].id: 1})
    late = make.member(world.co, name="Late")
    with pytest.raises(priorities.PriorityError, match="roll"):
        priorities.give_points(rnd, _ms(late, world.co), {problems[1].id: 3})
    for voter in (a, b):
        communities.end_membership(_ms(voter, world.co), by=world.leader)
    priorities.close_round(rnd, by=world.leader)
    ranking = counting.standings(rnd)
    assert [(s.problem_id, s.total) for s in ranking] == [(problems[0].id, 1), (problems[1].id, 0)]
    t = counting.turnout(rnd)
    assert (t.members, t.voted, t.set_aside) == (2, 1, 2)
    assert sum(t.roll_by_gender.values()) == 2
    # fixed at the close: someone leaving afterwards changes nothing
    communities.end_membership(_ms(world.member, world.co), by=world.leader)
    assert counting.turnout(rnd).members == 2
    assert counting.standings(rnd)[0].total == 1


def test_priority_round_page_states_the_roll_rule(world, make, client, login):
    make.problem(world.co)
    rnd = priorities.open_round(world.co, by=world.leader, title="2026")
    late = make.member(world.co, name="Late")
    db.session.commit()
    login(late)
    page = client.get(f"/priorities/{rnd.id}").get_data(as_text=True)
    assert "Who can give points: the CO’s members when the round opened" in page
    assert "not on its roll" in page
    assert "Save my points" not in page
