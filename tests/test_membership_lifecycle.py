"""Membership that can change safely: disabled accounts and people who left are told nothing;
a person who left can be added back (same account); a leader names other officers and steps
down; irreversible actions ask first on a second screen that works without JavaScript."""

from datetime import timedelta

from flask import g
from sqlalchemy import func, select

from consult.audit.models import AuditEvent
from consult.communities import service as communities
from consult.core.db import utcnow
from consult.core.enums import MembershipRole, ProposalState
from consult.extensions import db
from consult.notifications import mail
from consult.notifications.models import Notification, OutgoingMail
from consult.notifications.service import notify
from consult.priorities import service as priorities
from consult.proposals import service as proposals


def _ms(user, co):
    return user.membership_in(co.id)


def _told(user) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user.id)
    )


def _as(login, user):
    g.pop("_login_user", None)
    return login(user)


# --- case 4: nobody disabled, nobody gone, is told ----------------------------------------


def test_a_disabled_account_gets_no_notification_and_no_mail(world, make, monkeypatch, app):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    world.member.email = "dara@example.org"
    world.member.active = False
    db.session.commit()
    proposals.open_vote(make.proposal(world.co), world.leader, utcnow() + timedelta(days=7))
    notify([world.member], "vote.opened", title="Lane")
    db.session.commit()
    assert _told(world.member) == 0
    assert db.session.scalar(select(func.count(OutgoingMail.id))) == 0


def test_mail_queued_before_the_account_was_disabled_is_not_sent(world, monkeypatch, app):
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    world.member.email = "dara@example.org"
    notify([world.member], "vote.opened", title="Lane")
    world.member.active = False
    db.session.commit()

    class Mailer:
        sent = []

        def send(self, msg):
            self.sent.append(msg)

        def reset(self):
            pass

    row_id = mail.claim(utcnow())
    assert mail.deliver(row_id, Mailer()) is False
    assert Mailer.sent == []
    assert db.session.scalar(select(func.count(OutgoingMail.id))) == 0


def test_people_who_left_are_not_told_of_a_new_vote(world, make):
    communities.end_membership(_ms(world.member, world.co), by=world.leader)
    p = make.proposal(world.co)
    proposals.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    db.session.commit()
    assert _told(world.member) == 0


# --- case 5: back again, officers named, confirmation first -------------------------------


def test_a_removed_member_is_added_back_with_the_same_account(world, client, login):
    _as(login, world.leader)
    m = _ms(world.member, world.co)
    assert client.post(f"/co/{world.co.id}/members/{m.id}/leave").status_code == 302
    r = client.post(
        f"/co/{world.co.id}/members",
        data={
            "name": world.member.name,
            "phone": world.member.phone,
            "email": "",
            "gender": "woman",
            "role": "member",
        },
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Another account already uses this phone number" not in page
    assert "already had an account" in page
    db.session.expire_all()
    back = _ms(world.member, world.co)
    assert back is not None and back.id != m.id and back.left_on is None
    # no invitation when the person already has a password
    assert "/invitation/" not in page


def test_adding_someone_already_a_member_says_so(world, client, login):
    _as(login, world.leader)
    r = client.post(
        f"/co/{world.co.id}/members",
        data={"name": "Duplicate", "phone": world.member.phone, "gender": "man", "role": "member"},
    )
    assert r.status_code == 200
    assert "is already a member" in r.get_data(as_text=True)


def test_a_leader_names_another_leader_then_steps_down(world, client, login):
    _as(login, world.leader)
    url = f"/co/{world.co.id}/members"
    own = _ms(world.leader, world.co)
    # stepping down alone is refused: somebody must lead
    client.post(f"{url}/{own.id}/role", data={"role": "member"})
    db.session.expire_all()
    assert _ms(world.leader, world.co).role == MembershipRole.LEADER
    other = _ms(world.member, world.co)
    r = client.post(f"{url}/{other.id}/role", data={"role": "leader"})
    assert r.status_code == 302
    client.post(f"{url}/{own.id}/role", data={"role": "member"})
    db.session.expire_all()
    assert _ms(world.member, world.co).role == MembershipRole.LEADER
    assert _ms(world.leader, world.co).role == MembershipRole.MEMBER
    changes = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "membership.role_changed")
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_id, e.detail["after"]) for e in changes] == [
        (world.leader.id, "leader"),
        (world.leader.id, "member"),
    ]


def test_a_leader_names_a_secretary_and_a_member_cannot(world, client, login):
    _as(login, world.member)
    m = _ms(world.member, world.co)
    url = f"/co/{world.co.id}/members/{m.id}/role"
    assert client.post(url, data={"role": "leader"}).status_code == 403
    _as(login, world.leader)
    page = client.get(f"/co/{world.co.id}/members").get_data(as_text=True)
    assert f'action="{url}"' in page
    client.post(url, data={"role": "secretary"})
    db.session.expire_all()
    assert _ms(world.member, world.co).role == MembershipRole.SECRETARY


def _asks_first(client, url, question):
    """The first tap (a link) shows a second screen that POSTs; nothing changes on GET."""
    r = client.get(url)
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert question in page
    assert f'action="{url}"' in page and 'method="post"' in page
    assert "Cancel" in page
    return page


def test_remove_asks_first(world, client, login):
    _as(login, world.leader)
    m = _ms(world.member, world.co)
    url = f"/co/{world.co.id}/members/{m.id}/leave"
    members_page = client.get(f"/co/{world.co.id}/members").get_data(as_text=True)
    assert f'href="{url}"' in members_page  # a link to the second screen, not a POST button
    _asks_first(client, url, f"Remove {world.member.name} from {world.co.name}?")
    db.session.expire_all()
    assert _ms(world.member, world.co).left_on is None


def test_close_vote_and_submit_ask_first(world, make, client, login):
    p = make.proposal(world.co)
    proposals.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    db.session.commit()
    _as(login, world.leader)
    _asks_first(client, f"/proposals/{p.id}/vote/close", "Close the vote on")
    db.session.expire_all()
    assert p.state == ProposalState.VOTING
    approved = make.proposal(world.co, state=ProposalState.APPROVED)
    db.session.commit()
    _asks_first(client, f"/proposals/{approved.id}/submit", "Submit “")
    db.session.expire_all()
    assert approved.state == ProposalState.APPROVED


def test_close_round_asks_first(world, make, client, login):
    make.problem(world.co)
    rnd = priorities.open_round(world.co, by=world.leader, title="2026")
    db.session.commit()
    _as(login, world.leader)
    _asks_first(client, f"/priorities/{rnd.id}/close", "Close “2026”?")
    db.session.expire_all()
    assert rnd.closed_at is None


def test_closing_the_vote_on_a_counter_offer_asks_first(world, make, client, login):
    from decimal import Decimal

    from consult.negotiation import offers
    from consult.proposals.models import ProposalVersion

    p = make.proposal(world.co, state=ProposalState.UNDER_REVIEW)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    offer = offers.counter_offer(
        p,
        world.officer,
        municipal_share=Decimal("24000000"),
        community_cash=p.latest_version.community_cash,
        community_labour=Decimal("14000000"),
    )
    rnd = offers.put_counter_offer_to_vote(p, world.leader, offer, utcnow() + timedelta(days=7))
    db.session.commit()
    _as(login, world.leader)
    url = f"/proposals/{p.id}/thread/offers/{offer.id}/vote/close"
    assert f'href="{url}"' in client.get(f"/proposals/{p.id}/thread").get_data(as_text=True)
    _asks_first(client, url, "Close the members&#39; vote on the counter-offer?")
    db.session.expire_all()
    assert rnd.closed_at is None
