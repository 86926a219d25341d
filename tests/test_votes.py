"""Member votes on proposals: opening, ballots, show-of-hands tallies, closing, the result."""

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from consult.audit.models import AuditEvent
from consult.communities.models import Membership
from consult.core.db import utcnow
from consult.core.enums import Gender, ProposalState, VoteChoice, VoteResult
from consult.extensions import db
from consult.notifications.models import Notification
from consult.proposals import service
from consult.proposals.models import Proposal
from consult.votes import service as votes
from consult.votes.models import Vote, VoteRound, VoteTally
from tests.helpers import csrf_token


def _open(world, make, **kw):
    """A proposal of the world's CO with a vote open for a week."""
    p = make.proposal(world.co, **kw)
    rnd = service.open_vote(p, world.leader, utcnow() + timedelta(days=7))
    db.session.commit()
    return p, rnd


def _membership(user, co):
    return user.membership_in(co.id)


def _stored_counts(rnd):
    """Totals counted afresh from the stored rows, to compare with the cached ones."""
    online = dict(
        db.session.execute(
            select(Vote.choice, func.count(Vote.id))
            .where(Vote.round_id == rnd.id)
            .group_by(Vote.choice)
        ).all()
    )
    tallies = db.session.scalars(select(VoteTally).where(VoteTally.round_id == rnd.id)).all()
    return (
        online.get(VoteChoice.YES, 0) + sum(t.yes for t in tallies),
        online.get(VoteChoice.NO, 0) + sum(t.no for t in tallies),
        online.get(VoteChoice.ABSTAIN, 0) + sum(t.abstain for t in tallies),
    )


def _cached(rnd):
    db.session.refresh(rnd)
    return (rnd.yes_count, rnd.no_count, rnd.abstain_count)


# --- the rule itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yes", "no", "participants", "members", "expected"),
    [
        (3, 1, 4, 8, VoteResult.APPROVED),  # 4 of 8 is exactly the 50% quorum
        (3, 0, 3, 8, VoteResult.NO_QUORUM),  # 3 of 8 is not
        (2, 2, 4, 8, VoteResult.REJECTED),  # exactly 50% yes is not *more* than 50%
        (3, 2, 5, 8, VoteResult.APPROVED),
        (0, 0, 4, 8, VoteResult.REJECTED),  # everyone abstained
    ],
)
def test_decide(yes, no, participants, members, expected):
    assert votes.decide(yes, no, participants, members, 50, 50) == expected


# --- opening --------------------------------------------------------------------------------


def test_leader_opens_vote_in_local_time(world, make, client, login):
    p = make.proposal(world.co)
    world.co.quorum_percent, world.co.threshold_percent = 60, 66
    db.session.commit()
    login(world.leader)
    page = client.get(f"/proposals/{p.id}/vote/open")
    assert page.status_code == 200
    r = client.post(f"/proposals/{p.id}/vote/open", data={"closes_at": "2099-01-01T18:00"})
    assert r.status_code == 302
    db.session.expire_all()
    assert p.state == ProposalState.VOTING
    rnd = db.session.scalar(select(VoteRound).where(VoteRound.proposal_id == p.id))
    # Phnom Penh is UTC+7: 18:00 there is 11:00 UTC
    assert rnd.closes_at == datetime(2099, 1, 1, 11, 0, tzinfo=UTC)
    assert (rnd.quorum_percent, rnd.threshold_percent) == (60, 66)
    told = db.session.scalars(select(Notification).where(Notification.kind == "vote.opened"))
    assert {n.user_id for n in told} == {world.member.id}


def test_closing_time_in_the_past_is_refused(world, make, client, login):
    p = make.proposal(world.co)
    db.session.commit()
    login(world.leader)
    r = client.post(f"/proposals/{p.id}/vote/open", data={"closes_at": "2001-01-01T18:00"})
    assert r.status_code == 200
    assert b"must be in the future" in r.data
    assert b"2001-01-01T18:00" in r.data  # what was typed is kept
    db.session.expire_all()
    assert p.state == ProposalState.DRAFT
    assert db.session.scalar(select(func.count(VoteRound.id))) == 0


