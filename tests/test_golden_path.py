"""The consultation path end to end, through the real forms with CSRF on, as each role sees
it: meeting → problem → proposal → vote (online and show of hands) → submission → the
municipality's inbox → acknowledgement → questions and replies → agreement."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from consult.audit.models import AuditEvent
from consult.core.enums import Gender, ProposalState
from consult.extensions import db
from consult.proposals.models import Proposal
from tests.helpers import csrf_token


class Person:
    """A browser session for one user, on the CSRF-protected app."""

    def __init__(self, app, user, login):
        self.client = app.test_client()
        self.user = user
        login(user, self.client)

    def get(self, url, status=200):
        r = self.client.get(url)
        assert r.status_code == status, (url, r.status_code)
        return r.get_data(as_text=True)

    def post(self, url, data, form_page, status=302):
        """POST ``data`` with the CSRF token of the form shown on ``form_page``."""
        token = csrf_token(self.client.get(form_page).data)
        r = self.client.post(url, data={**data, "csrf_token": token})
        assert r.status_code == status, (url, r.status_code, r.get_data(as_text=True)[:2000])
        return r


def _local(municipality, days=0, hours=0):
    return datetime.now(ZoneInfo(municipality.timezone)) + timedelta(days=days, hours=hours)


def test_the_whole_consultation_path(csrf_app, world, make, login):
    co, town = world.co, world.municipality
    residents = [make.member(co, gender=g) for g in (Gender.WOMAN, Gender.WOMAN, Gender.MAN)]
    db.session.commit()
    leader = Person(csrf_app, world.leader, login)
    member = Person(csrf_app, world.member, login)
    officer = Person(csrf_app, world.officer, login)
    other_officer = Person(csrf_app, world.other_officer, login)
    outsider = Person(csrf_app, world.other_member, login)
    home = f"/co/{co.id}"

    # 1. The leader's home offers the CO's work; a member of another CO is refused.
    page = leader.get(home)
    assert "Log a meeting" in page and "Draft a proposal" in page
    outsider.get(home, status=403)

    # 2. The leader logs a consultation with attendance and head-counts.
    # two hours ago: inside the day of grace a show of hands gets before the vote opens,
    # whatever the time of day the test runs at
    held = _local(town, hours=-2)
    present = [world.member.membership_in(co.id).id, residents[0].membership_in(co.id).id]
    r = leader.post(
        f"{home}/meetings/new",
        {
            "kind": "consultation",
            "day": held.strftime("%Y-%m-%d"),
            "time": held.strftime("%H:%M"),
            "place": "Pagoda hall",
            "agenda": "Flooding in Lane 3",
            "minutes": "Forty households flood every rainy season.",
            "decisions": "Draft a drainage proposal.",
            "present": [str(i) for i in present],
            "women_present": "14",
            "men_present": "9",
            "other_present": "1",
        },
        f"{home}/meetings/new",
    )
    meeting_url = r.headers["Location"]
    page = leader.get(meeting_url)
    assert "Forty households flood every rainy season." in page
    meeting_id = int(re.search(r"/meetings/(\d+)", meeting_url).group(1))
    member.get(meeting_url)  # members read the minutes
    officer.get(meeting_url, status=403)  # the municipality does not
    outsider.get(meeting_url, status=403)

    # 3. A member records the problem raised there.
    r = member.post(
        f"{home}/problems/new",
        {
            "title": "Lane 3 floods",
            "category": "drainage",
            "description": "Water stays for weeks.",
            "location": "Lane 3",
            "households_affected": "40",
            "meeting_id": str(meeting_id),
        },
        f"{home}/problems/new",
    )
    problem_id = int(re.search(r"/problems/(\d+)", r.headers["Location"]).group(1))
    assert "Lane 3 floods" in leader.get(home)

    # 4. The leader drafts a proposal answering it; a member may not.
    member.get(f"{home}/proposals/new", status=403)
    r = leader.post(
        f"{home}/proposals/new",
        {
            "title": "Drainage for Lane 3",
            "infrastructure_type": "drainage",
            "description": "A covered drain along Lane 3.",
            "location": "Lane 3",
            "estimated_cost": "40000000",
            "amount_requested": "34000000",
            "community_cash": "2000000",
            "community_labour": "4000000",
            "households_benefiting": "40",
            "timeline": "3 months",
            "problems": [str(problem_id)],
        },
        f"{home}/proposals/new",
    )
    proposal_url = r.headers["Location"]
    p = db.session.scalar(select(Proposal).where(Proposal.title == "Drainage for Lane 3"))
    assert p.state == ProposalState.DRAFT and p.amount_requested == 34000000
    officer.get(proposal_url, status=403)  # not submitted yet

    # 5. The leader opens the vote; members vote and one changes their mind.
    closes = _local(town, days=2).strftime("%Y-%m-%dT%H:%M")
    leader.post(f"{proposal_url}/vote/open", {"closes_at": closes}, f"{proposal_url}/vote/open")
    assert p.state == ProposalState.VOTING
    voters = [member, leader] + [Person(csrf_app, u, login) for u in residents[:2]]
    for person in voters:
        person.post(f"{proposal_url}/vote", {"choice": "yes"}, proposal_url)
    voters[-1].post(f"{proposal_url}/vote", {"choice": "no"}, proposal_url)
    outsider.post(f"{proposal_url}/vote", {"choice": "no"}, f"/co/{world.other_co.id}", status=403)

    # 6. Hands at the meeting from people without an online vote, then the close.
    leader.post(
        f"{proposal_url}/tally",
        {"meeting_id": str(meeting_id), "yes_women": "6", "yes_men": "3", "no_men": "1"},
        f"{proposal_url}/tally",
    )
    leader.post(f"{proposal_url}/vote/close", {}, proposal_url)
    assert p.state == ProposalState.APPROVED
    page = member.get(proposal_url)
    assert "Approved: 12 yes, 2 no, 0 abstained." in page

    # 7. Only the leader submits; the version is frozen and the municipality sees it.
    member.post(f"{proposal_url}/submit", {}, proposal_url, status=403)
    leader.post(f"{proposal_url}/submit", {}, proposal_url)
    assert p.state == ProposalState.SUBMITTED
    assert [v.number for v in p.versions] == [1]
    inbox = officer.get(f"/municipalities/{town.id}/inbox")
    assert "Drainage for Lane 3" in inbox
    other_officer.get(f"/municipalities/{town.id}/inbox", status=403)
    other_officer.get(proposal_url, status=403)

    # 8. The officer acknowledges and asks; the leader sees it waiting and replies.
    thread = f"{proposal_url}/thread"
    officer.post(f"{thread}/acknowledge", {"note": "Received, we will visit."}, thread)
    assert p.state == ProposalState.UNDER_REVIEW and p.first_response_at is not None
    officer.post(
        f"{thread}/messages",
        {"kind": "question", "body": "Can the drain reach the sewer on Street 271?"},
        thread,
    )
    assert p.state == ProposalState.NEGOTIATING
    assert "2 unread messages from the municipality" in leader.get(home)
    member.post(f"{thread}/messages", {"kind": "comment", "body": "Me too"}, thread, status=403)
    leader.post(f"{thread}/messages", {"kind": "comment", "body": "Yes, 120 m away."}, thread)
    assert "Yes, 120 m away." in officer.get(thread)
    assert "unread messages from the municipality" not in leader.get(home)

    # 9. The officer accepts the current version: agreed.
    version_id = p.versions[-1].id
    officer.post(f"{thread}/accept", {"version_id": str(version_id), "note": "Agreed."}, thread)
    assert p.state == ProposalState.AGREED
    assert p.versions[-1].agreed_by_id == world.officer.id

    # Every step left its mark in the audit trail, readable by the leader.
    actions = set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.proposal_id == p.id))
    )
    assert {
        "proposal.open_vote",
        "proposal.close_vote",
        "proposal.submit",
        "proposal.acknowledge",
        "proposal.question",
        "proposal.accept",
    } <= actions
    leader.get(f"{proposal_url}/audit")
    member.get(f"{proposal_url}/audit", status=403)
