"""“Needs you now”: the votes a member has not cast, the points not given, the counter-offers
waiting for the leader, the meetings coming up — at the top of the CO home, counted in the
top bar, each one tap away."""

import re
from datetime import timedelta
from decimal import Decimal

from consult.agenda import service as agenda
from consult.core.db import utcnow
from consult.core.enums import ProposalState, VoteChoice
from consult.extensions import db
from consult.negotiation import offers
from consult.notifications.models import Notification
from consult.notifications.service import text
from consult.priorities import counting
from consult.priorities import service as priorities
from consult.proposals import service as proposals
from consult.proposals.models import ProposalVersion
from tests.helpers import csrf_token


def _voting(world, make, **kw):
    p = make.proposal(world.co, **kw)
    proposals.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    db.session.commit()
    return p


def _negotiating(world, make, **terms):
    """A proposal under review with the officer's counter-offer on it."""
    p = make.proposal(world.co, state=ProposalState.UNDER_REVIEW)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    v = p.latest_version
    args = {
        "municipal_share": v.amount_requested,
        "community_cash": v.community_cash,
        "community_labour": v.community_labour,
        **terms,
    }
    offer = offers.counter_offer(p, world.officer, **args)
    db.session.commit()
    return p, offer


def _round(world, make):
    for title in ("Flooding", "No toilets"):
        make.problem(world.co, title=title)
    rnd = priorities.open_round(world.co, by=world.leader, title="Priorities 2026")
    db.session.commit()
    return rnd


# --- the service ----------------------------------------------------------------------------


def test_nothing_needs_a_member_of_a_quiet_co(world):
    needs = agenda.needs(world.member, world.co)
    assert not needs and needs.count == 0
    assert agenda.waiting(world.member) == (0, None)


def test_an_open_vote_needs_the_member_until_they_vote(world, make):
    p = _voting(world, make, title="Lane 3")
    needs = agenda.needs(world.member, world.co)
    assert [b.proposal for b in needs.votes] == [p] and needs.votes[0].offer is None
    assert agenda.waiting(world.member) == (1, world.co)
    proposals.cast_vote(p, world.member.membership_in(world.co.id), VoteChoice.ABSTAIN)
    db.session.commit()
    assert agenda.needs(world.member, world.co).votes == []


def test_a_vote_past_its_closing_time_no_longer_needs_anyone(world, make):
    _voting(world, make)
    later = utcnow() + timedelta(days=8)
    assert agenda.needs(world.member, world.co, now=later).votes == []


def test_outsiders_and_other_cos_are_asked_nothing(world, make):
    _voting(world, make)
    assert agenda.needs(world.other_member, world.co).count == 0
    assert agenda.needs(world.officer, world.co).count == 0
    assert agenda.waiting(world.other_member) == (0, None)


def test_points_to_give_until_given(world, make):
    rnd = _round(world, make)
    needs = agenda.needs(world.member, world.co)
    assert needs.points == [rnd]
    problem_id = counting.round_problem_ids(rnd)[0]
    priorities.give_points(rnd, world.member.membership_in(world.co.id), {problem_id: 2})
    db.session.commit()
    assert agenda.needs(world.member, world.co).points == []


def test_a_counter_offer_needs_the_leader_not_the_member(world, make):
    p, offer = _negotiating(world, make, timeline="5 months")
    assert agenda.needs(world.leader, world.co).offers == [offer]
    assert agenda.needs(world.member, world.co).offers == []


def test_the_open_offers_are_asked_with_their_kind_and_status_in_the_sql(world, make):
    """Written into the SQL, not bound: PostgreSQL can then read the open offers' partial
    index in a plan it makes once for every CO and thread (with bound values it planned
    every request). Both look-ups: the leader's "Needs you" and a thread's open offer."""
    from sqlalchemy import event

    p, offer = _negotiating(world, make, timeline="5 months")
    seen = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "offer_status" in statement.split("WHERE")[-1]:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        assert agenda.needs(world.leader, world.co).offers == [offer]
        assert offers.open_offer(p) == offer
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert len(seen) == 2
    for statement, parameters in seen:
        assert "'counter_offer'" in statement and "'pending'" in statement
        assert "pending" not in repr(parameters) and "counter_offer" not in repr(parameters)
    assert "'in_vote'" in seen[1][0]


def test_a_counter_offer_put_to_the_members_is_a_vote_to_cast(world, make):
    p, offer = _negotiating(
        world, make, community_cash=Decimal("5000000"), municipal_share=Decimal("31000000")
    )
    offers.put_counter_offer_to_vote(p, world.leader, offer, utcnow() + timedelta(days=3))
    db.session.commit()
    needs = agenda.needs(world.member, world.co)
    assert [(b.proposal, b.offer) for b in needs.votes] == [(p, offer)]
    assert agenda.needs(world.leader, world.co).offers == []  # no longer waiting for him