# --- ballots --------------------------------------------------------------------------------


def test_member_votes_and_changes_their_vote(world, make, client, login):
    p, rnd = _open(world, make)
    login(world.member)
    page = client.get(f"/proposals/{p.id}")
    assert b'name="choice" value="yes"' in page.data
    client.post(f"/proposals/{p.id}/vote", data={"choice": "yes"})
    assert _cached(rnd) == (1, 0, 0)
    r = client.post(f"/proposals/{p.id}/vote", data={"choice": "no"}, follow_redirects=True)
    assert b"Your vote is changed to: No." in r.data
    # the current vote is highlighted (its pictogram, then its word)
    assert re.search(rb'aria-pressed="true"><svg[^>]*>.*?</svg> No<', r.data)
    db.session.expire_all()
    votes = db.session.scalars(select(Vote).where(Vote.round_id == rnd.id)).all()
    assert len(votes) == 1
    assert votes[0].choice == VoteChoice.NO and votes[0].changed_at is not None
    assert _cached(rnd) == (0, 1, 0) == _stored_counts(rnd)
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.proposal_id == p.id).order_by(AuditEvent.id)
    ).all()
    assert actions[-2:] == ["vote.cast", "vote.changed"]


def test_same_choice_again_changes_nothing(world, make):
    p, rnd = _open(world, make)
    m = _membership(world.member, world.co)
    assert service.cast_vote(p, m, VoteChoice.YES) == "cast"
    assert service.cast_vote(p, m, VoteChoice.YES) == "unchanged"
    assert service.cast_vote(p, m, VoteChoice.ABSTAIN) == "changed"
    assert _cached(rnd) == (0, 0, 1) == _stored_counts(rnd)


def test_vote_after_closing_time_is_refused(world, make, client, login):
    p, rnd = _open(world, make)
    rnd.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    login(world.member)
    page = client.get(f"/proposals/{p.id}")
    assert b'name="choice"' not in page.data  # the buttons are gone
    r = client.post(f"/proposals/{p.id}/vote", data={"choice": "yes"}, follow_redirects=True)
    assert b"Voting closed at" in r.data
    assert db.session.scalar(select(func.count(Vote.id))) == 0
    assert _cached(rnd) == (0, 0, 0)


def test_vote_after_close_is_refused(world, make, client, login):
    p, rnd = _open(world, make)
    service.close_vote(p, world.leader)
    db.session.commit()
    login(world.member)
    r = client.post(f"/proposals/{p.id}/vote", data={"choice": "yes"}, follow_redirects=True)
    assert r.status_code == 200
    assert b"There is no open vote" in r.data
    assert db.session.scalar(select(func.count(Vote.id))) == 0


def test_member_of_another_co_cannot_see_or_vote(world, make, client, login):
    p, rnd = _open(world, make)
    login(world.other_member)
    assert client.get(f"/proposals/{p.id}").status_code == 403
    assert client.post(f"/proposals/{p.id}/vote", data={"choice": "yes"}).status_code == 403
    assert db.session.scalar(select(func.count(Vote.id))) == 0


def test_membership_of_another_co_is_refused_by_the_service(world, make):
    p, rnd = _open(world, make)
    with pytest.raises(service.VoteError):
        service.cast_vote(p, _membership(world.other_member, world.other_co), VoteChoice.YES)


