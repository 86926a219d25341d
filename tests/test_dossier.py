"""The printable dossier of a proposal version, with the vote that approved it."""

import re
from datetime import timedelta
from decimal import Decimal

from consult.core.db import utcnow
from consult.core.enums import ProposalState, VoteChoice
from consult.extensions import db
from consult.negotiation import offers, service
from consult.proposals import service as proposals


def voted_and_agreed(world, make):
    """A proposal the members approved, submitted and the municipality agreed."""
    problem = make.problem(world.co, title="Lane floods every June")
    p = make.proposal(world.co, title="Concrete lane to the market")
    p.problems = [problem]
    proposals.open_vote(p, world.leader, utcnow() + timedelta(days=2))
    proposals.cast_vote(p, world.leader.membership_in(world.co.id), VoteChoice.YES)
    proposals.cast_vote(p, world.member.membership_in(world.co.id), VoteChoice.YES)
    proposals.close_vote(p, world.leader)
    v = proposals.submit(p, world.leader)
    service.acknowledge(p, world.officer)
    service.accept(p, world.officer, v.id)
    db.session.commit()
    return p


def url(p, n=1):
    return f"/proposals/{p.id}/versions/{n}/dossier"


def test_dossier_for_a_member_shows_terms_problems_vote_and_agreement(world, make, client, as_user):
    p = voted_and_agreed(world, make)
    as_user(world.member)
    r = client.get(url(p))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for text in (
        "Concrete lane to the market",
        "Boeung Kak CO",
        "Boeung Kak",
        "Phnom Penh",
        "34,000,000",
        "Lane floods every June",
        "Approved: 2 yes, 0 no",
        "Agreed by the municipality on",
        "Signatures",
    ):
        assert text in html, text
    # the print stylesheet, under its fingerprinted name once `consult digest compile` ran
    assert re.search(r'href="/static/css/print(-[0-9a-f]{32})?\.css" media="print"', html)


def test_dossier_for_the_officer(world, make, client, as_user):
    p = voted_and_agreed(world, make)
    as_user(world.officer)
    assert client.get(url(p)).status_code == 200


def test_dossier_refused_to_others_and_404_for_missing_version(world, make, client, as_user):
    p = voted_and_agreed(world, make)
    for outsider in (world.other_member, world.other_leader, world.other_officer, world.outsider):
        as_user(outsider)
        assert client.get(url(p)).status_code == 403
    as_user(world.member)
    assert client.get(url(p, 7)).status_code == 404


def test_dossier_of_an_offer_version_shows_the_members_vote_on_it(world, make, client, as_user):
    p = voted_and_agreed(world, make)
    # take it back to negotiating for a second version: a fresh proposal is simpler
    q = make.proposal(world.co, state=ProposalState.UNDER_REVIEW, title="Footbridge")
    from consult.proposals.models import ProposalVersion

    db.session.add(ProposalVersion(proposal=q, number=1, reason="submitted", **q.terms()))
    db.session.flush()
    m = offers.counter_offer(
        q,
        world.officer,
        municipal_share=Decimal("30000000"),
        community_cash=Decimal("6000000"),
        community_labour=Decimal("4000000"),
    )
    offers.put_counter_offer_to_vote(q, world.leader, m, utcnow() + timedelta(days=1))
    offers.cast_offer_vote(q, world.member, m, VoteChoice.YES)
    offers.cast_offer_vote(q, world.leader, m, VoteChoice.NO)
    offers.cast_offer_vote(q, world.leader, m, VoteChoice.YES)  # changed their mind
    _, v2 = offers.close_offer_vote(q, world.leader, m)
    db.session.commit()
    assert v2.number == 2
    as_user(world.member)
    html = client.get(url(q, 2)).get_data(as_text=True)
    assert "Accept the municipality's counter-offer" in html
    assert "Approved: 2 yes, 0 no" in html
    assert "Not agreed (yet)." in html
    assert p.id != q.id
