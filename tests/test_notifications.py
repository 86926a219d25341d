"""In-app notifications: who is told, the sentences, the nav count, opening and paging."""

import pytest
from sqlalchemy import func, select

from consult.core.enums import ProposalState
from consult.extensions import db
from consult.notifications import service
from consult.notifications.models import Notification
from consult.proposals.service import apply_transition
from tests.helpers import csrf_token


def notices(user, kind=None):
    q = select(func.count(Notification.id)).where(Notification.user_id == user.id)
    if kind:
        q = q.where(Notification.kind == kind)
    return db.session.scalar(q)


def note(user, kind="vote.opened", link="/proposals/1", **params):
    n = Notification(user_id=user.id, kind=kind, link=link, params=params or {"title": "Lane"})
    db.session.add(n)
    db.session.flush()
    return n


# --- service --------------------------------------------------------------------------------


def test_a_state_change_tells_the_other_side_once(app, world, make):
    p = make.proposal(world.co, state=ProposalState.SUBMITTED)
    apply_transition(p, "acknowledge", world.officer)
    assert notices(world.leader, "proposal.state_changed") == 1
    assert notices(world.officer) == 0  # not the one who acted
    assert notices(world.member) == 0  # the leader speaks for the CO
    assert notices(world.other_leader) == 0

    apply_transition(p, "withdraw", world.leader, reason="No longer needed")
    assert notices(world.officer, "proposal.state_changed") == 1
    assert notices(world.other_officer) == 0
    assert notices(world.leader, "proposal.state_changed") == 1  # not told of its own act


def test_duplicates_and_none_are_skipped(app, world):
    service.notify([world.leader, None, world.leader], "vote.opened", title="Lane")
    assert notices(world.leader) == 1


@pytest.mark.parametrize(
    "kind, params, expected",
    [
        ("proposal.state_changed", {"title": "Lane", "state": "agreed"}, "“Lane” is now Agreed."),
        ("proposal.submitted", {"co": "Boeung Kak CO", "title": "Lane"}, "Boeung Kak CO"),
        ("message.posted", {"title": "Lane", "author": "Chan"}, "from Chan"),
        ("vote.opened", {"title": "Lane"}, "Your vote is needed: “Lane”."),
        (
            "vote.opened",
            {"title": "Lane", "subject": "counter_offer"},
            "Your vote is needed: the municipality's counter-offer on “Lane”.",
        ),
        (
            "message.posted",
            {"title": "Lane", "author": "Chan", "message_kind": "counter_offer"},
            "Decision needed: counter-offer on “Lane” from Chan.",
        ),
        (
            "message.posted",
            {"title": "Lane", "author": "Chan", "message_kind": "question"},
            "Question for you on “Lane” from Chan.",
        ),
        ("vote.closed", {"title": "Lane", "result": "no_quorum"}, "closed: No quorum"),
        (
            "implementation.updated",
            {"title": "Lane", "progress": 45, "author": "Chan"},
            "45% done",
        ),
        ("implementation.commented", {"title": "Lane", "author": "Dara"}, "Dara commented"),
        ("something.new", {"title": "Lane"}, "There is news on “Lane”."),
        ("something.new", {}, "You have a new notification."),
    ],
)
def test_every_kind_reads_as_a_sentence(app, kind, params, expected):
    sentence = service.text(Notification(kind=kind, params=params))
    assert expected in sentence
    assert kind not in sentence


def test_stored_codes_are_shown_in_the_readers_language(app):
    from flask_babel import force_locale

    n = Notification(kind="proposal.state_changed", params={"title": "ផ្លូវ", "state": "negotiating"})
    with app.test_request_context(), force_locale("km"):
        assert "កំពុងចរចា" in service.text(n)  # "Negotiating"


# --- pages ----------------------------------------------------------------------------------


def test_unread_count_in_the_nav_and_styling(app, world, client, login):
    note(world.member)
    note(world.member, kind="vote.closed", title="Drain", result="approved")
    note(world.leader)  # someone else's
    login(world.member)
    html = client.get("/notifications").get_data(as_text=True)
    assert 'aria-label="2 unread"' in html
    assert html.count('class="unread"') == 2
    assert "Your vote is needed: “Lane”." in html


def test_opening_marks_read_and_goes_to_the_link(app, world, client, login):
    n = note(world.member, link="/proposals/42")
    other = note(world.member)
    login(world.member)
    response = client.post(f"/notifications/{n.id}/open")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/proposals/42")
    assert db.session.get(Notification, n.id).read_at is not None
    assert db.session.get(Notification, other.id).read_at is None
    html = client.get("/notifications").get_data(as_text=True)
    assert 'aria-label="1 unread"' in html


def test_an_outside_link_is_not_followed(app, world, client, login):
    n = note(world.member, link="https://evil.example/phish")
    login(world.member)
    response = client.post(f"/notifications/{n.id}/open")
    assert response.headers["Location"].endswith("/notifications")


def test_nobody_opens_someone_elses_notification(app, world, client, login):
    n = note(world.leader)
    login(world.member)
    assert client.post(f"/notifications/{n.id}/open").status_code == 403
    assert db.session.get(Notification, n.id).read_at is None
    assert client.post("/notifications/999999/open").status_code == 404


def test_opening_is_not_a_get(app, world, client, login):
    n = note(world.member)
    login(world.member)
    assert client.get(f"/notifications/{n.id}/open").status_code == 405


def test_mark_all_read(app, world, client, login):
    note(world.member)
    note(world.member)
    theirs = note(world.leader)
    login(world.member)
    client.post("/notifications/read")
    assert service.unread_count(world.member) == 0
    assert db.session.get(Notification, theirs.id).read_at is None


def test_pages_of_notifications(app, world, client, login):
    for i in range(service.PER_PAGE + 5):
        note(world.member, title=f"Scheme {i}")
    login(world.member)
    first = client.get("/notifications").get_data(as_text=True)
    assert f"Scheme {service.PER_PAGE + 4}" in first  # newest first
    assert "Scheme 0”" not in first
    assert "page=2" in first
    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert "Scheme 0”" in second
    assert client.get("/notifications?page=99").status_code == 200


def test_opening_with_csrf_on(app, csrf_app, world, login):
    n = note(world.member, link="/proposals/5")
    db.session.commit()
    c = csrf_app.test_client()
    login(world.member, c)
    assert c.post(f"/notifications/{n.id}/open").status_code == 400  # no token
    token = csrf_token(c.get("/notifications").data)
    response = c.post(f"/notifications/{n.id}/open", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/proposals/5")
    db.session.expire_all()
    assert db.session.get(Notification, n.id).read_at is not None
