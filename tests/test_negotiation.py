"""The negotiation thread: services first, then the pages through their real forms."""

import pytest
from sqlalchemy import func, select

from consult.audit.models import AuditEvent
from consult.core.enums import Decision, MessageKind, ProposalState, Side
from consult.extensions import db
from consult.negotiation import service
from consult.negotiation.models import Message
from consult.notifications.models import Notification
from consult.proposals.models import ProposalVersion
from consult.proposals.workflow import TransitionRefused
from tests.helpers import csrf_token, pager_link


def submitted(make, co, state=ProposalState.SUBMITTED, **kw):
    """A proposal as the municipality receives it: submitted, with its first version."""
    p = make.proposal(co, state=state, **kw)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    return p


def new_version(p, by=None):
    v = ProposalVersion(
        proposal=p,
        number=len(p.versions) + 1,
        reason="counter-offer accepted",
        created_by_id=by.id if by else None,
        **p.terms(),
    )
    db.session.add(v)
    db.session.flush()
    return v


def messages_of(p):
    return db.session.scalars(
        select(Message).where(Message.proposal_id == p.id).order_by(Message.id)
    ).all()


def notices(user, kind):
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.kind == kind
        )
    )


# --- services -------------------------------------------------------------------------------


def test_leader_comment_is_stored_audited_and_told_to_officers(world, make):
    p = submitted(make, world.co)
    m = service.post_message(p, world.leader, MessageKind.COMMENT, "  When can you visit?  ")
    assert (m.side, m.kind, m.body, m.author_id) == (
        Side.COMMUNITY,
        MessageKind.COMMENT,
        "When can you visit?",
        world.leader.id,
    )
    assert p.first_response_at is None  # the community speaking does not start an answer
    assert notices(world.officer, "message.posted") == 1
    assert notices(world.other_officer, "message.posted") == 0
    assert notices(world.leader, "message.posted") == 0
    assert db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "message.posted", AuditEvent.proposal_id == p.id
        )
    )


def test_officer_question_moves_to_negotiating_and_starts_the_answer_clock(world, make):
    p = submitted(make, world.co)
    service.post_message(p, world.officer, MessageKind.QUESTION, "Who owns the land?")
    assert p.state == ProposalState.NEGOTIATING
    assert p.first_response_at is not None
    assert notices(world.leader, "message.posted") == 1
    assert notices(world.leader, "proposal.state_changed") == 1


def test_leader_cannot_ask_a_question(world, make):
    p = submitted(make, world.co)
    with pytest.raises(service.NegotiationError):
        service.post_message(p, world.leader, MessageKind.QUESTION, "Why?")
    assert p.state == ProposalState.SUBMITTED


def test_empty_or_too_long_message_refused(world, make):
    p = submitted(make, world.co)
    with pytest.raises(service.NegotiationError):
        service.post_message(p, world.leader, MessageKind.COMMENT, "   ")
    with pytest.raises(service.NegotiationError):
        service.post_message(p, world.leader, MessageKind.COMMENT, "x" * 5001)
    assert messages_of(p) == []


def test_counter_offer_not_open_yet(world, make):
    p = submitted(make, world.co)
    with pytest.raises(service.NegotiationError):
        service.post_message(p, world.officer, MessageKind.COUNTER_OFFER, "Less money")


def test_first_response_is_kept_from_the_first_municipal_message(world, make):
    p = submitted(make, world.co)
    service.acknowledge(p, world.officer)
    first = p.first_response_at
    service.post_message(p, world.officer, MessageKind.COMMENT, "More soon")
    assert p.first_response_at == first


def test_acknowledge_posts_status_note(world, make):
    p = submitted(make, world.co)
    m = service.acknowledge(p, world.officer, "Received, thank you")
    assert p.state == ProposalState.UNDER_REVIEW
    assert p.first_response_at is not None
    assert (m.kind, m.side, m.body) == (
        MessageKind.STATUS_NOTE,
        Side.MUNICIPALITY,
        "Received, thank you",
    )


