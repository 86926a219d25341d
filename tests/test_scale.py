"""Pages bounded by what they show, not by the data behind them: the CO home's sections, the
CO's proposals list, and the same number of SQL statements whatever the programme's size."""

from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import event

from consult.core.db import utcnow
from consult.core.enums import MessageKind, ProblemStatus, ProposalState
from consult.extensions import db
from consult.main.co_home import HOME_NEWEST
from consult.negotiation import service as negotiation
from tests.helpers import pager_link, submitted_proposal

# --- the CO home ----------------------------------------------------------------------------


def test_co_home_shows_counts_and_the_newest_few(world, make, client, as_user):
    start = utcnow() - timedelta(days=40)
    for i in range(HOME_NEWEST + 4):
        make.proposal(world.co, title=f"Draft #{i:02d}", created_at=start + timedelta(days=i))
    for i in range(3):
        submitted_proposal(make, world.co, title=f"Sent #{i}", created_at=start - timedelta(days=i))
    for i in range(HOME_NEWEST + 7):
        make.problem(world.co, title=f"Issue #{i:02d}", created_at=start + timedelta(days=i))
    make.problem(world.co, title="Closed issue", status=ProblemStatus.CLOSED)
    db.session.commit()
    as_user(world.leader)
    html = client.get(f"/co/{world.co.id}").get_data(as_text=True)
    drafts = [f"Draft #{i:02d}" for i in range(HOME_NEWEST + 4)]
    assert [t for t in drafts if t in html] == drafts[-HOME_NEWEST:]
    assert f"({HOME_NEWEST + 4 + 3})" in html  # all proposals
    # each state with its pictogram, then its word
    assert "Draft</span></a> <small>(9)</small>" in html
    assert "Submitted</span></a> <small>(3)</small>" in html
    assert f'href="/co/{world.co.id}/proposals?state=submitted"' in html
    assert f'href="/co/{world.co.id}/proposals"' in html
    issues = [f"Issue #{i:02d}" for i in range(HOME_NEWEST + 7)]
    assert [t for t in issues if t in html] == issues[-HOME_NEWEST:]
    assert f"({HOME_NEWEST + 7})" in html and "Closed issue" not in html
    assert f'href="/co/{world.co.id}/problems?status=open"' in html


def test_co_home_officer_counts_only_what_wassubmitted_proposal(world, make, client, as_user):
    make.proposal(world.co, title="Kitchen-table draft")
    submitted_proposal(make, world.co, title="Sent to the city")
    db.session.commit()
    as_user(world.officer)
    html = client.get(f"/co/{world.co.id}").get_data(as_text=True)
    assert "Sent to the city" in html and "Kitchen-table draft" not in html
    assert "Draft</span></a>" not in html and "(1)" in html


def test_open_problem_count_stops_at_its_cap(world, make, app, monkeypatch):
    from consult.core import pages

    for _ in range(4):
        make.problem(world.co)
    db.session.commit()
    from sqlalchemy import select

    from consult.problems.models import Problem

    query = select(Problem).where(Problem.co_id == world.co.id)
    assert pages.bounded_count(query, cap=3) == pages.Count(3, True)
    assert pages.bounded_count(query, cap=4) == pages.Count(4, False)
    from consult.core.formatting import count

    with app.test_request_context():
        assert count(pages.Count(1000, True)) == "1,000+"
        assert count(pages.Count(12, False)) == "12"


def test_unread_banner_counts_every_thread_of_the_co(world, make, client, as_user):
    old = submitted_proposal(
        make, world.co, title="Old one", created_at=utcnow() - timedelta(days=90)
    )
    for _ in range(HOME_NEWEST + 1):  # pushes the old proposal off the home's newest few
        make.proposal(world.co)
    negotiation.post_message(old, world.officer, MessageKind.COMMENT, "Any news?")
    db.session.commit()
    as_user(world.leader)
    html = client.get(f"/co/{world.co.id}").get_data(as_text=True)
    assert "Old one" not in html
    assert "1 unread message from the municipality" in html


