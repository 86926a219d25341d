"""Conditional GET before the work: the CO home, the CO's proposals and open problems, a
proposal, its thread and the inbox answer a repeat view with a 304 from one statement (the
reader's account read with the page's version), and with the page after anything that changes it."""

import time
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import event

from consult.communities import service as communities
from consult.core import conditional
from consult.core.db import utcnow
from consult.core.enums import MessageKind, ProposalState
from consult.extensions import db
from consult.negotiation import service as negotiation
from consult.notifications import service as notifications
from consult.proposals import service as proposals
from tests.helpers import submitted_proposal


def _get(client, url, tag=None):
    """The response to ``url`` (with ``tag`` as If-None-Match) and its SQL statements."""
    g.pop("_login_user", None)
    db.session.expire_all()
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = client.get(url, headers={"If-None-Match": tag} if tag else {})
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return r, len(seen)


@pytest.fixture
def scene(world, make):
    p = submitted_proposal(make, world.co, title="Footbridge")
    negotiation.post_message(p, world.officer, MessageKind.COMMENT, "Received.")
    make.problem(world.co, title="Broken lamp")
    make.meeting(world.co)
    db.session.commit()
    co, m = world.co.id, world.municipality.id
    leader = [
        f"/co/{co}",
        f"/co/{co}/proposals",
        f"/co/{co}/problems?status=open",
        f"/proposals/{p.id}",
        f"/proposals/{p.id}/thread",
    ]
    officer = [f"/co/{co}", f"/proposals/{p.id}", f"/proposals/{p.id}/thread"]
    officer += [f"/municipalities/{m}/inbox", f"/municipalities/{m}/inbox?sort=waiting"]
    return p, {"leader": leader, "officer": officer}


def _tags(client, urls) -> dict:
    tags = {}
    for url in urls:
        first, _n = _get(client, url)
        assert first.status_code == 200, url
        tags[url] = first.headers["ETag"].strip('"')
        assert "private" in first.headers["Cache-Control"], url
        assert "no-cache" in first.headers["Cache-Control"], url
    return tags


def _all_changed(client, tags) -> None:
    for url, tag in tags.items():
        r, _n = _get(client, url, tag)
        assert r.status_code == 200, url


@pytest.mark.parametrize("who", ["leader", "officer"])
def test_a_repeat_view_is_a_304_from_one_statement(world, scene, client, as_user, who):
    _p, urls = scene
    as_user(getattr(world, who))
    tags = _tags(client, urls[who])
    for url, tag in tags.items():
        r, statements = _get(client, url, tag)
        assert r.status_code == 304 and r.data == b"", url
        assert statements == 1, url  # the reader's account with the page's version
        assert r.headers["ETag"].strip('"') == tag


def test_a_new_message_state_change_or_problem_changes_the_pages(
    world, make, scene, client, as_user
):
    p, urls = scene
    as_user(world.leader)
    tags = _tags(client, urls["leader"])
    negotiation.post_message(p, world.officer, MessageKind.QUESTION, "When can we visit?")
    db.session.commit()
    _all_changed(client, tags)
    after = _tags(client, urls["leader"])
    proposals.apply_transition(p, "withdraw", world.leader)  # a state change
    db.session.commit()
    _all_changed(client, after)
    html = _get(client, f"/proposals/{p.id}")[0].get_data(as_text=True)
    assert "Withdrawn" in html


def test_the_officer_inbox_changes_with_a_submission_anywhere_in_the_municipality(
    world, make, scene, client, as_user
):
    _p, urls = scene
    as_user(world.officer)
    tags = _tags(client, urls["officer"])
    later = make.proposal(world.co, title="Water point", state=ProposalState.APPROVED)
    proposals.submit(later, world.leader)
    db.session.commit()
    inbox = [u for u in tags if "inbox" in u]
    _all_changed(client, {u: tags[u] for u in inbox})


