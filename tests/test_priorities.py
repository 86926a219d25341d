"""Priority rounds: the service's counting rules, then the screens through their real forms."""

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask import g
from sqlalchemy import func, select

from consult.audit.models import AuditEvent
from consult.core.db import utcnow
from consult.core.enums import Gender, ProblemStatus
from consult.extensions import db
from consult.priorities import counting, service
from consult.problems.models import PriorityPoints, PriorityRound, PriorityTally
from tests.helpers import csrf_token

# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def login(login):
    """conftest's ``login``, also forgetting the user Flask-Login cached in ``g``: requests
    share the test's app context, so without this a second ``login`` in a test would still
    act as the first person."""

    def _login(user, c=None):
        result = login(user, c)
        g.pop("_login_user", None)
        return result

    return _login


def _problems(make, co, n=3):
    return [make.problem(co, title=f"Problem {i}") for i in range(1, n + 1)]


def _round(world, make, n=3, **kw):
    problems = _problems(make, world.co, n)
    rnd = service.open_round(world.co, by=world.leader, title="Priorities 2026", **kw)
    db.session.commit()
    return rnd, problems


def _ms(user, co):
    return user.membership_in(co.id)


def _events(action):
    # in the order they happened: without ORDER BY, PostgreSQL may return rows in any order
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return db.session.scalars(query).all()


def _rows(rnd):
    return sorted(
        db.session.execute(
            select(
                PriorityPoints.membership_id, PriorityPoints.problem_id, PriorityPoints.points
            ).where(PriorityPoints.round_id == rnd.id)
        ).all()
    )


# --- service: opening -------------------------------------------------------------------------


def test_open_round_takes_the_cos_points_and_open_problems(world, make):
    world.co.priority_points = 5
    problems = _problems(make, world.co, 2)
    make.problem(world.co, title="Solved already", status=ProblemStatus.RESOLVED)
    make.problem(world.other_co, title="Someone else's")
    rnd = service.open_round(world.co, by=world.leader, title="R1")
    assert (rnd.points_per_member, rnd.max_per_problem) == (5, 5)
    assert counting.round_problem_ids(rnd) == [p.id for p in problems]
    (ev,) = _events("priority_round.opened")
    assert ev.actor_id == world.leader.id and ev.co_id == world.co.id


def test_problem_recorded_later_is_not_in_the_round(world, make):
    rnd, problems = _round(world, make, 2)
    late = make.problem(world.co, title="Late")
    assert counting.round_problem_ids(rnd) == [p.id for p in problems]
    with pytest.raises(service.PriorityError):
        service.give_points(rnd, _ms(world.member, world.co), {late.id: 1})


def test_open_round_refused_without_open_problems(world):
    with pytest.raises(service.PriorityError, match="no open problem"):
        service.open_round(world.co, by=world.leader, title="R1")


def test_only_one_open_round_per_co(world, make):
    _round(world, make)
    with pytest.raises(service.PriorityError, match="already open"):
        service.open_round(world.co, by=world.leader, title="R2")


@pytest.mark.parametrize(
    ("points", "most", "closes", "message"),
    [
        (3, 4, None, "between 1 and 3"),
        (3, 0, None, "between 1 and 3"),
        (3, 2, timedelta(hours=-1), "future"),
    ],
)
def test_open_round_checks_its_numbers(world, make, points, most, closes, message):
    _problems(make, world.co, 1)
    with pytest.raises(service.PriorityError, match=message):
        service.open_round(
            world.co,
            by=world.leader,
            title="R",
            points_per_member=points,
            max_per_problem=most,
            closes_at=utcnow() + closes if closes else None,
        )


# --- service: ballots -------------------------------------------------------------------------


