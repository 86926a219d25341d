"""Counter-offers: the officer's other terms, the leader's answer, the members' vote on one,
and the response clock. Services first, then the pages through their real forms."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from consult.core.db import utcnow
from consult.core.enums import (
    CounterOfferStatus,
    Decision,
    MessageKind,
    ProposalState,
    Side,
    VoteChoice,
    VoteResult,
    VoteSubject,
)
from consult.extensions import db
from consult.negotiation import offers, service
from consult.negotiation.models import Message
from consult.proposals.models import ProposalVersion
from consult.proposals.workflow import TransitionRefused
from consult.votes.models import VoteRound
from tests.helpers import csrf_token
from tests.test_attachments import png_bytes

# The factory's proposal: 34,000,000 requested, 2,000,000 cash, 4,000,000 labour.


def submitted(make, co, state=ProposalState.UNDER_REVIEW, **kw):
    """A proposal as the municipality has it, with its first version."""
    p = make.proposal(co, state=state, **kw)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    return p


def offer(p, officer, **terms):
    """A counter-offer through the service; amounts default to the version's."""
    v = p.latest_version
    args = {
        "municipal_share": v.amount_requested,
        "community_cash": v.community_cash,
        "community_labour": v.community_labour,
    }
    args.update(terms)
    return offers.counter_offer(p, officer, **args)


def versions(p):
    return db.session.scalars(
        select(ProposalVersion)
        .where(ProposalVersion.proposal_id == p.id)
        .order_by(ProposalVersion.number)
    ).all()


def thread(p, action=""):
    return f"/proposals/{p.id}/thread" + action


def offer_url(p, m, action):
    return f"/proposals/{p.id}/thread/offers/{m.id}/{action}"


# --- services -------------------------------------------------------------------------------


def test_counter_offer_stores_changed_terms_and_moves_to_negotiating(world, make):
    p = submitted(make, world.co, state=ProposalState.SUBMITTED)
    m = offer(p, world.officer, municipal_share=Decimal("30000000"), timeline="5 months")
    assert p.state == ProposalState.NEGOTIATING
    assert (m.kind, m.side, m.offer_status) == (
        MessageKind.COUNTER_OFFER,
        Side.MUNICIPALITY,
        CounterOfferStatus.PENDING,
    )
    assert m.version_id == p.latest_version.id
    assert m.offer_municipal_share == Decimal("30000000.00")
    assert m.offer_community_cash is None  # unchanged is stored as None
    assert m.offer_timeline == "5 months"
    assert p.first_response_at is not None


def test_counter_offer_without_a_change_refused(world, make):
    p = submitted(make, world.co)
    with pytest.raises(offers.CounterOfferError) as refused:
        offer(p, world.officer, timeline="3 months")  # the version's own timeline
    assert refused.value.field == "municipal_share"
    assert p.state == ProposalState.UNDER_REVIEW


def test_counter_offer_negative_money_refused(world, make):
    p = submitted(make, world.co)
    with pytest.raises(offers.CounterOfferError) as refused:
        offer(p, world.officer, community_cash=Decimal("-1"))
    assert refused.value.field == "community_cash"


def test_new_counter_offer_withdraws_the_pending_one(world, make):
    p = submitted(make, world.co)
    first = offer(p, world.officer, municipal_share=Decimal("30000000"))
    second = offer(p, world.officer, municipal_share=Decimal("31000000"))
    assert first.offer_status == CounterOfferStatus.WITHDRAWN
    assert second.offer_status == CounterOfferStatus.PENDING
    assert offers.open_offer(p).id == second.id


def test_diff_spells_out_the_change_in_community_share(world, make):
    p = submitted(make, world.co)
    m = offer(
        p,
        world.officer,
        municipal_share=Decimal("24000000"),
        community_labour=Decimal("14000000"),
    )
    d = offers.offer_diff(m)
    assert d.community_change == Decimal("10000000")
    assert d.raises_community_share
    changed = {r.name for r in d.rows if r.changed}
    assert changed == {"amount_requested", "community_labour"}  # estimated cost stays 40M