# --- the CO's proposals list ----------------------------------------------------------------


def test_proposals_list_pages_filters_and_hides_drafts_from_officers(world, make, client, as_user):
    start = utcnow() - timedelta(days=60)
    for i in range(23):
        make.proposal(world.co, title=f"Scheme #{i:02d}", created_at=start + timedelta(days=i))
    submitted_proposal(make, world.co, title="Sent scheme", created_at=start - timedelta(days=1))
    db.session.commit()
    as_user(world.member)
    first = client.get(f"/co/{world.co.id}/proposals").get_data(as_text=True)
    assert "Scheme #22" in first and "Scheme #03" in first and "Scheme #02" not in first
    second = client.get(pager_link(first)).get_data(as_text=True)
    assert "Scheme #02" in second and "Sent scheme" in second and "Scheme #03" not in second
    only_sent = client.get(f"/co/{world.co.id}/proposals?state=submitted").get_data(as_text=True)
    assert "Sent scheme" in only_sent and "Scheme #" not in only_sent
    junk = client.get(f"/co/{world.co.id}/proposals?state=nonsense&after=zz")
    assert junk.status_code == 200 and "Scheme #22" in junk.get_data(as_text=True)
    as_user(world.officer)
    html = client.get(f"/co/{world.co.id}/proposals").get_data(as_text=True)
    assert "Sent scheme" in html and "Scheme #" not in html
    as_user(world.other_leader)
    assert client.get(f"/co/{world.co.id}/proposals").status_code == 403


# --- the same statements at every size -------------------------------------------------------


def _statements(client, url) -> int:
    g.pop("_login_user", None)  # each request loads like a new one (IsolatedClient)
    db.session.expire_all()
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert r.status_code == 200, url
    return len(seen)


def _grow(world, make, n: int) -> None:
    """More of everything on the pages measured: proposals, problems, meetings, messages."""
    start = utcnow() - timedelta(days=300)
    for i in range(n):
        at = start + timedelta(hours=i)
        p = submitted_proposal(make, world.co, created_at=at, submitted_at=at)
        negotiation.post_message(p, world.officer, MessageKind.COMMENT, f"Note {i}")
        make.proposal(world.co, created_at=at)
        make.problem(world.co, created_at=at)
        make.meeting(world.co, held_at=at)
    db.session.commit()


@pytest.mark.parametrize("who", ["leader", "officer"])
def test_statement_counts_do_not_grow_with_the_data(world, make, client, as_user, who):
    p = submitted_proposal(make, world.co, title="The measured one")
    for i in range(3):
        negotiation.post_message(p, world.officer, MessageKind.COMMENT, f"First {i}")
    make.problem(world.co)  # one of each: an empty list runs fewer statements than a short one
    make.meeting(world.co)
    db.session.commit()
    urls = [
        f"/co/{world.co.id}",
        f"/co/{world.co.id}/proposals",
        f"/co/{world.co.id}/problems",
        f"/co/{world.co.id}/problems?status=open",
        f"/proposals/{p.id}",
        f"/proposals/{p.id}/thread",
    ]
    if who == "leader":
        urls.append(f"/co/{world.co.id}/meetings")
    else:
        urls.append(f"/municipalities/{world.municipality.id}/inbox")
        urls.append(f"/municipalities/{world.municipality.id}/inbox?sort=waiting")
    as_user(getattr(world, who))
    small = {u: _statements(client, u) for u in urls}
    _grow(world, make, 45)
    for i in range(45):  # a long thread on the measured proposal
        negotiation.post_message(p, world.leader, MessageKind.COMMENT, f"Later {i}")
    db.session.commit()
    as_user(getattr(world, who))
    large = {u: _statements(client, u) for u in urls}
    assert small == large
    # a page deep in the lists costs what the first does
    deep = [f"/co/{world.co.id}/proposals", f"/proposals/{p.id}/thread"]
    if who == "officer":
        deep.append(f"/municipalities/{world.municipality.id}/inbox")
    for u in deep:
        html = client.get(u).get_data(as_text=True)
        assert _statements(client, pager_link(html)) <= large[u]