def test_new_ballot_replaces_the_old_one_completely(world, make):
    rnd, (a, b, c) = _round(world, make)
    ms = _ms(world.member, world.co)
    service.give_points(rnd, ms, {a.id: 2, b.id: 1})
    db.session.commit()
    service.give_points(rnd, ms, {c.id: 3, a.id: 0})
    db.session.commit()
    assert _rows(rnd) == [(ms.id, c.id, 3)]
    assert [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))][
        -2:
    ] == ["priority_round.ballot_given", "priority_round.ballot_changed"]
    service.give_points(rnd, ms, {a.id: 0})  # all zeros: the ballot is withdrawn
    db.session.commit()
    assert _rows(rnd) == []


@pytest.mark.parametrize(
    ("ballot", "message"),
    [
        ({0: 2, 1: 2}, "You gave 4 points; you have 3"),
        ({0: 3}, "At most 2 points on one problem"),
        ({0: -1}, "negative"),
    ],
)
def test_ballot_rules(world, make, ballot, message):
    rnd, problems = _round(world, make, max_per_problem=2)
    ms = _ms(world.member, world.co)
    service.give_points(rnd, ms, {problems[2].id: 1})
    db.session.commit()
    with pytest.raises(service.PriorityError, match=message):
        service.give_points(rnd, ms, {problems[i].id: n for i, n in ballot.items()})
    db.session.rollback()
    assert _rows(rnd) == [(ms.id, problems[2].id, 1)]  # the earlier ballot stands


def test_ballot_refused_when_closed_past_closing_time_or_outsider(world, make):
    rnd, (a, *_rest) = _round(world, make, closes_at=utcnow() + timedelta(days=1))
    with pytest.raises(service.PriorityError, match="current members"):
        service.give_points(rnd, _ms(world.other_member, world.other_co), {a.id: 1})
    rnd.closes_at = utcnow() - timedelta(minutes=1)
    with pytest.raises(service.PriorityError, match="time to give points is over"):
        service.give_points(rnd, _ms(world.member, world.co), {a.id: 1})
    db.session.rollback()
    rnd = db.session.get(PriorityRound, rnd.id)
    service.close_round(rnd, by=world.leader)
    db.session.commit()
    with pytest.raises(service.PriorityError, match="closed"):
        service.give_points(rnd, _ms(world.member, world.co), {a.id: 1})


def test_ballot_is_one_transaction_with_its_audit_event(world, make):
    """The savepoint must not commit on its own (pysqlite's SAVEPOINT pitfall)."""
    rnd, (a, *_rest) = _round(world, make)
    service.give_points(rnd, _ms(world.member, world.co), {a.id: 1})
    db.session.rollback()
    assert _rows(rnd) == []
    assert _events("priority_round.ballot_given") == []


def test_database_refuses_a_second_row_for_the_same_member_and_problem(world, make):
    rnd, (a, *_rest) = _round(world, make)
    ms = _ms(world.member, world.co)
    service.give_points(rnd, ms, {a.id: 1})
    db.session.add(PriorityPoints(round_id=rnd.id, membership_id=ms.id, problem_id=a.id, points=1))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.flush()
    db.session.rollback()


def test_two_submissions_at_once_leave_exactly_one_distribution(app, world, make):
    rnd, (a, b, c) = _round(world, make)
    ms_id, rnd_id = _ms(world.member, world.co).id, rnd.id
    ballots = [{a.id: 2, b.id: 1}, {c.id: 3}]
    barrier = threading.Barrier(2)
    errors = []

    def submit(points):
        from consult.communities.models import Membership

        with app.app_context():
            try:
                r = db.session.get(PriorityRound, rnd_id)
                m = db.session.get(Membership, ms_id)
                barrier.wait()
                service.give_points(r, m, points)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=(p,)) for p in ballots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = {pid: n for _m, pid, n in _rows(db.session.get(PriorityRound, rnd_id))}
    assert final in ballots


# --- service: tallies, standings, turnout -----------------------------------------------------