def test_leader_accepts_offer_new_version_and_live_terms(world, make):
    p = submitted(make, world.co)
    m = offer(
        p,
        world.officer,
        municipal_share=Decimal("30000000"),
        community_cash=Decimal("3000000"),
        scope="Lane 80 m instead of 100 m",
        timeline="4 months",
    )
    v2 = offers.accept_counter_offer(p, world.leader, m, "Agreed by the committee")
    assert (v2.number, v2.reason, v2.created_by_id) == (
        2,
        "counter-offer accepted",
        world.leader.id,
    )
    assert v2.amount_requested == Decimal("30000000.00")
    assert v2.community_cash == Decimal("3000000.00")
    assert v2.community_labour == Decimal("4000000.00")
    assert v2.estimated_cost == Decimal("37000000.00")
    assert v2.timeline == "4 months"
    assert v2.description.endswith("Lane 80 m instead of 100 m")
    assert (p.amount_requested, p.estimated_cost, p.timeline) == (
        Decimal("30000000.00"),
        Decimal("37000000.00"),
        "4 months",
    )
    assert m.offer_status == CounterOfferStatus.ACCEPTED
    assert m.resulting_version_id == v2.id
    assert p.state == ProposalState.NEGOTIATING
    answer = db.session.scalars(
        select(Message).where(Message.proposal_id == p.id).order_by(Message.id.desc())
    ).first()
    assert (answer.side, answer.decision, answer.version_id) == (
        Side.COMMUNITY,
        Decision.ACCEPT,
        v2.id,
    )
    # The officer can now accept the new version, and only it.
    with pytest.raises(service.NegotiationError):
        service.accept(p, world.officer, versions(p)[0].id)
    service.accept(p, world.officer, v2.id)
    assert p.state == ProposalState.AGREED


def test_offer_answered_twice_refused(world, make):
    p = submitted(make, world.co)
    m = offer(p, world.officer, municipal_share=Decimal("30000000"))
    offers.reject_counter_offer(p, world.leader, m, "Too little")
    with pytest.raises(offers.CounterOfferError):
        offers.accept_counter_offer(p, world.leader, m)
    assert len(versions(p)) == 1


def test_reject_needs_a_reason(world, make):
    p = submitted(make, world.co)
    m = offer(p, world.officer, municipal_share=Decimal("30000000"))
    with pytest.raises(offers.CounterOfferError):
        offers.reject_counter_offer(p, world.leader, m, "  ")
    assert m.offer_status == CounterOfferStatus.PENDING


def test_officer_cannot_answer_own_offer(world, make):
    p = submitted(make, world.co)
    m = offer(p, world.officer, municipal_share=Decimal("30000000"))
    with pytest.raises(TransitionRefused):
        offers.accept_counter_offer(p, world.officer, m)


def test_offer_not_raising_share_cannot_be_put_to_vote(world, make):
    p = submitted(make, world.co)
    m = offer(p, world.officer, timeline="6 months")
    with pytest.raises(offers.CounterOfferError):
        offers.put_counter_offer_to_vote(p, world.leader, m, utcnow() + timedelta(days=3))


def test_member_vote_on_offer_rejected_rejects_it(world, make):
    p = submitted(make, world.co)
    m = offer(p, world.officer, community_cash=Decimal("5000000"), municipal_share=31_000_000)
    rnd = offers.put_counter_offer_to_vote(p, world.leader, m, utcnow() + timedelta(days=3))
    assert (rnd.subject, rnd.counter_offer_id) == (VoteSubject.COUNTER_OFFER, m.id)
    assert p.state == ProposalState.NEGOTIATING
    offers.cast_offer_vote(p, world.leader, m, VoteChoice.NO)
    offers.cast_offer_vote(p, world.member, m, VoteChoice.NO)
    rnd, version = offers.close_offer_vote(p, world.leader, m)
    assert (rnd.result, version) == (VoteResult.REJECTED, None)
    assert m.offer_status == CounterOfferStatus.REJECTED
    assert len(versions(p)) == 1
    assert p.state == ProposalState.NEGOTIATING