def _repeat_statements(client, url) -> int:
    tag = client.get(url).headers["ETag"]
    r, n = _statement_count(client, url, headers={"If-None-Match": tag})
    assert r.status_code == 304, url
    return n


@pytest.mark.parametrize("who", ["leader", "officer"])
def test_repeat_views_cost_one_statement_at_every_size(world, make, client, as_user, who):
    p = submitted_proposal(make, world.co, title="The measured one")
    negotiation.post_message(p, world.officer, MessageKind.COMMENT, "First")
    make.problem(world.co)
    db.session.commit()
    urls = [f"/co/{world.co.id}", f"/proposals/{p.id}", f"/proposals/{p.id}/thread"]
    if who == "leader":
        urls += [f"/co/{world.co.id}/proposals", f"/co/{world.co.id}/problems?status=open"]
    else:
        urls.append(f"/municipalities/{world.municipality.id}/inbox")
    as_user(getattr(world, who))
    small = {u: _repeat_statements(client, u) for u in urls}
    _grow(world, make, 45)
    as_user(getattr(world, who))
    large = {u: _repeat_statements(client, u) for u in urls}
    if who == "officer":  # and the inbox's deep page, found through its pager
        html = client.get(urls[-1]).get_data(as_text=True)
        assert _repeat_statements(client, pager_link(html)) == large[urls[-1]]
    assert small == large
    assert max(large.values()) == 1  # the reader's account with the page's version


# --- the dashboard from a snapshot, and conditional GET ---------------------------------------


@pytest.fixture
def snapshots_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "MONITORING_SNAPSHOT_SECONDS", 300)


def _statement_count(client, url, **kw):
    g.pop("_login_user", None)
    db.session.expire_all()
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = client.get(url, **kw)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return r, len(seen)


def test_dashboard_reuses_its_snapshot_and_says_when_it_was_taken(
    world, make, client, as_user, snapshots_on
):
    from consult.extensions import cache

    make.meeting(world.co)
    db.session.commit()
    as_user(world.staff)
    first, computed = _statement_count(client, "/monitoring/")
    assert first.status_code == 200 and "Figures as of" in first.get_data(as_text=True)
    again, reused = _statement_count(client, "/monitoring/")
    assert again.get_data(as_text=True) == first.get_data(as_text=True) or reused
    assert reused < computed - 3  # no indicator was recomputed (4 to 6 statements now)
    meetings = first.get_data(as_text=True).count("Meetings held")
    assert meetings
    make.meeting(world.co)
    db.session.commit()
    # within the snapshot's life the figures stay as they were, and say so
    assert again.headers["ETag"] == client.get("/monitoring/").headers["ETag"]
    cache.clear()  # the snapshot expires (or `consult refresh-monitoring` runs)
    assert client.get("/monitoring/").headers["ETag"] != again.headers["ETag"]


def test_dashboard_repeat_view_is_a_304(world, client, as_user, snapshots_on):
    as_user(world.staff)
    first = client.get("/monitoring/")
    tag = first.headers["ETag"]
    assert first.headers["Cache-Control"] in ("private, no-cache", "no-cache, private")
    assert first.headers.get("Last-Modified")
    repeat, statements = _statement_count(client, "/monitoring/", headers={"If-None-Match": tag})
    assert repeat.status_code == 304 and repeat.data == b""
    assert statements <= 6
    # another period is another page
    other = client.get("/monitoring/?period=last12", headers={"If-None-Match": tag})
    assert other.status_code == 200
    # another reader never gets a 304 on someone else's copy
    second_staff = make_staff()
    as_user(second_staff)
    assert client.get("/monitoring/", headers={"If-None-Match": tag}).status_code == 200