def test_a_vote_changes_the_home_and_the_proposal_page(world, make, client, as_user):
    p = make.proposal(world.co, title="Drain")
    proposals.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    db.session.commit()
    urls = [f"/co/{world.co.id}", f"/proposals/{p.id}"]
    as_user(world.member)
    tags = _tags(client, urls)
    assert client.post(f"/proposals/{p.id}/vote", data={"choice": "yes"}).status_code == 302
    _get(client, urls[0])  # the flash message is shown (and that page is not tagged)
    _all_changed(client, tags)


def test_a_notification_or_a_read_receipt_changes_the_reader_s_pages(world, scene, client, as_user):
    p, urls = scene
    as_user(world.leader)
    tags = _tags(client, urls["leader"])
    notifications.notify([world.leader], "proposal.submitted", proposal_id=p.id, title=p.title)
    db.session.commit()
    _all_changed(client, tags)
    tags = _tags(client, urls["leader"])
    negotiation.mark_read(world.leader, p.id)
    db.session.commit()
    _all_changed(client, tags)


def test_the_dashboard_s_repeat_view_reads_the_reader_s_menu_with_their_account(
    app, world, scene, client, as_user, monkeypatch
):
    """The dashboard and the summaries are tagged by their snapshot's time; what the menu
    shows about the reader comes with their account (no statement of its own), and a new
    notification still changes the page."""
    monkeypatch.setitem(app.config, "MONITORING_SNAPSHOT_SECONDS", 300)  # as in production
    p, _urls = scene
    urls = ["/monitoring/", f"/monitoring/co/{world.co.id}"]
    urls.append(f"/monitoring/municipality/{world.municipality.id}")
    as_user(world.staff)
    tags = _tags(client, urls)
    # the reader (with the menu's versions); the places listed, or the place and its zone
    most = dict(zip(urls, (2, 3, 3), strict=True))
    for url, tag in tags.items():
        r, statements = _get(client, url, tag)
        assert r.status_code == 304, url
        assert statements <= most[url], url
    notifications.notify([world.staff], "proposal.submitted", proposal_id=p.id, title=p.title)
    db.session.commit()
    _all_changed(client, tags)


def test_another_reader_or_language_never_gets_the_first_one_s_304(world, scene, client, as_user):
    _p, urls = scene
    as_user(world.leader)
    tags = _tags(client, urls["leader"])
    as_user(world.member)
    _all_changed(client, tags)
    as_user(world.leader)
    tags = _tags(client, urls["leader"])
    world.leader.language = "km"
    db.session.commit()
    _all_changed(client, tags)


def test_a_made_up_tag_or_a_waiting_message_gets_the_page(world, scene, client, as_user):
    _p, urls = scene
    url = urls["leader"][0]
    as_user(world.leader)
    assert _get(client, url, "0" * 32)[0].status_code == 200
    # "any copy at all" is not a copy this reader was given
    assert client.get(url, headers={"If-None-Match": "*"}).status_code == 200
    tag = _tags(client, [url])[url]
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Saved.")]
    r, _n = _get(client, url, tag)
    assert r.status_code == 200 and "Saved." in r.get_data(as_text=True)
    assert "ETag" not in r.headers  # a page with a message shown once is not tagged


def test_a_member_who_left_is_refused_not_told_their_copy_is_current(world, scene, client, as_user):
    _p, urls = scene
    as_user(world.member)
    url = f"/co/{world.co.id}/proposals"
    tag = _tags(client, [url])[url]
    communities.end_membership(world.member.membership_in(world.co.id), by=world.leader)
    db.session.commit()
    assert _get(client, url, tag)[0].status_code == 403