def test_acknowledge_twice_refused(world, make):
    p = submitted(make, world.co)
    service.acknowledge(p, world.officer)
    with pytest.raises(TransitionRefused):
        service.acknowledge(p, world.officer)


def test_accept_latest_version_agrees(world, make):
    p = submitted(make, world.co, state=ProposalState.UNDER_REVIEW)
    v = p.latest_version
    m = service.accept(p, world.officer, v.id, "Agreed")
    assert p.state == ProposalState.AGREED
    assert p.agreed_at is not None and v.agreed_at == p.agreed_at
    assert v.agreed_by_id == world.officer.id
    assert (m.kind, m.decision, m.version_id) == (MessageKind.DECISION, Decision.ACCEPT, v.id)


def test_accept_stale_version_refused(world, make):
    p = submitted(make, world.co, state=ProposalState.NEGOTIATING)
    old = p.latest_version
    new_version(p, world.leader)
    with pytest.raises(service.NegotiationError):
        service.accept(p, world.officer, old.id)
    assert p.state == ProposalState.NEGOTIATING
    assert old.agreed_at is None


def test_accept_another_proposals_version_refused(world, make):
    p = submitted(make, world.co, state=ProposalState.UNDER_REVIEW)
    other = submitted(make, world.co, state=ProposalState.UNDER_REVIEW)
    with pytest.raises(service.NegotiationError):
        service.accept(p, world.officer, other.latest_version.id)


def test_accept_while_submitted_refused(world, make):
    p = submitted(make, world.co)
    with pytest.raises(TransitionRefused):
        service.accept(p, world.officer, p.latest_version.id)


def test_decline_needs_a_reason(world, make):
    p = submitted(make, world.co)
    with pytest.raises(service.NegotiationError):
        service.decline(p, world.officer, "  ")
    m = service.decline(p, world.officer, "Outside our budget this year")
    assert p.state == ProposalState.DECLINED
    assert (m.decision, m.body) == (Decision.DECLINE, "Outside our budget this year")
    assert p.first_response_at is not None


def test_own_messages_never_unread_and_reading_clears_only_for_the_reader(world, make):
    p = submitted(make, world.co)
    service.post_message(p, world.leader, MessageKind.COMMENT, "Hello")
    service.post_message(p, world.officer, MessageKind.COMMENT, "Hello back")
    assert service.unread_counts(world.leader, [p.id]) == {p.id: 1}
    assert service.unread_counts(world.officer, [p.id]) == {p.id: 1}
    assert service.unread_counts(world.member, [p.id]) == {p.id: 2}
    service.mark_read(world.officer, p.id)
    assert service.unread_counts(world.officer, [p.id]) == {}
    assert service.unread_counts(world.leader, [p.id]) == {p.id: 1}


# --- pages ----------------------------------------------------------------------------------


def url(p, action=None):
    return f"/proposals/{p.id}/thread" + (f"/{action}" if action else "")


def test_thread_shows_terms_and_messages_oldest_first(world, make, client, as_user):
    p = submitted(make, world.co, amount_requested=34_000_000, title="Lane to the school")
    service.post_message(p, world.leader, MessageKind.COMMENT, "First <b>message</b>")
    service.post_message(p, world.officer, MessageKind.COMMENT, "Second message")
    db.session.commit()
    as_user(world.member)
    r = client.get(url(p))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Lane to the school" in html
    assert "34,000,000" in html
    assert html.index("First &lt;b&gt;message") < html.index("Second message")
    assert 'class="side-municipality' in html and 'class="side-community' in html
    assert "Acknowledge" not in html  # a member sees no officer buttons
    assert f'action="/proposals/{p.id}/thread/messages"' not in html  # nor the message form


def test_message_time_shown_in_the_municipality_time_zone(world, make, client, as_user):
    p = submitted(make, world.co)
    m = service.post_message(p, world.leader, MessageKind.COMMENT, "Hi")
    m.created_at = m.created_at.replace(hour=23, minute=30, second=0, microsecond=0)
    db.session.commit()
    as_user(world.officer)
    html = client.get(url(p)).get_data(as_text=True)
    assert "6:30\u202fAM" in html and "6:30:00" not in html  # Phnom Penh is UTC+7, no seconds