def test_tally_must_be_the_cos_meeting_and_replaces_per_meeting(world, make):
    rnd, (a, b, _c) = _round(world, make)
    with pytest.raises(service.PriorityError, match="CO's meetings"):
        service.record_tally(rnd, make.meeting(world.other_co), {a.id: {"women": 1}}, world.leader)
    meeting = make.meeting(world.co, other_present=2)
    service.record_tally(rnd, meeting, {a.id: {"women": 4, "men": 2}}, world.leader)
    service.record_tally(rnd, meeting, {b.id: {"other": 1}}, world.leader)
    db.session.commit()
    assert service.tally_of(rnd, meeting.id) == {b.id: {"women": 0, "men": 0, "other": 1}}
    assert [e.action for e in _events("priority_round.tally_recorded")] == [
        "priority_round.tally_recorded"
    ]
    assert len(_events("priority_round.tally_changed")) == 1
    with pytest.raises(service.PriorityError, match="negative"):
        service.record_tally(rnd, meeting, {a.id: {"men": -1}}, world.leader)


def test_standings_combine_points_and_hands_with_shared_ranks(world, make):
    rnd, (a, b, c) = _round(world, make, n=3)
    ms1, ms2 = _ms(world.member, world.co), _ms(world.leader, world.co)
    service.give_points(rnd, ms1, {b.id: 2, c.id: 1})
    service.give_points(rnd, ms2, {a.id: 2})
    service.record_tally(rnd, make.meeting(world.co), {a.id: {"men": 1}}, world.leader)
    result = counting.standings(rnd)
    # b: 2, c: 1, a: 2 + 1 hand = 3 -> a 1st, b 2nd, c 3rd
    assert [(s.rank, s.problem_id, s.points, s.hands, s.total) for s in result] == [
        (1, a.id, 2, 1, 3),
        (2, b.id, 2, 0, 2),
        (3, c.id, 1, 0, 1),
    ]
    service.give_points(rnd, ms1, {b.id: 2, c.id: 1})  # same again: nothing changes
    service.give_points(rnd, ms2, {a.id: 1, c.id: 2})  # a 1+1, b 2, c 3
    assert [(s.rank, s.problem_id, s.total) for s in counting.standings(rnd)] == [
        (1, c.id, 3),
        (2, a.id, 2),
        (2, b.id, 2),
    ]


def test_nobody_took_part_everything_ties_first(world, make):
    rnd, problems = _round(world, make, n=2)
    assert [(s.rank, s.total) for s in counting.standings(rnd)] == [(1, 0), (1, 0)]
    t = counting.turnout(rnd)
    assert (t.voted, t.members, t.participants) == (0, 2, 0)


def test_turnout_by_gender_uses_members_at_close(world, make):
    woman = make.member(world.co, gender=Gender.WOMAN)
    man = make.member(world.co, gender=Gender.MAN)
    rnd, (a, b, _c) = _round(world, make)
    service.give_points(rnd, _ms(woman, world.co), {a.id: 1})
    service.give_points(rnd, _ms(man, world.co), {a.id: 1, b.id: 1})
    meeting = make.meeting(world.co, other_present=2)
    service.record_tally(
        rnd,
        meeting,
        {a.id: {"women": 5, "men": 1}, b.id: {"women": 3, "men": 4, "other": 1}},
        world.leader,
    )
    service.record_tally(rnd, make.meeting(world.co), {b.id: {"women": 2}}, world.leader)
    service.close_round(rnd, by=world.leader)
    make.member(world.co)  # joins after the close: not in the denominator
    t = counting.turnout(rnd)
    assert (t.voted, t.members) == (2, 4)
    assert t.online == {Gender.WOMAN: 1, Gender.MAN: 1, Gender.OTHER: 0}
    assert t.at_meetings == {Gender.WOMAN: 5 + 2, Gender.MAN: 4, Gender.OTHER: 1}
    assert t.by_gender[Gender.WOMAN] == 8 and t.participants == 14
    (ev,) = _events("priority_round.closed")
    assert ev.detail["members_at_close"] == 4


def test_close_twice_refused(world, make):
    rnd, _p = _round(world, make)
    service.close_round(rnd, by=world.leader)
    with pytest.raises(service.PriorityError, match="already closed"):
        service.close_round(rnd, by=world.leader)