def test_other_co_member_cannot_vote_on_offer(world, make):
    p = submitted(make, world.co)
    m = offer(p, world.officer, community_cash=Decimal("5000000"), municipal_share=31_000_000)
    offers.put_counter_offer_to_vote(p, world.leader, m, utcnow() + timedelta(days=3))
    with pytest.raises(offers.CounterOfferError):
        offers.cast_offer_vote(p, world.other_member, m, VoteChoice.YES)


def test_offer_in_vote_blocks_a_new_counter_offer(world, make):
    p = submitted(make, world.co)
    m = offer(p, world.officer, community_cash=Decimal("5000000"), municipal_share=31_000_000)
    offers.put_counter_offer_to_vote(p, world.leader, m, utcnow() + timedelta(days=3))
    with pytest.raises(offers.CounterOfferError):
        offer(p, world.officer, municipal_share=Decimal("20000000"))
    assert m.offer_status == CounterOfferStatus.IN_VOTE


def test_response_clock(world, make):
    now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    p = submitted(
        make,
        world.co,
        submitted_at=now - timedelta(days=20),
        first_response_at=now - timedelta(days=17),
    )
    clock = service.response_clock(p, now)
    assert (clock.days, clock.awaiting, clock.overdue, clock.target) == (3, False, False, 14)


# --- pages ----------------------------------------------------------------------------------


def counter_form(**kw):
    data = {
        "municipal_share": "34000000",
        "community_cash": "2000000",
        "community_labour": "4000000",
        "scope": "",
        "timeline": "3 months",
        "body": "",
    }
    data.update(kw)
    return data


def test_counter_offer_then_co_accepts_makes_a_new_version(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.officer)
    page = client.get(thread(p)).get_data(as_text=True)
    assert 'name="municipal_share"' in page and 'value="34,000,000"' in page
    r = client.post(
        thread(p, "/counter-offer"),
        data=counter_form(
            municipal_share="24000000", community_labour="14000000", body="Please add labour"
        ),
    )
    assert r.status_code == 302
    m = db.session.scalars(select(Message).where(Message.proposal_id == p.id)).one()
    assert m.kind == MessageKind.COUNTER_OFFER

    as_user(world.leader)
    html = client.get(thread(p)).get_data(as_text=True)
    assert "<del>៛34,000,000" in html and "<ins>៛24,000,000" in html
    assert "community share +៛10,000,000" in html
    assert "Put it to the members" in html
    r = client.post(offer_url(p, m, "accept"), data={"note": "We agree"})
    assert r.status_code == 302
    db.session.refresh(p)
    vs = versions(p)
    assert [v.number for v in vs] == [1, 2]
    assert vs[1].amount_requested == Decimal("24000000.00")
    assert p.amount_requested == Decimal("24000000.00")
    assert p.state == ProposalState.NEGOTIATING
    html = client.get(thread(p)).get_data(as_text=True)
    assert "Accepted the counter-offer: its terms are version 2" in html
    assert f"/proposals/{p.id}/versions/compare?a=1&amp;b=2" in html


def test_counter_offer_then_co_rejects_and_thread_continues(world, make, client, as_user):
    p = submitted(make, world.co)
    m = offer(p, world.officer, municipal_share=Decimal("30000000"))
    db.session.commit()
    as_user(world.leader)
    r = client.post(offer_url(p, m, "reject"), data={"reason": "We cannot find the money"})
    assert r.status_code == 302
    db.session.refresh(m)
    db.session.refresh(p)
    assert m.offer_status == CounterOfferStatus.REJECTED
    assert p.state == ProposalState.NEGOTIATING
    assert len(versions(p)) == 1
    # the thread goes on: the leader writes, the officer offers again
    r = client.post(thread(p, "/messages"), data={"kind": "comment", "body": "Can we talk?"})
    assert r.status_code == 302
    as_user(world.officer)
    r = client.post(thread(p, "/counter-offer"), data=counter_form(municipal_share="32000000"))
    assert r.status_code == 302
    assert offers.open_offer(p).offer_municipal_share == Decimal("32000000.00")
    assert "We cannot find the money" in client.get(thread(p)).get_data(as_text=True)