def _statements_while(client, method, path, **kw) -> list[str]:
    from sqlalchemy import event

    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.lstrip().split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = getattr(client, method)(path, **kw)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert r.status_code in (200, 204, 302)
    return seen


def test_opening_the_thread_writes_nothing(world, make, client, as_user):
    p = submitted(make, world.co)
    service.post_message(p, world.officer, MessageKind.COMMENT, "Please send photos")
    db.session.commit()
    as_user(world.leader)
    statements = _statements_while(client, "get", url(p))
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements)
    assert service.unread_counts(world.leader, [p.id]) == {p.id: 1}
    # the page carries the receipt for the newest message it shows
    html = client.get(url(p)).get_data(as_text=True)
    assert "data-read-receipt" in html and f'action="/proposals/{p.id}/thread/read"' in html
    assert "Mark 1 new message as read" in html and "js/read.js" in html


def test_the_read_receipt_marks_it_read_for_that_user_only(world, make, client, as_user):
    p = submitted(make, world.co)
    first = service.post_message(p, world.officer, MessageKind.COMMENT, "Please send photos")
    service.post_message(p, world.officer, MessageKind.COMMENT, "And the cost sheet")
    db.session.commit()
    as_user(world.leader)
    # read up to the first message only: the second (arrived after the page) stays unread
    r = client.post(url(p, "read"), data={"up_to": first.id}, headers={"X-Requested-With": "fetch"})
    assert r.status_code == 204
    assert service.unread_counts(world.leader, [p.id]) == {p.id: 1}
    r = client.post(url(p, "read"), data={"up_to": first.id + 1000})  # the button, no script
    assert r.status_code == 302 and r.location.endswith(f"/proposals/{p.id}/thread#end")
    assert service.unread_counts(world.leader, [p.id]) == {}
    client.post(url(p, "read"), data={"up_to": first.id})  # a late receipt never moves back
    assert service.unread_counts(world.leader, [p.id]) == {}
    assert service.unread_counts(world.member, [p.id]) == {p.id: 2}
    assert service.unread_counts(world.officer, [p.id]) == {}  # own messages
    html = client.get(url(p)).get_data(as_text=True)
    assert "data-read-receipt" not in html  # nothing left to mark


def test_read_receipt_needs_the_right_to_see_the_thread(world, make, client, as_user):
    p = submitted(make, world.co)
    service.post_message(p, world.officer, MessageKind.COMMENT, "Please send photos")
    db.session.commit()
    as_user(world.outsider)
    assert client.post(url(p, "read"), data={"up_to": 1}).status_code == 403


def test_thread_shows_the_latest_messages_and_pages_back(world, make, client, as_user):
    p = submitted(make, world.co)
    for i in range(service.THREAD_PAGE + 3):
        service.post_message(p, world.officer, MessageKind.COMMENT, f"Note number {i:03d}")
    db.session.commit()
    as_user(world.leader)
    html = client.get(url(p)).get_data(as_text=True)
    notes = [f"Note number {i:03d}" for i in range(service.THREAD_PAGE + 3)]
    shown = [n for n in notes if n in html]
    assert shown == notes[3:]  # the latest page, oldest first
    assert html.index(notes[3]) < html.index(notes[-1])
    assert f"({service.THREAD_PAGE + 3})" in html
    earlier = client.get(pager_link(html, "next")).get_data(as_text=True)
    assert [n for n in notes if n in earlier] == notes[:3]
    assert 'rel="next"' not in earlier
    later = client.get(pager_link(earlier, "prev")).get_data(as_text=True)
    assert [n for n in notes if n in later] == notes[3:]