def test_a_repeat_view_is_answered_before_the_filters_are_read(
    world, client, as_user, snapshots_on, monkeypatch
):
    """The dashboard's form lists every place (140 at programme scale) and a summary reads its
    zone: a repeat view of a snapshot page finds the scope its filters resolved to a moment
    ago, and is answered from one statement (the reader's account with the page's version),
    before the account object, the form or the page's CO are loaded."""
    from consult.monitoring import service

    places = service.places
    read = []
    monkeypatch.setattr(service, "places", lambda: read.append(1) or places())
    as_user(world.staff)
    for url, statements in (
        ("/monitoring/?period=last_12_months", 1),
        (f"/monitoring/co/{world.co.id}", 1),
        (f"/monitoring/municipality/{world.municipality.id}", 1),
    ):
        tag = client.get(url).headers["ETag"]
        read.clear()
        repeat, count = _statement_count(client, url, headers={"If-None-Match": tag})
        assert (repeat.status_code, count, read) == (304, statements, []), url
    # a filter seen for the first time is read as before
    r = client.get("/monitoring/?period=this_year", headers={"If-None-Match": tag})
    assert r.status_code == 200 and read == [1]


def test_a_repeat_view_over_the_scope_s_midnight_is_a_new_year(
    world, client, as_user, snapshots_on, monkeypatch
):
    """A scope is remembered a minute at most and never past its own midnight: "this year" is
    2027 ten seconds after the new year begins where the programme is, even for a reader who
    saw 2026 twenty seconds before."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from consult.core import localtime
    from consult.monitoring import scope as scopes

    zone = ZoneInfo(scopes.days_of()["timezone"])
    clock = [datetime(2026, 12, 31, 23, 59, 50, tzinfo=zone).astimezone(UTC)]
    for module in (localtime, scopes):
        monkeypatch.setattr(module, "utcnow", lambda: clock[0])
    as_user(world.staff)
    old = client.get("/monitoring/")
    assert (
        client.get("/monitoring/", headers={"If-None-Match": old.headers["ETag"]}).status_code
        == 304
    )
    clock[0] += timedelta(seconds=20)
    new = client.get("/monitoring/", headers={"If-None-Match": old.headers["ETag"]})
    assert new.status_code == 200 and new.headers["ETag"] != old.headers["ETag"]
    assert "2027" in new.get_data(as_text=True)


def make_staff():
    from tests import factories

    user = factories.staff(name="Second staff")
    db.session.commit()
    return user


def test_no_304_while_a_message_waits_to_be_shown(world, client, as_user, snapshots_on):
    as_user(world.staff)
    tag = client.get("/monitoring/").headers["ETag"]
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Saved.")]
    r = client.get("/monitoring/", headers={"If-None-Match": tag})
    assert r.status_code == 200 and "Saved." in r.get_data(as_text=True)


def test_refresh_command_takes_the_snapshots_ahead_of_readers(
    world, make, client, as_user, runner, snapshots_on
):
    make.meeting(world.co)
    db.session.commit()
    result = runner.invoke(args=["refresh-monitoring"])
    assert result.exit_code == 0, result.output
    assert "snapshots refreshed" in result.output
    as_user(world.staff)
    r, statements = _statement_count(client, "/monitoring/")
    assert r.status_code == 200 and "Figures as of" in r.get_data(as_text=True)
    assert statements <= 8  # read from the snapshot: no indicator query


def test_co_home_proposal_and_thread_answer_304_until_they_change(
    world, make, client, as_user, csrf_app
):
    p = submitted_proposal(make, world.co, title="Footbridge")
    negotiation.post_message(p, world.officer, MessageKind.COMMENT, "Received.")
    db.session.commit()
    pages = [f"/co/{world.co.id}", f"/proposals/{p.id}", f"/proposals/{p.id}/thread"]
    # CSRF on, as in production: the tokens on the page differ on every render
    strict = csrf_app.test_client()
    with strict.session_transaction() as session:
        session["_user_id"] = world.leader.get_id()
        session["_fresh"] = True
    tags = {}
    for url in pages:
        first = strict.get(url)
        assert first.status_code == 200 and first.headers["ETag"]
        assert "private" in first.headers["Cache-Control"]
        assert "no-cache" in first.headers["Cache-Control"]
        tags[url] = first.headers["ETag"]
        repeat = strict.get(url, headers={"If-None-Match": tags[url]})
        assert repeat.status_code == 304 and repeat.data == b"", url
    negotiation.post_message(p, world.officer, MessageKind.COMMENT, "When can we visit?")
    make.problem(world.co, title="Broken lamp")
    db.session.commit()
    for url in pages:
        changed = strict.get(url, headers={"If-None-Match": tags[url]})
        assert changed.status_code == 200, url


def test_co_home_meetings_coming_up_and_last(world, make, client, as_user):
    now = utcnow()
    for d in (1, 2, 3, 4):
        make.meeting(world.co, held_at=now + timedelta(days=d), place=f"Soon {d}")
        make.meeting(world.co, held_at=now - timedelta(days=d), place=f"Past {d}")
    db.session.commit()
    as_user(world.leader)
    html = client.get(f"/co/{world.co.id}").get_data(as_text=True)
    coming, last = html.split("Coming up")[1].split("Last meetings")
    assert [p for p in ("Soon 1", "Soon 2", "Soon 3", "Soon 4") if p in coming] == [
        "Soon 1",
        "Soon 2",
        "Soon 3",
    ]
    assert "Past" not in coming
    shown = [f"Past {d}" for d in (1, 2, 3, 4) if f"Past {d}" in last]
    # the last three held, newest first (the place is not on the list: order by their dates)
    assert len([m for m in last.split("<li") if "present" in m]) == 3
    assert shown == [] or shown == ["Past 1", "Past 2", "Past 3"]


def test_dashboard_figures_are_rendered_once_per_snapshot(
    world, make, client, as_user, snapshots_on, monkeypatch
):
    from consult.monitoring import snapshots

    make.meeting(world.co)
    db.session.commit()
    as_user(world.staff)
    first = client.get("/monitoring/").get_data(as_text=True)
    renders = []
    original = snapshots.rendered

    def counting(snapshot, variant, render):
        return original(snapshot, variant, lambda: renders.append(variant) or render())

    monkeypatch.setattr(snapshots, "rendered", counting)
    again = client.get("/monitoring/").get_data(as_text=True)
    assert renders == []  # the tables and charts came from the cache
    assert "At a glance" in again and again.count("<svg") == first.count("<svg")
    # another filter is another variant (its export links differ): rendered once, then kept
    client.get("/monitoring/?period=this_year")
    client.get("/monitoring/?period=this_year")
    assert len(renders) == 1


def test_an_open_counter_offer_stays_answerable_when_later_messages_push_it_back(
    world, make, client, as_user
):
    from decimal import Decimal

    from consult.negotiation import offers

    p = submitted_proposal(make, world.co, state=ProposalState.UNDER_REVIEW)
    offers.counter_offer(
        p,
        world.officer,
        municipal_share=Decimal("30000000"),
        community_cash=p.latest_version.community_cash,
        community_labour=p.latest_version.community_labour,
        body="Our offer",
    )
    for i in range(negotiation.THREAD_PAGE + 2):
        negotiation.post_message(p, world.officer, MessageKind.COMMENT, f"Later note {i}")
    db.session.commit()
    as_user(world.leader)
    html = client.get(f"/proposals/{p.id}/thread").get_data(as_text=True)
    assert "Our offer" not in html  # the offer's message is on an earlier page
    assert "A counter-offer waits for the community" in html
    assert "Accept: these terms become a new version" in html