def test_meetings_in_the_next_days_are_listed_but_not_counted(world, make):
    soon = make.meeting(world.co, held_at=utcnow() + timedelta(days=2))
    make.meeting(world.co, held_at=utcnow() + timedelta(days=30))
    make.meeting(world.co, held_at=utcnow() - timedelta(days=2))
    db.session.commit()
    needs = agenda.needs(world.member, world.co)
    assert needs.meetings == [soon]
    assert needs and needs.count == 0


# --- notifications name what is asked -------------------------------------------------------


def test_the_leader_is_told_a_decision_is_needed_on_a_counter_offer(world, make):
    p, offer = _negotiating(world, make, timeline="5 months")
    note = db.session.scalars(
        db.select(Notification).where(Notification.user_id == world.leader.id)
    ).all()[-1]
    assert text(note).startswith("Decision needed: counter-offer on")
    assert note.link.endswith(f"#m{offer.id}")


def test_members_are_told_their_vote_is_needed(world, make):
    _voting(world, make, title="Lane 3")
    note = db.session.scalars(
        db.select(Notification).where(Notification.user_id == world.member.id)
    ).all()[-1]
    assert text(note) == "Your vote is needed: “Lane 3”."


# --- the pages ------------------------------------------------------------------------------


def test_the_co_home_starts_with_the_vote_and_its_buttons(world, make, client, login):
    p = _voting(world, make, title="Lane 3")
    rnd = _round(world, make)
    login(world.member)
    html = client.get(f"/co/{world.co.id}").get_data(as_text=True)
    needs_at = html.index('id="needs"')
    assert needs_at < html.index('id="proposals"')
    section = html[needs_at : html.index("</section>", needs_at)]
    assert "Lane 3" in section
    assert f'action="/proposals/{p.id}/vote"' in section
    for choice in ("yes", "no", "abstain"):
        assert f'name="choice" value="{choice}"' in section
    assert f'href="/priorities/{rnd.id}"' in section or f"/priorities/{rnd.id}" in section
    # the top bar counts both and leads to them
    top = html[html.index('<header class="top">') : html.index("</header>")]
    assert re.search(r'href="/co/\d+#needs">.*Needs you <span class="badge">2</span>', top)


def test_voting_from_the_home_comes_back_to_the_home(world, make, client, login):
    p = _voting(world, make, title="Lane 3")
    login(world.member)
    r = client.post(
        f"/proposals/{p.id}/vote",
        data={"choice": "yes", "next": f"/co/{world.co.id}#needs"},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/co/{world.co.id}#needs")
    assert p.vote_rounds[0].yes_count == 1
    r = client.get(r.headers["Location"])
    assert "Your vote is counted: Yes." in r.get_data(as_text=True)
    assert 'id="needs"' not in r.get_data(as_text=True)  # nothing left to do


def test_the_next_address_cannot_leave_the_site(world, make, client, login):
    p = _voting(world, make)
    login(world.member)
    r = client.post(
        f"/proposals/{p.id}/vote", data={"choice": "yes", "next": "https://evil.example/"}
    )
    assert r.headers["Location"].endswith(f"/proposals/{p.id}#vote")


def test_voting_on_a_counter_offer_from_the_home(world, make, client, login):
    p, offer = _negotiating(
        world, make, community_cash=Decimal("5000000"), municipal_share=Decimal("31000000")
    )
    offers.put_counter_offer_to_vote(p, world.leader, offer, utcnow() + timedelta(days=3))
    db.session.commit()
    login(world.member)
    html = client.get(f"/co/{world.co.id}").get_data(as_text=True)
    action = f"/proposals/{p.id}/thread/offers/{offer.id}/vote"
    assert f'action="{action}"' in html
    r = client.post(action, data={"choice": "no", "next": f"/co/{world.co.id}#needs"})
    assert r.headers["Location"].endswith(f"/co/{world.co.id}#needs")
    assert agenda.needs(world.member, world.co).votes == []


def test_the_leader_sees_the_decision_needed_on_the_co_home(world, make, client, login):
    p, offer = _negotiating(world, make, timeline="5 months")
    login(world.leader)
    html = client.get(f"/co/{world.co.id}").get_data(as_text=True)
    assert f'href="/proposals/{p.id}/thread#m{offer.id}"' in html
    assert "Decision needed: counter-offer on" in html


def test_home_vote_buttons_carry_csrf(world, make, csrf_app, login):
    _voting(world, make)
    c = csrf_app.test_client()
    login(world.member, c)
    html = c.get(f"/co/{world.co.id}").data
    assert csrf_token(html)