# --- routes -----------------------------------------------------------------------------------


def _field(html: bytes, name: str) -> str | None:
    m = re.search(rb'name="' + name.encode() + rb'"[^>]*value="([^"]*)"', html) or re.search(
        rb'value="([^"]*)"[^>]*name="' + name.encode() + rb'"', html
    )
    return m.group(1).decode() if m else None


def test_leader_opens_a_round_with_local_closing_time(world, make, login, client):
    _problems(make, world.co, 2)
    db.session.commit()
    login(world.leader)
    page = client.get(f"/co/{world.co.id}/priorities/new")
    assert page.status_code == 200 and _field(page.data, "points_per_member") == "3"
    r = client.post(
        f"/co/{world.co.id}/priorities/new",
        data={
            "title": "Priorities 2026",
            "points_per_member": "4",
            "max_per_problem": "2",
            "closes_at": "2099-01-10T09:00",
        },
    )
    assert r.status_code == 302
    rnd = db.session.scalars(select(PriorityRound)).one()
    assert (rnd.points_per_member, rnd.max_per_problem) == (4, 2)
    # Phnom Penh is UTC+7
    assert rnd.closes_at == datetime(2099, 1, 10, 2, 0, tzinfo=UTC)
    assert client.get(r.headers["Location"]).status_code == 200


def test_open_refused_without_problems_keeps_what_was_typed(world, login, client):
    login(world.leader)
    r = client.post(
        f"/co/{world.co.id}/priorities/new",
        data={"title": "My round", "points_per_member": "3", "max_per_problem": "3"},
    )
    assert r.status_code == 200
    assert b"no open problem to rank" in r.data
    assert _field(r.data, "title") == "My round"
    assert db.session.scalar(select(func.count(PriorityRound.id))) == 0


def test_open_max_above_points_refused(world, make, login, client):
    _problems(make, world.co, 1)
    db.session.commit()
    login(world.leader)
    r = client.post(
        f"/co/{world.co.id}/priorities/new",
        data={"title": "R", "points_per_member": "2", "max_per_problem": "5"},
    )
    assert r.status_code == 200 and b"At most the points each member gives" in r.data


def test_member_cannot_open_close_or_tally(world, make, login, client):
    rnd, _p = _round(world, make)
    login(world.member)
    assert client.get(f"/co/{world.co.id}/priorities/new").status_code == 403
    assert client.post(f"/priorities/{rnd.id}/close").status_code == 403
    assert client.get(f"/priorities/{rnd.id}/tally").status_code == 403
    assert client.post(f"/priorities/{rnd.id}/tally", data={}).status_code == 403
    assert db.session.get(PriorityRound, rnd.id).closed_at is None


def test_other_co_gets_403_everywhere(world, make, login, client):
    rnd, (a, *_r) = _round(world, make)
    for outsider in (world.other_member, world.other_leader, world.officer):
        login(outsider)
        assert client.get(f"/co/{world.co.id}/priorities").status_code == 403
        assert client.get(f"/priorities/{rnd.id}").status_code == 403
        r = client.post(f"/priorities/{rnd.id}/ballot", data={f"problem_{a.id}": "1"})
        assert r.status_code == 403
        assert client.post(f"/priorities/{rnd.id}/close").status_code == 403
    assert _rows(rnd) == []


def test_member_gives_and_changes_points(world, make, login, client):
    rnd, (a, b, c) = _round(world, make)
    login(world.member)
    page = client.get(f"/priorities/{rnd.id}")
    assert page.status_code == 200 and b"Save my points" in page.data
    assert b"Standings so far" in page.data and b"shown to everyone when the leader" in page.data
    r = client.post(
        f"/priorities/{rnd.id}/ballot",
        data={f"problem_{a.id}": "2", f"problem_{b.id}": "1", f"problem_{c.id}": "0"},
    )
    assert r.status_code == 302
    ms = _ms(world.member, world.co)
    assert _rows(rnd) == [(ms.id, a.id, 2), (ms.id, b.id, 1)]
    page = client.get(f"/priorities/{rnd.id}")
    assert _field(page.data, f"problem_{a.id}") == "2"  # the ballot is shown back
    client.post(f"/priorities/{rnd.id}/ballot", data={f"problem_{c.id}": "3"})
    assert _rows(rnd) == [(ms.id, c.id, 3)]