def test_a_page_changes_by_itself_when_a_meeting_starts_or_a_vote_closes(
    world, make, client, as_user, monkeypatch
):
    now = utcnow()
    make.meeting(world.co, held_at=now + timedelta(hours=2), place="Soon")
    p = make.proposal(world.co, title="Drain")
    proposals.open_vote(p, world.leader, now + timedelta(hours=5))
    db.session.commit()
    urls = [f"/co/{world.co.id}", f"/proposals/{p.id}"]
    as_user(world.leader)
    tags = _tags(client, urls)
    for url, tag in tags.items():
        assert _get(client, url, tag)[0].status_code == 304
    monkeypatch.setattr(conditional, "utcnow", lambda: now + timedelta(hours=3))  # it has started
    _all_changed(client, tags)
    tags = _tags(client, urls)
    monkeypatch.setattr(conditional, "utcnow", lambda: now + timedelta(hours=6))  # the vote closed
    _all_changed(client, tags)


def test_a_moment_that_passes_within_a_tag_s_window_changes_the_page(
    world, make, client, as_user, monkeypatch
):
    # the version looks for the next moments within a horizon only (PostgreSQL then plans it
    # once): a vote that closes minutes after the tag, in the same time window, still counts
    window = conditional.WINDOW_SECONDS
    now = utcnow()
    # a minute into the next window: in the future, so the vote can still close after it
    start = now + timedelta(seconds=window - now.timestamp() % window) + timedelta(minutes=1)
    p = make.proposal(world.co, title="Drain")
    proposals.open_vote(p, world.leader, start + timedelta(minutes=10))
    db.session.commit()
    urls = [f"/co/{world.co.id}", f"/proposals/{p.id}"]
    as_user(world.leader)
    monkeypatch.setattr(conditional, "utcnow", lambda: start)
    tags = _tags(client, urls)
    monkeypatch.setattr(conditional, "utcnow", lambda: start + timedelta(minutes=5))
    for url, tag in tags.items():
        assert _get(client, url, tag)[0].status_code == 304, url  # nothing passed yet
    monkeypatch.setattr(conditional, "utcnow", lambda: start + timedelta(minutes=11))
    _all_changed(client, tags)  # the vote closed, in the same window


def test_a_co_s_trail_version_reads_the_latest_events_only(world, monkeypatch):
    """The version of a CO's audit trail reads the programme's latest events only (its cost
    does not grow with the CO's history), yet changes with every new event in the CO, also
    one that arrives after an event with a larger id (two writers committing out of order)."""
    from sqlalchemy import select

    from consult.audit import service as audit
    from consult.audit.models import AuditEvent

    monkeypatch.setattr(audit, "RECENT_EVENTS", 3)
    co = world.co.id

    def version():
        return db.session.scalar(select(audit.events_in(co)))

    def event(id_=None, where=co):
        values = audit.event_values("test.event", "CommunityOrganisation", where, co_id=where)
        db.session.add(AuditEvent(id=id_, **values))
        db.session.flush()

    for _ in range(5):
        event()
    ids = db.session.scalars(select(AuditEvent.id).where(AuditEvent.co_id == co)).all()
    assert version() == f"3:{sum(sorted(ids)[-3:])}"  # the older two are not read
    before = version()
    event(id_=max(ids) + 2)  # the writer with the larger id commits first…
    assert version() != before
    before = version()
    event(id_=max(ids) + 1)  # …and the other one after it
    assert version() != before
    before = version()
    event(
        id_=max(ids) + 3, where=world.other_co.id
    )  # elsewhere: one of this CO's leaves the window
    assert version() != before  # a new version, harmless


def _isolation_levels(client, method, url, **kw) -> set:
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(conn.get_execution_options().get("isolation_level"))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        getattr(client, method)(url, **kw)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return set(seen)


def test_pages_that_only_read_run_without_a_transaction(world, scene, client, as_user):
    p, urls = scene
    as_user(world.leader)
    for url in urls["leader"]:
        assert _isolation_levels(client, "get", url) == {"AUTOCOMMIT"}, url
    # a form that writes keeps its one transaction
    levels = _isolation_levels(client, "post", f"/proposals/{p.id}/thread/read")
    assert levels and "AUTOCOMMIT" not in levels


