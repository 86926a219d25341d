"""One record per intention: every create form carries a one-time key, so the same form sent
twice (Back + Save, a double tap, a retry on a slow link) creates one record and shows it."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from consult.auth.models import User
from consult.communities.models import Membership
from consult.core.db import utcnow
from consult.core.enums import ProposalState, VoteChoice
from consult.extensions import db
from consult.implementation.models import ImplementationUpdate
from consult.meetings.models import Meeting
from consult.negotiation.models import Message
from consult.problems.models import Problem
from consult.proposals import service as proposals
from consult.proposals.models import Proposal, ProposalVersion
from consult.submissions import service
from consult.submissions.models import SubmissionKey
from consult.votes.models import Vote
from tests.test_meetings import form_data as meeting_form
from tests.test_problems import form_data as problem_form
from tests.test_proposals import _form as proposal_form

ALREADY = "This was already saved: the same form was sent twice. Nothing was saved twice."


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _key(html: str, prefix: str = "") -> str:
    m = re.search(r'name="' + prefix + r'submission_key"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="' + prefix + r'submission_key"', html
    )
    assert m, "the form carries no submission key"
    return m.group(1)


def _twice(client, form_url, post_url, data, prefix=""):
    """Show the form, send it, then send the very same form again; the two responses."""
    key = _key(client.get(form_url).get_data(as_text=True), prefix)
    data = {**data, f"{prefix}submission_key": key}
    first = client.post(post_url, data=data)
    again = client.post(post_url, data=data)
    return first, again


def _says_already_saved(client, response):
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ALREADY in page
    return page


# --- the store ----------------------------------------------------------------------------


def test_a_key_is_claimed_once_and_remembers_what_it_created(world):
    assert service.claim(world.leader, "k-1", "meeting") is None
    service.fulfil(world.leader, "k-1", 42)
    earlier = service.claim(world.leader, "k-1", "meeting")
    assert (earlier.kind, earlier.object_id) == ("meeting", 42)
    # keys are per person: someone else's form with the same key is theirs
    assert service.claim(world.member, "k-1", "meeting") is None


def test_a_claim_rolled_back_frees_the_key(world):
    assert service.claim(world.leader, "k-2", "problem") is None
    db.session.rollback()
    assert service.claim(world.leader, "k-2", "problem") is None


@pytest.mark.parametrize("key", [None, "", "x" * 65, "bad\nkey"])
def test_no_usable_key_means_no_claim(world, key):
    assert service.claim(world.leader, key, "meeting") is None
    assert service.claim(world.leader, key, "meeting") is None
    assert _count(SubmissionKey) == 0


# --- every create form --------------------------------------------------------------------


def test_meeting_sent_twice_is_logged_once(world, client, login):
    login(world.leader)
    url = f"/co/{world.co.id}/meetings/new"
    first, again = _twice(client, url, url, meeting_form(world))
    assert first.status_code == 302
    meeting = db.session.scalars(select(Meeting)).one()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Location"].endswith(f"/meetings/{meeting.id}")
    _says_already_saved(client, again)


def test_problem_sent_twice_is_recorded_once(world, client, login):
    login(world.member)
    url = f"/co/{world.co.id}/problems/new"
    first, again = _twice(client, url, url, problem_form())
    assert first.status_code == 302 and _count(Problem) == 1
    _says_already_saved(client, again)


def test_proposal_sent_twice_is_drafted_once(world, client, login):
    login(world.leader)
    url = f"/co/{world.co.id}/proposals/new"
    first, again = _twice(client, url, url, proposal_form())
    assert first.status_code == 302 and _count(Proposal) == 1
    _says_already_saved(client, again)


def _submitted(world, make):
    p = make.proposal(world.co, state=ProposalState.SUBMITTED)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.commit()
    return p


def test_message_sent_twice_is_posted_once(world, make, client, login):
    p = _submitted(world, make)
    login(world.leader)
    thread = f"/proposals/{p.id}/thread"
    first, again = _twice(
        client, thread, f"{thread}/messages", {"kind": "comment", "body": "Can we talk?"}
    )
    assert first.status_code == 302 and _count(Message) == 1
    _says_already_saved(client, again)


def test_counter_offer_sent_twice_is_made_once(world, make, client, login):
    p = _submitted(world, make)
    p.state = ProposalState.UNDER_REVIEW
    db.session.commit()
    login(world.officer)
    thread = f"/proposals/{p.id}/thread"
    page = client.get(thread).get_data(as_text=True)
    keys = re.findall(r'name="submission_key"[^>]*value="([^"]+)"', page) or re.findall(
        r'value="([^"]+)"[^>]*name="submission_key"', page
    )
    data = {
        "municipal_share": "24000000",
        "community_cash": f"{int(p.community_cash):,}",  # riel: whole amounts, as shown
        "community_labour": "14000000",
        "scope": "",
        "timeline": "",
        "body": "We can pay less.",
        "submission_key": keys[-1],
    }
    first = client.post(f"{thread}/counter-offer", data=data)
    again = client.post(f"{thread}/counter-offer", data=data)
    assert first.status_code == 302, first.get_data(as_text=True)[-3000:]
    assert _count(Message) == 1
    _says_already_saved(client, again)


def test_member_added_twice_is_added_once(world, client, login):
    login(world.leader)
    url = f"/co/{world.co.id}/members"
    data = {"name": "Srey Mom", "phone": "097 555 0101", "email": "", "gender": "woman"}
    first, again = _twice(client, url, url, {**data, "role": "member"})
    assert first.status_code == 200 and b"/invitation/" in first.data
    assert _count(User) == 10  # the world's nine people and Srey Mom
    assert _count(Membership) == 5
    _says_already_saved(client, again)


def test_progress_update_sent_twice_is_posted_once(world, make, client, login):
    p = make.proposal(world.co, state=ProposalState.IN_PROGRESS)
    p.started_on = utcnow().date()
    db.session.commit()
    login(world.officer)
    url = f"/proposals/{p.id}/implementation"
    first, again = _twice(
        client,
        url,
        f"{url}/updates",
        {"update-progress": "30", "update-note": "Drain dug.", "update-spent": ""},
        prefix="update-",
    )
    assert first.status_code == 302, first.get_data(as_text=True)[-2000:]
    assert _count(ImplementationUpdate) == 1
    _says_already_saved(client, again)


def test_an_old_ballot_sent_again_does_not_undo_a_later_change(world, make, client, login):
    p = make.proposal(world.co)
    proposals.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    db.session.commit()
    login(world.member)
    key = _key(client.get(f"/proposals/{p.id}").get_data(as_text=True))
    client.post(f"/proposals/{p.id}/vote", data={"choice": "yes", "submission_key": key})
    fresh = _key(client.get(f"/proposals/{p.id}").get_data(as_text=True))
    client.post(f"/proposals/{p.id}/vote", data={"choice": "no", "submission_key": fresh})
    # Back to the first page, and its "yes" button sent again
    again = client.post(f"/proposals/{p.id}/vote", data={"choice": "yes", "submission_key": key})
    assert db.session.scalars(select(Vote.choice)).one() == VoteChoice.NO
    _says_already_saved(client, again)


def test_every_create_form_renders_its_key(world, make, client, login):
    login(world.leader)
    for url in (
        f"/co/{world.co.id}/meetings/new",
        f"/co/{world.co.id}/problems/new",
        f"/co/{world.co.id}/proposals/new",
        f"/co/{world.co.id}/members",
    ):
        assert _key(client.get(url).get_data(as_text=True)), url