def test_reject_with_empty_reason_re_renders(world, make, client, as_user):
    p = submitted(make, world.co)
    m = offer(p, world.officer, municipal_share=Decimal("30000000"))
    db.session.commit()
    as_user(world.leader)
    r = client.post(offer_url(p, m, "reject"), data={"reason": " "})
    assert r.status_code == 200
    assert "Say why the community rejects it" in r.get_data(as_text=True)
    db.session.refresh(m)
    assert m.offer_status == CounterOfferStatus.PENDING


def test_offer_raising_share_member_vote_then_accepted(world, make, client, as_user):
    p = submitted(make, world.co)
    m = offer(
        p,
        world.officer,
        municipal_share=Decimal("24000000"),
        community_labour=Decimal("14000000"),
    )
    db.session.commit()
    as_user(world.leader)
    r = client.post(offer_url(p, m, "vote/open"), data={"closes_at": "2099-01-01T18:00"})
    assert r.status_code == 302
    db.session.refresh(m)
    assert m.offer_status == CounterOfferStatus.IN_VOTE
    rnd = db.session.scalars(select(VoteRound).where(VoteRound.counter_offer_id == m.id)).one()
    assert rnd.subject == VoteSubject.COUNTER_OFFER
    assert rnd.closes_at == datetime(2099, 1, 1, 11, 0, tzinfo=UTC)  # Phnom Penh 18:00
    db.session.refresh(p)
    assert p.state == ProposalState.NEGOTIATING

    # in a vote, the leader cannot accept it directly
    r = client.post(offer_url(p, m, "accept"), data={"note": ""})
    assert r.status_code == 200
    assert "The members are voting on this counter-offer" in r.get_data(as_text=True)
    assert len(versions(p)) == 1

    for voter in (world.leader, world.member):
        as_user(voter)
        assert "Put to a member vote" in client.get(thread(p)).get_data(as_text=True)
        r = client.post(offer_url(p, m, "vote"), data={"choice": "yes"})
        assert r.status_code == 302
    db.session.refresh(rnd)
    assert rnd.yes_count == 2

    as_user(world.leader)
    r = client.post(offer_url(p, m, "vote/close"), data={})
    assert r.status_code == 302
    db.session.refresh(rnd)
    db.session.refresh(m)
    assert rnd.result == VoteResult.APPROVED
    assert m.offer_status == CounterOfferStatus.ACCEPTED
    vs = versions(p)
    assert [v.number for v in vs] == [1, 2]
    assert vs[1].community_labour == Decimal("14000000.00")
    assert m.resulting_version_id == vs[1].id


def test_member_cannot_answer_a_counter_offer(world, make, client, as_user):
    p = submitted(make, world.co)
    m = offer(p, world.officer, municipal_share=Decimal("30000000"))
    db.session.commit()
    as_user(world.member)
    assert client.post(offer_url(p, m, "accept"), data={}).status_code == 403
    assert client.post(offer_url(p, m, "reject"), data={"reason": "no"}).status_code == 403
    db.session.refresh(m)
    assert m.offer_status == CounterOfferStatus.PENDING


def test_other_cos_leader_cannot_answer(world, make, client, as_user):
    p = submitted(make, world.co)
    m = offer(p, world.officer, municipal_share=Decimal("30000000"))
    db.session.commit()
    as_user(world.other_leader)
    assert client.post(offer_url(p, m, "accept"), data={}).status_code == 403
    assert client.post(offer_url(p, m, "reject"), data={"reason": "no"}).status_code == 403
    r = client.post(offer_url(p, m, "vote/open"), data={"closes_at": "2099-01-01T18:00"})
    assert r.status_code == 403
    assert client.post(offer_url(p, m, "vote"), data={"choice": "yes"}).status_code == 403


def test_offer_of_another_proposal_is_404(world, make, client, as_user):
    p = submitted(make, world.co)
    other = submitted(make, world.co)
    m = offer(other, world.officer, municipal_share=Decimal("30000000"))
    db.session.commit()
    as_user(world.leader)
    assert client.post(offer_url(p, m, "accept"), data={}).status_code == 404


def test_other_municipality_officer_cannot_counter_offer(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.other_officer)
    r = client.post(thread(p, "/counter-offer"), data=counter_form(municipal_share="1"))
    assert r.status_code == 403
    as_user(world.leader)  # nor the community
    r = client.post(thread(p, "/counter-offer"), data=counter_form(municipal_share="1"))
    assert r.status_code == 403
    assert offers.open_offer(p) is None