def test_over_budget_refused_with_typed_values_kept(world, make, login, client):
    rnd, (a, b, c) = _round(world, make)
    login(world.member)
    r = client.post(
        f"/priorities/{rnd.id}/ballot",
        data={f"problem_{a.id}": "2", f"problem_{b.id}": "2", f"problem_{c.id}": "1"},
    )
    assert r.status_code == 200
    assert b"You gave 5 points; you have 3 to give." in r.data
    assert [_field(r.data, f"problem_{p.id}") for p in (a, b, c)] == ["2", "2", "1"]
    assert _rows(rnd) == []


def test_over_max_and_garbage_refused_with_typed_values_kept(world, make, login, client):
    rnd, (a, b, _c) = _round(world, make, points_per_member=3, max_per_problem=2)
    login(world.member)
    r = client.post(
        f"/priorities/{rnd.id}/ballot", data={f"problem_{a.id}": "3", f"problem_{b.id}": "x"}
    )
    assert r.status_code == 200
    assert b"From 0 to 2." in r.data
    assert _field(r.data, f"problem_{a.id}") == "3" and _field(r.data, f"problem_{b.id}") == "x"
    assert _rows(rnd) == []


def test_closed_round_refuses_points_with_a_message(world, make, login, client):
    rnd, (a, *_r) = _round(world, make)
    login(world.leader)
    assert client.post(f"/priorities/{rnd.id}/close").status_code == 302
    assert db.session.get(PriorityRound, rnd.id).closed_at is not None
    login(world.member)
    r = client.post(
        f"/priorities/{rnd.id}/ballot", data={f"problem_{a.id}": "1"}, follow_redirects=True
    )
    assert r.status_code == 200
    assert b"This round is closed; points can no longer be given." in r.data
    assert b"Save my points" not in r.data
    assert _rows(rnd) == []


def test_points_after_the_closing_time_refused_with_a_message(world, make, login, client):
    rnd, (a, *_r) = _round(world, make, closes_at=utcnow() + timedelta(hours=1))
    rnd.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    login(world.member)
    r = client.post(
        f"/priorities/{rnd.id}/ballot", data={f"problem_{a.id}": "1"}, follow_redirects=True
    )
    assert b"The time to give points is over." in r.data
    assert b"Save my points" not in r.data
    assert _rows(rnd) == []


def test_leader_records_tally_and_result_shows_ties_and_turnout(world, make, login, client):
    rnd, (a, b, c) = _round(world, make)
    meeting = make.meeting(world.co, other_present=2)
    foreign = make.meeting(world.other_co)
    service.give_points(rnd, _ms(world.member, world.co), {a.id: 2, b.id: 1})
    db.session.commit()
    login(world.leader)
    page = client.get(f"/priorities/{rnd.id}/tally")
    assert b"did not give points online" in page.data
    counts = {
        "meeting_id": str(meeting.id),
        f"women_{b.id}": "1",
        f"men_{c.id}": "1",
        f"other_{c.id}": "1",
    }
    r = client.post(f"/priorities/{rnd.id}/tally", data={**counts, "meeting_id": str(foreign.id)})
    assert r.status_code == 200 and db.session.scalar(select(func.count(PriorityTally.id))) == 0
    r = client.post(f"/priorities/{rnd.id}/tally", data={**counts, f"women_{a.id}": "-2"})
    assert r.status_code == 200 and _field(r.data, f"women_{a.id}") == "-2"
    assert client.post(f"/priorities/{rnd.id}/tally", data=counts).status_code == 302
    # a: 2, b: 1 + 1, c: 2 hands -> all tied at 2
    page = client.get(f"/priorities/{rnd.id}")
    assert b"Standings so far" in page.data
    client.post(f"/priorities/{rnd.id}/close")
    login(world.member)
    page = client.get(f"/priorities/{rnd.id}").data
    ranks = re.findall(rb'<tr><td class="num">(\d+)</td><td>([^<]+)', page)
    assert ranks == [(b"1", b"Problem 1 "), (b"1", b"Problem 2 "), (b"1", b"Problem 3 ")]
    assert b"1 of the 2 people on the roll gave points (50%)" in page
    assert b"(1 member)" in page and b"(0 members)" in page
    # by gender: the member (gender from the factory) online, 1 woman 1 man 1 other by hand
    t = counting.turnout(db.session.get(PriorityRound, rnd.id))
    assert t.at_meetings == {Gender.WOMAN: 1, Gender.MAN: 1, Gender.OTHER: 1}
    assert t.online[world.member.gender] == 1