def test_a_repeat_view_is_answered_before_the_account_object_is_loaded(
    app, world, scene, client, as_user
):
    """The 304 is decided from one statement of the account's columns with the page's
    version: Flask-Login's loader, the account object and the view are not reached. A tag
    that no longer matches gets the page with one statement more than a first view (the
    account alone: its version was read already)."""
    _p, urls = scene
    as_user(world.leader)
    tags = _tags(client, urls["leader"])
    for url, tag in tags.items():
        r, statements = _get(client, url, tag)
        assert (r.status_code, statements) == (304, 1), url
        assert "_login_user" not in g, url  # no account object: Flask-Login never loaded one
        stale, statements = _get(client, url, "0" * 32)
        first_view = _get(client, url)[1]
        assert (stale.status_code, statements) == (200, first_view + 1), url


@pytest.mark.parametrize("ended_by", ["idle", "absolute", "new_token", "disabled", "strong"])
def test_a_session_that_has_ended_never_gets_a_304(
    app, world, scene, client, as_user, monkeypatch, ended_by
):
    """The repeat view's answer keeps every rule of the usual path: the idle and absolute
    limits, a new session token (logout elsewhere, a new password), a disabled account and
    Flask-Login's session protection. The reader is sent to log in, not told their copy is
    current."""
    _p, urls = scene
    as_user(world.leader)
    url = urls["leader"][3]
    tag = _tags(client, [url])[url]
    assert _get(client, url, tag)[0].status_code == 304
    now = int(time.time())
    if ended_by == "idle":
        with client.session_transaction() as session:
            session["_seen"] = now - app.config["SESSION_IDLE_MINUTES"] * 60 - 5
    elif ended_by == "absolute":
        with client.session_transaction() as session:
            session["_started"] = now - app.config["SESSION_ABSOLUTE_HOURS"] * 3600 - 5
    elif ended_by == "new_token":
        world.leader.new_session_token()
    elif ended_by == "disabled":
        world.leader.active = False
    else:  # the session was made by another browser than this one
        monkeypatch.setitem(app.config, "SESSION_PROTECTION", "strong")
        with client.session_transaction() as session:
            session["_id"] = "another browser"
    db.session.commit()
    r, _n = _get(client, url, tag)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_repeat_view_keeps_the_session_alive(app, world, scene, client, as_user):
    """A reader who only gets 304s is using the site: the idle limit counts from them."""
    _p, urls = scene
    as_user(world.leader)
    url = urls["leader"][0]
    tag = _tags(client, [url])[url]
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    with client.session_transaction() as session:
        session["_seen"] = int(time.time()) - idle + 90
    assert _get(client, url, tag)[0].status_code == 304
    with client.session_transaction() as session:
        assert session["_seen"] >= int(time.time()) - 5


def test_a_member_who_left_is_refused_the_co_s_summary(
    app, world, scene, client, as_user, monkeypatch
):
    """The summaries answer a repeat view before their policy is asked, as the CO's pages
    do: leaving the CO is an audited change of the CO, so its copy is no longer current."""
    monkeypatch.setitem(app.config, "MONITORING_SNAPSHOT_SECONDS", 300)  # as in production
    as_user(world.member)
    url = f"/monitoring/co/{world.co.id}"
    tag = _tags(client, [url])[url]
    assert _get(client, url, tag)[0].status_code == 304
    communities.end_membership(world.member.membership_in(world.co.id), by=world.leader)
    db.session.commit()
    assert _get(client, url, tag)[0].status_code == 403


def test_an_officer_moved_to_another_municipality_is_refused_its_summary(
    app, world, scene, client, as_user, monkeypatch
):
    """Who may read a municipality's summary (its officers, staff) is in the reader's tag:
    their role and municipality."""
    monkeypatch.setitem(app.config, "MONITORING_SNAPSHOT_SECONDS", 300)  # as in production
    as_user(world.officer)
    url = f"/monitoring/municipality/{world.municipality.id}"
    tag = _tags(client, [url])[url]
    assert _get(client, url, tag)[0].status_code == 304
    world.officer.municipality_id = world.other_municipality.id
    db.session.commit()
    assert _get(client, url, tag)[0].status_code == 403