def test_counter_offer_with_no_change_keeps_what_was_typed(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.officer)
    r = client.post(
        thread(p, "/counter-offer"),
        data=counter_form(municipal_share="34,000,000", body="Same terms, my note"),
    )
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Change at least one term" in html
    assert "Same terms, my note" in html
    assert offers.open_offer(p) is None


def test_counter_offer_negative_or_junk_money_refused_on_the_page(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.officer)
    r = client.post(thread(p, "/counter-offer"), data=counter_form(community_cash="-5"))
    assert r.status_code == 200
    assert "cannot be negative." in r.get_data(as_text=True)
    r = client.post(thread(p, "/counter-offer"), data=counter_form(community_cash="lots"))
    assert r.status_code == 200
    assert 'value="lots"' in r.get_data(as_text=True)
    assert offers.open_offer(p) is None


def test_counter_offer_with_a_photo(world, make, client, as_user):
    import io

    png = png_bytes()
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.officer)
    data = counter_form(municipal_share="30000000")
    data["files"] = [(io.BytesIO(png), "site.png")]
    r = client.post(thread(p, "/counter-offer"), data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    as_user(world.member)
    html = client.get(thread(p)).get_data(as_text=True)
    assert 'alt="site.png"' in html


def test_decline_with_empty_reason_refused(world, make, client, as_user):
    p = submitted(make, world.co)
    offer(p, world.officer, municipal_share=Decimal("30000000"))
    db.session.commit()
    as_user(world.officer)
    r = client.post(thread(p, "/decline"), data={"reason": ""})
    assert r.status_code == 200
    assert "Give the reason for declining" in r.get_data(as_text=True)
    db.session.refresh(p)
    assert p.state == ProposalState.NEGOTIATING


def test_thread_shows_response_clock(world, make, client, as_user):
    p = submitted(
        make,
        world.co,
        state=ProposalState.SUBMITTED,
        submitted_at=utcnow() - timedelta(days=15, hours=1),
    )
    db.session.commit()
    as_user(world.leader)
    html = client.get(thread(p)).get_data(as_text=True)
    assert "waiting 15 days" in html and "overdue" in html
    as_user(world.officer)
    client.post(thread(p, "/acknowledge"), data={"note": "Received"})
    html = client.get(thread(p)).get_data(as_text=True)
    assert "answered after 15 days (target 14)" in html


def test_inbox_overdue_flag_at_the_target_boundary(world, make, client, as_user):
    now = utcnow()
    submitted(
        make,
        world.co,
        state=ProposalState.SUBMITTED,
        title="On time lane",
        submitted_at=now - timedelta(days=14, hours=1),
    )
    submitted(
        make,
        world.co,
        state=ProposalState.SUBMITTED,
        title="Late lane",
        submitted_at=now - timedelta(days=15, hours=1),
    )
    db.session.commit()
    as_user(world.officer)
    html = client.get(f"/municipalities/{world.municipality.id}/inbox").get_data(as_text=True)
    on_time = html[html.index("On time lane") :]
    on_time = on_time[: on_time.index("</li>")]
    late = html[html.index("Late lane") :]
    late = late[: late.index("</li>")]
    assert "waiting 14 days" in on_time and "overdue" not in on_time
    assert "waiting 15 days" in late and "overdue" in late


def test_leader_accepts_offer_with_csrf_on(world, make, csrf_app, login):
    p = submitted(make, world.co)
    m = offer(p, world.officer, municipal_share=Decimal("30000000"))
    db.session.commit()
    c = csrf_app.test_client()
    login(world.leader, c)
    assert c.post(offer_url(p, m, "accept"), data={"note": ""}).status_code == 400
    db.session.refresh(m)
    assert m.offer_status == CounterOfferStatus.PENDING
    token = csrf_token(c.get(thread(p)).data)
    r = c.post(offer_url(p, m, "accept"), data={"note": "", "csrf_token": token})
    assert r.status_code == 302
    db.session.refresh(m)
    assert m.offer_status == CounterOfferStatus.ACCEPTED