def test_officer_acknowledges(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.officer)
    page = client.get(url(p)).get_data(as_text=True)
    assert "Acknowledge" in page
    r = client.post(url(p, "acknowledge"), data={"note": "We will visit next week"})
    assert r.status_code == 302
    db.session.refresh(p)
    assert p.state == ProposalState.UNDER_REVIEW
    assert p.first_response_at is not None
    assert messages_of(p)[-1].kind == MessageKind.STATUS_NOTE
    assert "We will visit next week" in client.get(url(p)).get_data(as_text=True)


def test_officer_question_then_leader_replies(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.officer)
    r = client.post(url(p, "messages"), data={"kind": "question", "body": "Is the land public?"})
    assert r.status_code == 302
    db.session.refresh(p)
    assert p.state == ProposalState.NEGOTIATING

    as_user(world.leader)
    page = client.get(url(p)).get_data(as_text=True)
    assert "Is the land public?" in page
    assert 'name="kind" value="comment"' in page  # the leader's only kind
    assert "Acknowledge" not in page and "Decline" not in page
    r = client.post(url(p, "messages"), data={"kind": "comment", "body": "Yes, it is."})
    assert r.status_code == 302
    last = messages_of(p)[-1]
    assert (last.side, last.kind, last.body) == (Side.COMMUNITY, MessageKind.COMMENT, "Yes, it is.")


def test_leader_question_refused_on_the_page(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.leader)
    r = client.post(url(p, "messages"), data={"kind": "question", "body": "Keep me"})
    assert r.status_code == 200
    assert "Keep me" in r.get_data(as_text=True)
    assert messages_of(p) == []
    assert p.state == ProposalState.SUBMITTED


def test_empty_message_re_renders_with_error(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.leader)
    r = client.post(url(p, "messages"), data={"kind": "comment", "body": ""})
    assert r.status_code == 200
    assert "Write your message." in r.get_data(as_text=True)
    assert messages_of(p) == []


def test_too_long_message_keeps_the_text(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.leader)
    body = "long " * 1001
    r = client.post(url(p, "messages"), data={"kind": "comment", "body": body})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "At most 5000 characters." in html
    assert body.strip() in html


def test_accept_latest_version_through_the_page(world, make, client, as_user):
    p = submitted(make, world.co, state=ProposalState.UNDER_REVIEW)
    db.session.commit()
    as_user(world.officer)
    page = client.get(url(p)).get_data(as_text=True)
    assert f'name="version_id" type="hidden" value="{p.latest_version.id}"' in page
    r = client.post(url(p, "accept"), data={"version_id": p.latest_version.id, "note": ""})
    assert r.status_code == 302
    db.session.refresh(p)
    assert p.state == ProposalState.AGREED
    assert p.latest_version.agreed_by_id == world.officer.id