def test_database_refuses_a_second_vote_row(world, make):
    p, rnd = _open(world, make)
    m = _membership(world.member, world.co)
    db.session.add(
        Vote(round_id=rnd.id, membership_id=m.id, choice=VoteChoice.YES, cast_at=utcnow())
    )
    db.session.flush()
    db.session.add(
        Vote(round_id=rnd.id, membership_id=m.id, choice=VoteChoice.NO, cast_at=utcnow())
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_csrf_is_required_to_vote(world, make, csrf_app, login):
    p, rnd = _open(world, make)
    strict = csrf_app.test_client()
    login(world.member, strict)
    refused = strict.post(f"/proposals/{p.id}/vote", data={"choice": "yes"})
    assert refused.status_code in (302, 400)
    assert db.session.scalar(select(func.count(Vote.id))) == 0
    page = strict.get(f"/proposals/{p.id}")
    token = csrf_token(page.data)
    ok = strict.post(f"/proposals/{p.id}/vote", data={"choice": "yes", "csrf_token": token})
    assert ok.status_code == 302
    assert db.session.scalar(select(func.count(Vote.id))) == 1


# --- show-of-hands tallies ------------------------------------------------------------------


def test_leader_records_a_tally_by_gender(world, make, client, login):
    p, rnd = _open(world, make)
    meeting = make.meeting(world.co, held_at=utcnow() - timedelta(hours=1))
    db.session.commit()
    login(world.leader)
    form = client.get(f"/proposals/{p.id}/tally")
    assert b"NOT voted online" in form.data
    data = {"meeting_id": meeting.id, "yes_women": 5, "yes_men": 2, "no_men": 1}
    data |= {k: 0 for k in ("yes_other", "no_women", "no_other")}
    data |= {k: 0 for k in ("abstain_women", "abstain_men", "abstain_other")}
    assert client.post(f"/proposals/{p.id}/tally", data=data).status_code == 302
    assert _cached(rnd) == (7, 1, 0) == _stored_counts(rnd)
    # recording the same meeting again replaces its counts
    data |= {"yes_women": 4, "abstain_women": 1}
    assert client.post(f"/proposals/{p.id}/tally", data=data).status_code == 302
    tallies = db.session.scalars(select(VoteTally).where(VoteTally.round_id == rnd.id)).all()
    assert len(tallies) == 1
    assert (tallies[0].yes_women, tallies[0].abstain_women) == (4, 1)
    assert _cached(rnd) == (6, 1, 1) == _stored_counts(rnd)
    b = votes.breakdown(rnd)
    assert b.count(VoteChoice.YES, Gender.WOMAN) == 4
    assert b.count(VoteChoice.YES, Gender.MAN) == 2
    assert b.count(source="meetings") == 8
    events = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.action.like("vote.tally%"))
        .order_by(AuditEvent.id)
    ).all()
    assert events == ["vote.tally_recorded", "vote.tally_replaced"]


def test_tally_with_more_hands_than_people_present_is_refused(world, make, client, login):
    p, rnd = _open(world, make)
    meeting = make.meeting(
        world.co, held_at=utcnow() - timedelta(hours=1), women_present=3, men_present=3
    )
    db.session.commit()
    login(world.leader)
    data = {"meeting_id": meeting.id, "yes_women": 30}
    r = client.post(f"/proposals/{p.id}/tally", data=data)
    assert r.status_code == 200
    assert b"30 hands counted" in r.data
    assert b'value="30"' in r.data
    assert db.session.scalar(select(func.count(VoteTally.id))) == 0


def test_tally_from_another_co_or_an_old_meeting_is_refused(world, make):
    p, rnd = _open(world, make)
    theirs = make.meeting(world.other_co, held_at=utcnow() - timedelta(hours=1))
    old = make.meeting(world.co, held_at=utcnow() - timedelta(days=30))
    for meeting in (theirs, old):
        with pytest.raises(service.VoteError):
            service.record_tally(p, meeting, world.leader, {"yes_women": 1})
    assert old not in votes.tally_meetings(p, rnd)


def test_member_cannot_record_a_tally_or_close(world, make, client, login):
    p, rnd = _open(world, make)
    login(world.member)
    assert client.get(f"/proposals/{p.id}/tally").status_code == 403
    assert client.post(f"/proposals/{p.id}/vote/close").status_code == 403
    db.session.expire_all()
    assert p.state == ProposalState.VOTING


# --- closing --------------------------------------------------------------------------------


def _four_members(world, make):
    """The world's CO grown to four members: leader and member are a woman and a man."""
    world.leader.gender, world.member.gender = Gender.WOMAN, Gender.MAN
    third = make.member(world.co, gender=Gender.WOMAN)
    fourth = make.member(world.co, gender=Gender.OTHER)
    db.session.commit()
    return third, fourth