def test_co_home_shows_current_priorities(world, make, login, client):
    rnd, (a, b, _c) = _round(world, make)
    login(world.member)
    home = client.get(f"/co/{world.co.id}").data
    assert b"Current priorities" in home and b"Priority round open" in home
    assert b"0 of 2 members have given points" in home
    service.give_points(rnd, _ms(world.member, world.co), {b.id: 3})
    service.close_round(rnd, by=world.leader)
    db.session.commit()
    home = client.get(f"/co/{world.co.id}").data.decode()
    assert "Priority round open" not in home
    assert home.index("Problem 2") < home.index("Problem 1")
    login(world.officer)  # officers see the CO's public page, not its internal ranking
    assert b"Current priorities" not in client.get(f"/co/{world.co.id}").data


def test_index_lists_open_round_first(world, make, login, client):
    rnd, _p = _round(world, make)
    service.close_round(rnd, by=world.leader)
    make.problem(world.co)
    second = service.open_round(world.co, by=world.leader, title="Second round")
    db.session.commit()
    login(world.member)
    page = client.get(f"/co/{world.co.id}/priorities").data.decode()
    assert page.index("Second round") < page.index("Priorities 2026")
    assert f"/priorities/{second.id}" in page


def test_ballot_needs_csrf_when_protection_is_on(world, make, csrf_app):
    rnd, (a, *_r) = _round(world, make)
    c = csrf_app.test_client()
    with c.session_transaction() as s:
        s["_user_id"] = world.member.get_id()
        s["_fresh"] = True
    assert c.post(f"/priorities/{rnd.id}/ballot", data={f"problem_{a.id}": "1"}).status_code == 400
    token = csrf_token(c.get(f"/priorities/{rnd.id}").data)
    r = c.post(f"/priorities/{rnd.id}/ballot", data={f"problem_{a.id}": "1", "csrf_token": token})
    assert r.status_code == 302
    assert [(p, n) for _m, p, n in _rows(rnd)] == [(a.id, 1)]


def test_members_are_told_when_a_round_opens_and_closes(world, make):
    from consult.notifications.models import Notification
    from consult.notifications.service import text

    make.problem(world.co, title="Flooded lane")
    rnd = service.open_round(world.co, by=world.leader, title="Rainy season 2026")
    service.close_round(rnd, by=world.leader)
    told = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == world.member.id)
        .order_by(Notification.id)
    ).all()
    assert [n.kind for n in told] == ["priorities.opened", "priorities.closed"]
    assert "give your points" in text(told[0])
    assert told[0].link.endswith(f"/priorities/{rnd.id}")
    assert "First: Flooded lane." in text(told[1])
    leader_told = db.session.scalars(
        select(Notification).where(Notification.user_id == world.leader.id)
    ).all()
    assert leader_told == []  # not told of what they did themselves
    other = db.session.scalars(
        select(Notification).where(Notification.user_id == world.other_member.id)
    ).all()
    assert other == []