def test_accept_stale_version_refused_on_the_page(world, make, client, as_user):
    p = submitted(make, world.co, state=ProposalState.NEGOTIATING)
    old_id = p.latest_version.id
    newer = new_version(p)
    db.session.commit()
    as_user(world.officer)
    r = client.post(url(p, "accept"), data={"version_id": old_id, "note": "ok"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "The terms have changed" in html
    # the form now carries the version the officer can read on the page
    assert f'name="version_id" type="hidden" value="{newer.id}"' in html
    db.session.refresh(p)
    assert p.state == ProposalState.NEGOTIATING


def test_accept_with_a_junk_version_refused(world, make, client, as_user):
    p = submitted(make, world.co, state=ProposalState.UNDER_REVIEW)
    db.session.commit()
    as_user(world.officer)
    r = client.post(url(p, "accept"), data={"version_id": "abc"})
    assert r.status_code == 200
    db.session.refresh(p)
    assert p.state == ProposalState.UNDER_REVIEW


def test_decline_with_empty_reason_re_renders_and_keeps_state(world, make, client, as_user):
    p = submitted(make, world.co, state=ProposalState.UNDER_REVIEW)
    db.session.commit()
    as_user(world.officer)
    r = client.post(url(p, "decline"), data={"reason": "   "})
    assert r.status_code == 200
    assert "Give the reason for declining" in r.get_data(as_text=True)
    db.session.refresh(p)
    assert p.state == ProposalState.UNDER_REVIEW
    assert messages_of(p) == []


def test_decline_with_reason(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.officer)
    r = client.post(url(p, "decline"), data={"reason": "Not on public land"})
    assert r.status_code == 302
    db.session.refresh(p)
    assert p.state == ProposalState.DECLINED
    assert p.first_response_at is not None
    as_user(world.leader)
    assert "Not on public land" in client.get(url(p)).get_data(as_text=True)


# --- who may ---------------------------------------------------------------------------------


def test_member_cannot_write(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.member)
    r = client.post(url(p, "messages"), data={"kind": "comment", "body": "Me too"})
    assert r.status_code == 403
    assert messages_of(p) == []


def test_other_cos_leader_cannot_see_the_thread(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.other_leader)
    assert client.get(url(p)).status_code == 403
    r = client.post(url(p, "messages"), data={"kind": "comment", "body": "Hi"})
    assert r.status_code == 403


def test_officer_of_another_municipality_cannot_act(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.other_officer)
    assert client.get(url(p)).status_code == 403
    assert client.post(url(p, "acknowledge"), data={}).status_code == 403
    assert client.post(url(p, "decline"), data={"reason": "No"}).status_code == 403
    r = client.post(url(p, "accept"), data={"version_id": p.latest_version.id})
    assert r.status_code == 403
    r = client.post(url(p, "messages"), data={"kind": "question", "body": "?"})
    assert r.status_code == 403
    db.session.refresh(p)
    assert p.state == ProposalState.SUBMITTED


def test_leader_cannot_use_officer_actions(world, make, client, as_user):
    p = submitted(make, world.co, state=ProposalState.UNDER_REVIEW)
    db.session.commit()
    as_user(world.leader)
    assert client.post(url(p, "accept"), data={"version_id": p.latest_version.id}).status_code == (
        403
    )
    assert client.post(url(p, "decline"), data={"reason": "x"}).status_code == 403


def test_thread_closed_before_submission(world, make, client, as_user):
    p = make.proposal(world.co, state=ProposalState.APPROVED)
    db.session.commit()
    as_user(world.leader)
    assert client.get(url(p)).status_code == 403
    as_user(world.officer)
    assert client.get(url(p)).status_code == 403


def test_nobody_writes_in_a_withdrawn_thread(world, make, client, as_user):
    p = submitted(make, world.co, state=ProposalState.WITHDRAWN)
    db.session.commit()
    as_user(world.leader)
    assert client.get(url(p)).status_code == 200
    r = client.post(url(p, "messages"), data={"kind": "comment", "body": "Hi"})
    assert r.status_code == 403


def test_staff_read_but_do_not_write(world, make, client, as_user):
    p = submitted(make, world.co)
    db.session.commit()
    as_user(world.staff)
    assert client.get(url(p)).status_code == 200
    assert client.post(url(p, "messages"), data={"body": "Hi"}).status_code == 403


def test_anonymous_is_sent_to_login(world, make, client):
    p = submitted(make, world.co)
    db.session.commit()
    assert client.get(url(p)).status_code in (302, 401)


def test_missing_proposal_is_404(world, client, as_user):
    as_user(world.officer)
    assert client.get("/proposals/999999/thread").status_code == 404


# --- CSRF -----------------------------------------------------------------------------------


def test_acknowledge_with_csrf_on(world, make, csrf_app, login):
    p = submitted(make, world.co)
    db.session.commit()
    c = csrf_app.test_client()
    login(world.officer, c)
    r = c.post(url(p, "acknowledge"), data={"note": "no token"})
    assert r.status_code == 400
    db.session.refresh(p)
    assert p.state == ProposalState.SUBMITTED
    token = csrf_token(c.get(url(p)).data)
    r = c.post(url(p, "acknowledge"), data={"note": "ok", "csrf_token": token})
    assert r.status_code == 302
    db.session.refresh(p)
    assert p.state == ProposalState.UNDER_REVIEW