def test_close_approved_explains_how(world, make, client, login):
    third, fourth = _four_members(world, make)
    p, rnd = _open(world, make)
    meeting = make.meeting(world.co, held_at=utcnow() - timedelta(hours=1))
    service.cast_vote(p, _membership(world.leader, world.co), VoteChoice.YES)
    service.cast_vote(p, _membership(world.member, world.co), VoteChoice.NO)
    service.cast_vote(p, _membership(third, world.co), VoteChoice.YES)
    service.record_tally(p, meeting, world.leader, {"yes_women": 2, "no_men": 1})
    db.session.commit()
    login(world.leader)
    page = client.get(f"/proposals/{p.id}")
    assert b"Closing now ends it early" in page.data
    r = client.post(f"/proposals/{p.id}/vote/close", follow_redirects=True)
    db.session.expire_all()
    assert p.state == ProposalState.APPROVED
    assert rnd.result == VoteResult.APPROVED and rnd.members_at_close == 4
    assert (rnd.yes_count, rnd.no_count, rnd.abstain_count) == (4, 2, 0)
    text = r.data.decode()
    assert (
        "4 people were on the roll and still members at the close, so the quorum of 50% "
        "needed 2. 6 took part: 3 online and 3 by show of hands at 1 meeting."
    ) in " ".join(text.split())
    assert (
        "Approved: 4 yes, 2 no, 0 abstained. Yes is 66.6% of yes + no, more than the 50% required."
    ) in text
    told = db.session.scalars(select(Notification).where(Notification.kind == "vote.closed"))
    assert {n.user_id for n in told} == {world.leader.id, world.member.id, third.id, fourth.id}
    assert db.session.scalar(
        select(func.count(AuditEvent.id)).where(AuditEvent.action == "proposal.close_vote")
    )


def test_close_without_quorum_goes_back_to_draft(world, make, client, login):
    _four_members(world, make)
    p, rnd = _open(world, make)
    service.cast_vote(p, _membership(world.member, world.co), VoteChoice.YES)
    db.session.commit()
    login(world.leader)
    r = client.post(f"/proposals/{p.id}/vote/close", follow_redirects=True)
    db.session.expire_all()
    assert p.state == ProposalState.DRAFT
    assert rnd.result == VoteResult.NO_QUORUM
    assert b"No quorum: 1 took part, fewer than the 2 needed" in r.data


def test_exactly_half_yes_is_rejected(world, make, client, login):
    p, rnd = _open(world, make)
    service.cast_vote(p, _membership(world.leader, world.co), VoteChoice.YES)
    service.cast_vote(p, _membership(world.member, world.co), VoteChoice.NO)
    db.session.commit()
    login(world.leader)
    r = client.post(f"/proposals/{p.id}/vote/close", follow_redirects=True)
    db.session.expire_all()
    assert p.state == ProposalState.DRAFT
    assert rnd.result == VoteResult.REJECTED
    assert b"Yes is 50% of yes + no, not more than the 50% required" in r.data


def test_members_do_not_see_running_counts(world, make, client, login):
    p, rnd = _open(world, make)
    service.cast_vote(p, _membership(world.leader, world.co), VoteChoice.YES)
    db.session.commit()
    login(world.member)
    assert b"Counts so far" not in client.get(f"/proposals/{p.id}").data
    login(world.leader)
    assert b"Counts so far" in client.get(f"/proposals/{p.id}").data


def test_close_on_a_draft_is_refused_with_a_message(world, make, client, login):
    p = make.proposal(world.co)
    db.session.commit()
    login(world.leader)
    r = client.post(f"/proposals/{p.id}/vote/close", follow_redirects=True)
    assert r.status_code == 200
    assert b"is not possible while the proposal is Draft" in r.data
    db.session.expire_all()
    assert p.state == ProposalState.DRAFT


# --- at the same instant (PostgreSQL: real concurrent transactions) -------------------------


def _at_once(app, jobs):
    """Run each job in its own thread, app context and database session, released together."""
    barrier = threading.Barrier(len(jobs))
    errors = []

    def run(job):
        with app.app_context():
            try:
                barrier.wait()
                job()
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported to the test below
                barrier.abort()
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _cast_job(proposal_id, membership_id, choice):
    def job():
        p = db.session.get(Proposal, proposal_id)
        service.cast_vote(p, db.session.get(Membership, membership_id), choice)

    return job


