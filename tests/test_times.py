"""Times as people read them: in the municipality's zone on every page, without seconds, in
CLDR's formats; clock-change times refused; meetings dated within the CO's life."""

import re
from collections import deque
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import template_rendered
from flask_babel import refresh
from sqlalchemy import func, select, update

from consult import demo
from consult.communities.models import CommunityOrganisation
from consult.core import localtime
from consult.core.db import UTCDateTime, utcnow
from consult.core.enums import MembershipRole
from consult.core.formatting import local_datetime
from consult.extensions import db
from consult.meetings.models import Meeting
from consult.notifications.service import notify
from consult.priorities import service as priorities
from consult.votes.models import VoteRound

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
#: 09:13 UTC is 4:13 PM in Phnom Penh and Vientiane (UTC+7), the demo's two cities
FIXED = datetime(2026, 6, 3, 9, 13, tzinfo=UTC)
HREF = re.compile(r'href="(/[^"#?]*)"')
UTC_TIME = re.compile(r"\b9:13\b")
LOCAL_TIME = re.compile(r"\b4:13\b")
NOBODY = {"women_present": "0", "men_present": "0", "other_present": "0"}
SECONDS = re.compile(r"\b\d{1,2}:\d\d:\d\d\b")


def _templates_showing_times() -> set[str]:
    return {
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if "|datetime" in path.read_text(encoding="utf-8")
    }


def _pin_every_time(instant: datetime) -> None:
    """Every timestamp of every table set to ``instant`` (closing times a year later, so
    open votes stay open), so any page showing a time in UTC would show 9:13."""
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, UTCDateTime):
                value = instant + timedelta(days=365) if column.name == "closes_at" else instant
                db.session.execute(
                    update(table).where(column.isnot(None)).values({column.name: value})
                )
    db.session.commit()


def _pages_off_the_links() -> list[str]:
    """Pages the demo's links do not reach within the crawl: a priority round (the demo's
    open one, or one opened here) with its tally, and the tally of the counter-offer in vote."""
    co = db.session.scalars(select(CommunityOrganisation).order_by(CommunityOrganisation.id))
    co = co.first()
    leader = next(m.user for m in co.memberships if m.role == MembershipRole.LEADER)
    # The demo may hold an open round already (one is open at a time).
    rnd = priorities.current_round(co.id) or priorities.open_round(
        co, by=leader, title="Priorities"
    )
    offer_round = db.session.scalar(
        select(VoteRound).where(
            VoteRound.counter_offer_id.isnot(None), VoteRound.closed_at.is_(None)
        )
    )
    db.session.commit()
    paths = [f"/priorities/{rnd.id}", f"/priorities/{rnd.id}/tally"]
    p, offer = offer_round.proposal_id, offer_round.counter_offer_id
    return [*paths, f"/proposals/{p}/thread/offers/{offer}/tally"]


def _crawl(client, starts: list[str], limit: int):
    seen, queue = set(), deque(starts)
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen or path.startswith(("/static/", "/attachments/", "/logout")):
            continue
        seen.add(path)
        r = client.get(path, follow_redirects=True)
        if r.status_code != 200 or r.mimetype != "text/html":
            continue
        page = r.get_data(as_text=True)
        yield path, page
        queue.extend(link for link in HREF.findall(page) if link not in seen)


