"""The municipality's inbox: who sees it, order, filters, the response clock, unread counts."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from consult.core.enums import MessageKind, ProposalState
from consult.core.pages import Count
from consult.extensions import db
from consult.negotiation import service
from consult.negotiation.models import Message
from consult.proposals.models import ProposalVersion
from tests.helpers import pager_link

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def submitted(make, co, state=ProposalState.SUBMITTED, **kw):
    """A proposal as the municipality receives it: submitted, with its first version."""
    p = make.proposal(co, state=state, **kw)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    return p


def inbox_url(m, **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/municipalities/{m.id}/inbox" + (f"?{query}" if query else "")


def titles_in(html: str, titles: list[str]) -> list[str]:
    """The given titles in the order the page shows them (absent ones left out)."""
    return sorted((t for t in titles if t in html), key=html.index)


# --- the response clock (service) -----------------------------------------------------------


def test_overdue_boundary(world, make):
    world.municipality.response_target_days = 14
    on_time = submitted(make, world.co, submitted_at=NOW - timedelta(days=14))
    almost = submitted(make, world.co, submitted_at=NOW - timedelta(days=14, hours=23))
    late = submitted(make, world.co, submitted_at=NOW - timedelta(days=15))
    assert service.days_waiting(on_time, NOW) == 14
    assert not service.is_overdue(on_time, NOW)
    assert service.days_waiting(almost, NOW) == 14
    assert not service.is_overdue(almost, NOW)
    assert service.days_waiting(late, NOW) == 15
    assert service.is_overdue(late, NOW)
    summary = service.inbox_summary(world.municipality, NOW)
    assert (summary.waiting.value, summary.overdue.value) == (3, 1)


def test_answered_proposals_neither_wait_nor_run_late(world, make):
    p = submitted(
        make,
        world.co,
        state=ProposalState.UNDER_REVIEW,
        submitted_at=NOW - timedelta(days=40),
        first_response_at=NOW - timedelta(days=30),
    )
    assert service.days_waiting(p, NOW) == 10  # the wait stopped at the answer
    assert not service.is_overdue(p, NOW)
    gone = submitted(
        make, world.co, state=ProposalState.WITHDRAWN, submitted_at=NOW - timedelta(days=40)
    )
    assert not service.is_overdue(gone, NOW)  # withdrawn: nobody waits any more
    summary = service.inbox_summary(world.municipality, NOW)
    assert (summary.waiting.value, summary.overdue.value) == (0, 0)


def test_summary_counts_only_this_municipality(world, make):
    submitted(make, world.other_co, submitted_at=NOW - timedelta(days=90))
    make.proposal(world.co, state=ProposalState.APPROVED)  # not submitted yet
    summary = service.inbox_summary(world.municipality, NOW)
    assert (summary.waiting.value, summary.overdue.value) == (0, 0)


def test_answer_stops_the_clock(world, make):
    p = submitted(make, world.co, submitted_at=NOW - timedelta(days=20))
    assert service.inbox_summary(world.municipality, NOW).overdue.value == 1
    service.acknowledge(p, world.officer)
    assert service.inbox_summary(world.municipality, NOW).overdue.value == 0
    assert service.inbox_summary(world.municipality, NOW).waiting.value == 0


def test_summary_stops_counting_at_the_cap(world, make):
    world.municipality.response_target_days = 14
    for days in (30, 20, 2):
        submitted(make, world.co, submitted_at=NOW - timedelta(days=days))
    summary = service.inbox_summary(world.municipality, NOW, cap=2)
    assert (summary.total, summary.waiting) == (Count(2, True), Count(2, True))
    assert summary.overdue == Count(2, False)  # 30 and 20 days; 2 days is on time
    filtered = service.inbox_summary(world.municipality, NOW, state=ProposalState.NEGOTIATING)
    assert filtered.total == Count(0, False)
    assert filtered.waiting == Count(3, False)  # the summary is of every submitted proposal


# --- who sees it ----------------------------------------------------------------------------


def test_inbox_access(world, make, client, login):
    submitted(make, world.co, title="Footbridge over the canal")
    db.session.commit()
    url = inbox_url(world.municipality)
    login(world.officer)
    r = client.get(url)
    assert r.status_code == 200
    assert "Footbridge over the canal" in r.get_data(as_text=True)
    login(world.staff)
    assert client.get(url).status_code == 200
    login(world.other_officer)
    assert client.get(url).status_code == 403
    login(world.leader)
    assert client.get(url).status_code == 403
    assert client.get("/municipalities/999999/inbox").status_code == 404


def test_inbox_lists_only_what_was_submitted_to_this_municipality(world, make, client, login):
    submitted(make, world.co, title="Ours submitted")
    make.proposal(world.co, state=ProposalState.APPROVED, title="Ours not yet submitted")
    submitted(make, world.other_co, title="Someone else's")
    db.session.commit()
    login(world.officer)
    html = client.get(inbox_url(world.municipality)).get_data(as_text=True)
    assert "Ours submitted" in html
    assert "Ours not yet submitted" not in html
    assert "Someone else&#39;s" not in html and "Someone else's" not in html


def test_inbox_shows_each_proposals_facts(world, make, client, login):
    world.municipality.response_target_days = 14
    submitted(
        make,
        world.co,
        title="Late lane",
        amount_requested=12_500_000,
        submitted_at=datetime.now(UTC) - timedelta(days=20),
    )
    db.session.commit()
    login(world.officer)
    html = client.get(inbox_url(world.municipality)).get_data(as_text=True)
    assert "Boeung Kak CO · Boeung Kak</small>" in html
    assert "12,500,000" in html
    assert "waiting 20 days" in html and "overdue" in html
    assert "1 waiting for a first response" in html
    assert "1 overdue" in html
    assert 'class="state state-submitted"' in html


# --- order, filters, pages -------------------------------------------------------------------


@pytest.fixture
def three(world, make):
    """Three proposals in two settlements: answered-old, waiting-older, waiting-newest."""
    now = datetime.now(UTC)
    second = make.co(make.settlement(world.municipality, name="Tonle Bassac"), name="Bassac CO")
    answered = submitted(
        make,
        world.co,
        state=ProposalState.UNDER_REVIEW,
        title="Answered drain",
        submitted_at=now - timedelta(days=30),
        first_response_at=now - timedelta(days=29),
    )
    older = submitted(make, second, title="Older toilets", submitted_at=now - timedelta(days=10))
    newest = submitted(make, world.co, title="Newest lane", submitted_at=now - timedelta(days=1))
    db.session.commit()
    return answered, older, newest, second


TITLES = ["Answered drain", "Older toilets", "Newest lane"]


def test_inbox_newest_first_by_default(world, three, client, login):
    login(world.officer)
    html = client.get(inbox_url(world.municipality)).get_data(as_text=True)
    assert titles_in(html, TITLES) == ["Newest lane", "Older toilets", "Answered drain"]


def test_inbox_oldest_waiting_first(world, three, client, login):
    login(world.officer)
    html = client.get(inbox_url(world.municipality, sort="waiting")).get_data(as_text=True)
    assert titles_in(html, TITLES) == ["Older toilets", "Newest lane", "Answered drain"]


def test_inbox_filter_by_state(world, three, client, login):
    login(world.officer)
    html = client.get(inbox_url(world.municipality, state="under_review")).get_data(as_text=True)
    assert titles_in(html, TITLES) == ["Answered drain"]


def test_inbox_filter_by_settlement(world, three, client, login):
    second = three[3]
    login(world.officer)
    url = inbox_url(world.municipality, settlement=second.settlement_id)
    html = client.get(url).get_data(as_text=True)
    assert titles_in(html, TITLES) == ["Older toilets"]


def test_inbox_ignores_junk_filters(world, three, client, login):
    login(world.officer)
    other_settlement = world.other_co.settlement_id  # not one of this municipality's
    url = inbox_url(
        world.municipality, state="bogus", settlement=other_settlement, sort="x", page="y"
    )
    r = client.get(url)
    assert r.status_code == 200
    assert titles_in(r.get_data(as_text=True), TITLES) == [
        "Newest lane",
        "Older toilets",
        "Answered drain",
    ]


def test_inbox_paginates_and_keeps_filters(world, make, client, login):
    from consult.negotiation import inbox as routes

    start = datetime.now(UTC) - timedelta(days=5)
    for i in range(routes.PER_PAGE + 2):
        submitted(make, world.co, title=f"Scheme #{i:02d}", submitted_at=start + timedelta(hours=i))
    db.session.commit()
    login(world.officer)
    first = client.get(inbox_url(world.municipality, state="submitted")).get_data(as_text=True)
    assert f"Scheme #{routes.PER_PAGE + 1:02d}" in first and "Scheme #00" not in first
    assert f"{routes.PER_PAGE + 2} proposals" in first
    assert 'rel="prev"' not in first
    after = pager_link(first, "next")
    assert "after=" in after and "state=submitted" in after and "page=" not in after
    html = client.get(after).get_data(as_text=True)
    assert "Scheme #00" in html and "Scheme #01" in html
    assert f"Scheme #{routes.PER_PAGE + 1:02d}" not in html
    assert 'rel="next"' not in html
    # and back: the page before the second is the first again
    back = client.get(pager_link(html, "prev")).get_data(as_text=True)
    assert titles_in(back, [f"Scheme #{i:02d}" for i in range(routes.PER_PAGE + 2)]) == [
        f"Scheme #{i:02d}" for i in range(routes.PER_PAGE + 1, 1, -1)
    ]


def test_inbox_waiting_order_pages_without_gaps_or_repeats(world, make, client, login):
    from consult.negotiation import inbox as routes

    start = datetime.now(UTC) - timedelta(days=30)
    titles = []
    for i in range(routes.PER_PAGE + 5):
        answered = {"first_response_at": start + timedelta(days=20)} if i % 3 == 0 else {}
        state = ProposalState.UNDER_REVIEW if answered else ProposalState.SUBMITTED
        submitted(
            make,
            world.co,
            state=state,
            title=f"Scheme #{i:02d}",
            submitted_at=start + timedelta(hours=i),
            **answered,
        )
        titles.append(f"Scheme #{i:02d}")
    db.session.commit()
    login(world.officer)
    first = client.get(inbox_url(world.municipality, sort="waiting")).get_data(as_text=True)
    second = client.get(pager_link(first, "next")).get_data(as_text=True)
    shown = titles_in(first, titles) + titles_in(second, titles)
    waiting = [t for i, t in enumerate(titles) if i % 3]
    answered = [t for i, t in enumerate(titles) if i % 3 == 0]
    assert shown == waiting + answered


def test_inbox_ignores_a_cursor_it_did_not_make(world, three, client, login):
    login(world.officer)
    for junk in ("x", "eyJhIjoxfQ", "WzEsMl0", "W3siZCI6IjIwMjYtMDEtMDEifSwxXQ"):
        r = client.get(inbox_url(world.municipality, after=junk))
        assert r.status_code == 200
        assert titles_in(r.get_data(as_text=True), TITLES) == [
            "Newest lane",
            "Older toilets",
            "Answered drain",
        ]


# --- unread counts ---------------------------------------------------------------------------


def test_unread_counts_drop_when_the_officer_reads_the_thread(world, make, client, login):
    p = submitted(make, world.co, title="Water point")
    service.post_message(p, world.leader, MessageKind.COMMENT, "Any news?")
    service.post_message(p, world.leader, MessageKind.COMMENT, "We are waiting.")
    db.session.commit()
    login(world.officer)
    html = client.get(inbox_url(world.municipality)).get_data(as_text=True)
    assert "2 new" in html
    assert client.get(f"/proposals/{p.id}/thread").status_code == 200
    assert "2 new" in client.get(inbox_url(world.municipality)).get_data(as_text=True)
    last = db.session.scalar(select(func.max(Message.id)))
    assert client.post(f"/proposals/{p.id}/thread/read", data={"up_to": last}).status_code == 302
    html = client.get(inbox_url(world.municipality)).get_data(as_text=True)
    assert "new</span>" not in html
    # Staff read the same inbox and still have both messages unread.
    login(world.staff)
    assert "2 new" in client.get(inbox_url(world.municipality)).get_data(as_text=True)


def test_own_messages_never_count_as_unread_in_the_inbox(world, make, client, login):
    p = submitted(make, world.co, title="Water point")
    service.post_message(p, world.officer, MessageKind.QUESTION, "How many households?")
    db.session.commit()
    login(world.officer)
    html = client.get(inbox_url(world.municipality)).get_data(as_text=True)
    assert "new</span>" not in html