def test_simultaneous_votes_give_one_vote_and_exact_counts(world, make, app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    extra = [make.member(world.co) for _ in range(6)]
    p, rnd = _open(world, make)
    me = _membership(world.member, world.co).id
    others = [_membership(u, world.co).id for u in extra]
    jobs = [_cast_job(p.id, me, VoteChoice.YES), _cast_job(p.id, me, VoteChoice.YES)]
    jobs += [_cast_job(p.id, m, VoteChoice.NO) for m in others]
    assert _at_once(app, jobs) == []
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Vote.id)).where(Vote.membership_id == me)) == 1
    assert _cached(rnd) == (1, 6, 0) == _stored_counts(rnd)


def test_a_close_committed_elsewhere_is_seen_before_counting(world, make):
    """This session still holds the round as open; another process closed it meanwhile. The
    ballot must read the round fresh under its lock and be refused, not stored."""
    p, rnd = _open(world, make)
    assert rnd.closed_at is None  # loaded in this session's identity map
    with db.engine.begin() as other:
        other.execute(
            VoteRound.__table__.update()
            .where(VoteRound.__table__.c.id == rnd.id)
            .values(closed_at=datetime.now(UTC))
        )
    with pytest.raises(service.VoteError):
        service.cast_vote(p, _membership(world.member, world.co), VoteChoice.YES)
    assert db.session.scalar(select(func.count(Vote.id))) == 0


def test_no_one_can_close_the_vote_while_a_ballot_is_being_counted(world, make, monkeypatch):
    """Between a ballot's "is the vote open?" check (the locking statement) and the writing
    of its row, a close from another process must wait: the ballot holds the round's write
    lock (on SQLite too)."""
    from sqlalchemy import text

    from consult.votes import ballots

    p, rnd = _open(world, make)
    attempts = []

    def close_from_elsewhere():
        with db.engine.connect() as other:
            if db.engine.dialect.name == "sqlite":
                other.execute(text("PRAGMA busy_timeout = 100"))
            else:
                other.execute(text("SET lock_timeout = '100ms'"))
            try:
                other.execute(
                    VoteRound.__table__.update()
                    .where(VoteRound.__table__.c.id == rnd.id)
                    .values(closed_at=datetime.now(UTC))
                )
                other.commit()
                attempts.append("closed")
            except Exception:  # noqa: BLE001 - locked out, as it should be
                other.rollback()
                attempts.append("had to wait")

    for name in ("_store_after_totals", "_store_with_totals"):  # SQLite's and PostgreSQL's

        def store(*args, _real=getattr(ballots, name), **kw):
            close_from_elsewhere()
            return _real(*args, **kw)

        monkeypatch.setattr(ballots, name, store)
    assert service.cast_vote(p, _membership(world.member, world.co), VoteChoice.YES) == "cast"
    db.session.commit()
    assert attempts == ["had to wait"]
    assert _cached(rnd) == (1, 0, 0) == _stored_counts(rnd)


def test_votes_whose_time_is_up_are_closed_by_the_platform(world, make, runner):
    """``consult close-votes`` fixes the result when the leader has not closed the vote."""
    due, rnd = _open(world, make)
    service.cast_vote(due, _membership(world.member, world.co), VoteChoice.YES)
    service.cast_vote(due, _membership(world.leader, world.co), VoteChoice.YES)
    running, later = _open(world, make)
    rnd.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    result = runner.invoke(args=["close-votes"])
    assert result.exit_code == 0, result.output
    assert "1 vote(s) closed, 0 skipped" in result.output
    db.session.expire_all()
    assert rnd.result == VoteResult.APPROVED and due.state == ProposalState.APPROVED
    assert later.closed_at is None and running.state == ProposalState.VOTING
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "proposal.close_vote"))
    assert event.actor_id is None  # the platform, not a person
    assert "0 vote(s) closed" in runner.invoke(args=["close-votes"]).output


def test_the_platform_never_closes_a_vote_early(world, make):
    p, rnd = _open(world, make)
    with pytest.raises(service.VoteError):
        service.close_vote(p, None)
    assert rnd.closed_at is None