def test_every_page_shows_times_in_the_municipality_zone_without_seconds(app, runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    extra = _pages_off_the_links()
    _pin_every_time(FIXED)
    rendered: set[str] = set()

    def record(sender, template, context, **extra):
        rendered.add(template.name)

    template_rendered.connect(record, app)
    try:
        problems = []
        for _who, login in demo.LOGINS:
            client = app.test_client()
            password = app.config["DEMO_PASSWORD"]
            r = client.post("/login", data={"login": login, "password": password})
            assert r.status_code == 302, login
            for path, page in _crawl(client, ["/", *extra], 120):
                text = re.sub(r"<[^>]+>", " ", page)
                if UTC_TIME.search(text) and "UTC" not in text:
                    problems.append((login, path, "a UTC time not said to be UTC"))
                if SECONDS.search(text):
                    problems.append((login, path, SECONDS.search(text).group(0)))
    finally:
        template_rendered.disconnect(record, app)
    assert problems == []
    # Every template that shows a time was rendered (itself, or included by one that was).
    covered = set(rendered)
    for name in rendered:
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        covered |= set(re.findall(r'(?:include|import|from) "([^"]+)"', source))
    assert _templates_showing_times() - covered == set()


def test_notifications_and_account_history_in_local_time(world, make, client, login):
    """Issue case 4: these two pages showed 9:13 AM for what the others show as 4:13 PM."""
    notify([world.leader], "proposal.submitted", link="/", title="Lane")
    world.leader.last_login_at = utcnow()
    db.session.commit()
    _pin_every_time(FIXED)
    login(world.leader)
    page = client.get("/notifications").get_data(as_text=True)
    assert re.search(r"Jun 3, 2026, 4:13\sPM", page) and "9:13" not in page
    assert "Cambodia Time" in page
    login(world.admin)
    page = client.get(f"/admin/people/{world.leader.id}").get_data(as_text=True)
    assert re.search(r"4:13\sPM", page) and "9:13" not in page


def test_khmer_and_english_formats_from_cldr_without_seconds(app):
    for language, expected in [
        ("km", "3 មិថុនា 2026, 4:13 PM"),
        ("en", "Jun 3, 2026, 4:13\u202fPM"),
    ]:
        with app.test_request_context(headers={"Accept-Language": language}):
            refresh()  # the test's app context would keep the first request's locale
            shown = local_datetime(FIXED, "Asia/Phnom_Penh")
        assert shown.replace("\u202f", " ") == expected.replace("\u202f", " "), language


# --- clock changes --------------------------------------------------------------------------


@pytest.fixture
def santiago(world):
    world.municipality.timezone = "America/Santiago"
    db.session.commit()
    return world


def test_a_time_skipped_by_the_clock_change_is_refused(santiago, make, client, login):
    """Issue case 3: 2027-09-05 00:30 does not exist in Santiago (clocks go 00:00 → 01:00);
    it was accepted silently and shown as 1:30."""
    p = make.proposal(santiago.co)
    db.session.commit()
    login(santiago.leader)
    r = client.post(f"/proposals/{p.id}/vote/open", data={"closes_at": "2027-09-05T00:30"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "does not exist" in page and "Did you mean 1:30\u202fAM?" in page
    assert 'value="2027-09-05T00:30"' in page
    assert db.session.scalar(select(func.count(VoteRound.id))) == 0


def test_a_time_that_happens_twice_is_refused(santiago, make, client, login):
    p = make.proposal(santiago.co)
    db.session.commit()
    login(santiago.leader)
    r = client.post(f"/proposals/{p.id}/vote/open", data={"closes_at": "2027-04-03T23:30"})
    assert r.status_code == 200
    assert "happens twice" in r.get_data(as_text=True)
    r = client.post(f"/proposals/{p.id}/vote/open", data={"closes_at": "2027-04-03T22:30"})
    assert r.status_code == 302
    rnd = db.session.scalar(select(VoteRound))
    assert rnd.closes_at == datetime(2027, 4, 4, 1, 30, tzinfo=UTC)  # 22:30 at UTC-3


def test_clock_change_refused_for_meetings_and_priority_rounds(santiago, make, client, login):
    make.problem(santiago.co)
    db.session.commit()
    login(santiago.leader)
    r = client.post(
        f"/co/{santiago.co.id}/meetings/new",
        data={"kind": "consultation", "day": "2026-09-06", "time": "00:15", **NOBODY},
    )
    assert r.status_code == 200 and "does not exist" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Meeting.id))) == 0
    r = client.post(
        f"/co/{santiago.co.id}/priorities/new",
        data={
            "title": "R",
            "points_per_member": "3",
            "max_per_problem": "3",
            "closes_at": "2027-09-05T00:30",
        },
    )
    assert r.status_code == 200 and "does not exist" in r.get_data(as_text=True)


def test_from_local_is_exact_on_ordinary_days(app):
    with app.test_request_context():
        assert localtime.from_local(datetime(2027, 1, 10, 18, 0), "America/Santiago") == (
            datetime(2027, 1, 10, 21, 0, tzinfo=UTC)
        )


# --- date bounds ----------------------------------------------------------------------------


def test_a_meeting_dated_1926_is_refused(world, client, login):
    """Issue case 5."""
    login(world.leader)
    r = client.post(
        f"/co/{world.co.id}/meetings/new",
        data={"kind": "consultation", "day": "1926-03-08", "time": "18:00", **NOBODY},
    )
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "a meeting cannot be earlier" in page and 'value="1926-03-08"' in page
    assert db.session.scalar(select(func.count(Meeting.id))) == 0


def test_a_meeting_years_ahead_is_refused_but_next_month_is_fine(world, client, login):
    login(world.leader)
    url = f"/co/{world.co.id}/meetings/new"
    far = (utcnow() + timedelta(days=800)).date().isoformat()
    r = client.post(url, data={"kind": "consultation", "day": far, "time": "18:00", **NOBODY})
    assert r.status_code == 200 and "at most a year ahead" in r.get_data(as_text=True)
    soon = (utcnow() + timedelta(days=30)).date().isoformat()
    r = client.post(url, data={"kind": "consultation", "day": soon, "time": "18:00", **NOBODY})
    assert r.status_code == 302


def test_dashboard_period_is_in_the_municipality_days(world, make, client, login):
    """A meeting at 01:00 on 1 January in Phnom Penh is 18:00 on 31 December in UTC: it
    belongs to the new year of the municipality's summary."""
    make.meeting(world.co, held_at=datetime(2026, 12, 31, 18, 0, tzinfo=UTC))
    db.session.commit()
    login(world.staff)
    m = world.municipality
    url = f"/monitoring/municipality/{m.id}?period=custom&start=2027-01-01&end=2027-01-31"
    page = client.get(url).get_data(as_text=True)
    assert "days as in Cambodia Time" in page
    assert re.search(r"Meetings held<sup>2</sup></dt><dd>1<", page)
    page = client.get("/monitoring/?period=custom&start=2027-01-01&end=2027-01-31")
    assert "Cambodia Time" in page.get_data(as_text=True)  # both cities share the zone
    world.other_municipality.timezone = "Asia/Bangkok"
    db.session.commit()
    page = client.get("/monitoring/?period=custom&start=2027-01-01&end=2027-01-31")
    assert "several time zones" in page.get_data(as_text=True)


def test_date_type_is_untouched(app):
    with app.test_request_context():
        from consult.core.formatting import local_date

        assert local_date(date(2026, 1, 1)) == "Jan 1, 2026"
